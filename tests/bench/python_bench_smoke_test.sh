#!/usr/bin/env bash
# python_bench --quick must run ray, Dask and ProcessPoolExecutor, print every figure and stop
# every process it started. Timings are not checked.
set -euo pipefail
bench="$TEST_SRCDIR/libray/tests/bench/python_bench"
output="$TEST_TMPDIR/python_bench.out"
"$bench" --quick 2>&1 | tee "$output"

expect() {
  if ! grep -qE "$1" "$output"; then
    echo "FAIL: no line matching: $1" >&2
    exit 1
  fi
}
number='[0-9][0-9.,]*'
for figure in "start \(" "tasks sync" "tasks async" "task returning"; do
  expect "^$figure.* $number \[.* $number \[.* $number \["  # ray, dask and ppe
done
for figure in "put calls" "get calls" "put of a" "get of a"; do
  expect "^$figure.* $number \[.* $number \[.* n/a "  # ray and dask; ppe: n/a
done
expect "^tasks sync .*: (PASS|MISS)"
expect "^ran ray, dask, ppe in .* processes left running after stop: 0$"
