#!/usr/bin/env bash
# cluster_bench --quick must run every part on its own nodes and print each figure beside its
# baseline and their ratio; with --tls, the transfer and task parts too. Timings are not checked.
set -euo pipefail
bench="$TEST_SRCDIR/libray/tests/bench/cluster_bench"
output="$TEST_TMPDIR/cluster_bench.out"

expect() {  # a pattern, how many lines must match it
  local count
  count="$(grep -cE "$1" "$output" || true)"
  if [ "$count" -ne "$2" ]; then
    echo "FAIL: $count lines (not $2) matching: $1" >&2
    exit 1
  fi
}
number='[0-9][0-9.]*'
spread="$number \($number\.\.$number\)"
status=0
"$bench" --quick --trials=1 >"$output" 2>&1 || status=$?
cat "$output"
expect "^libray cluster benchmark: 1 trials, quick, .*load average $number" 1
expect "ERROR" 0
expect "^get [0-9]+ MB +ray::GetView from node B $spread GB/s  TCP stream $spread GB/s  ratio x$number  target >= x0.70: (PASS|MISS)$" 2
expect "^get: .*first touch.* $number GB/s .* $number GB/s" 1
expect "^sync  no-op tasks on node B, Get each $spread /s  TCP ping-pong \(1 byte\) $spread /s  ratio x$number  target >= x0.50: (PASS|MISS)$" 1
expect "^scale [124] nodes? +\([248] CPUs\): [0-9]+ tasks of [0-9]+ ms in $spread s  ideal $number s  ratio x$number" 3
expect "^scale 4 nodes .* target <= x1.30: (PASS|MISS)$" 1
expect "^start .* $spread ms  ray::Init without an address $spread ms  ratio x$number  target < 500 ms: (PASS|MISS)$" 4
expect "^many  4 nodes x 1 CPU, 2000 no-op tasks at once: $spread us/task  no cluster \(4 workers\) $spread us/task  ratio x$number  target <= x2.00: (PASS|MISS)$" 1
expect "^load average at the end: $number" 1
[ "$status" -eq 0 ] || { echo "FAIL: cluster_bench exited with $status" >&2; exit 1; }

output="$TEST_TMPDIR/cluster_bench_tls.out"
"$bench" --quick --trials=1 --tls --only=get,sync >"$output" 2>&1 || status=$?
cat "$output"
expect "^libray cluster benchmark: 1 trials, quick, TLS on, .*load average $number" 1
expect "ERROR" 0
expect "^get [0-9]+ MB +ray::GetView from node B $spread GB/s  TCP stream $spread GB/s  ratio x$number" 2
expect "^sync  no-op tasks on node B, Get each $spread /s  TCP ping-pong \(1 byte\) $spread /s  ratio x$number" 1
[ "$status" -eq 0 ] || { echo "FAIL: cluster_bench --tls exited with $status" >&2; exit 1; }
echo PASS
