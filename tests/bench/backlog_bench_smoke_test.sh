#!/usr/bin/env bash
# backlog_bench (C++) and backlog_bench_py on small backlogs must drain every task (each checks
# the last result) and print every figure. Timings are not checked.
set -euo pipefail
bench="$TEST_SRCDIR/libray/tests/bench"
output="$TEST_TMPDIR/backlog_bench.out"

expect() {
  if ! grep -qE "$1" "$output"; then
    echo "FAIL: no line matching: $1" >&2
    exit 1
  fi
}
number='[0-9][0-9.]*'
"$bench/backlog_bench" --sizes=1000,3000 --trials=1 2>&1 | tee "$output"
"$bench/backlog_bench_py" --script=backlog_bench.py --sizes=1000,3000 --trials=1 2>&1 |
  tee -a "$output"
expect "^libray backlog benchmark"
expect "^libray Python backlog benchmark"
[ "$(grep -cE "^no backlog \(workers free\) +$number tasks/s" "$output")" -eq 2 ]
[ "$(grep -cE "^backlog of 1000 drains at +$number tasks/s  x1.00 " "$output")" -eq 2 ]
[ "$(grep -cE "^backlog of 3000 drains at +$number tasks/s .* B/task  target >= x0.80: (PASS|MISS)" "$output")" -eq 2 ]
[ "$(grep -cE "^driver memory for the largest backlog +$number MB" "$output")" -eq 2 ]
