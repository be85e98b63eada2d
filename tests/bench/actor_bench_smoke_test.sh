#!/usr/bin/env bash
# actor_bench --quick (C++) and actor_bench_py --quick (Python) must print each row with its
# baselines and ratio. Timings are not checked.
set -euo pipefail
output="$TEST_TMPDIR/actor_bench.out"
"$TEST_SRCDIR/libray/tests/bench/actor_bench" --quick --trials=1 >"$output" 2>&1
cat "$output"
number='[0-9][0-9.]*'
count="$(grep -cE "^actor calls .* $number /s  task of the same shape +$number /s \(x$number\)  mutex-guarded call +$number /s  target >= x1.00: (PASS|MISS)$" "$output" || true)"
[ "$count" -eq 6 ] || { echo "FAIL: $count rows, not 6" >&2; exit 1; }
grep -q "^libray actor benchmark: 2 workers, 1 trials, quick, medians$" "$output"
grep -qE "^actor calls 1:1 async beside 20 idle actors +$number /s  without them +$number /s \(x$number\)  target >= x0.90: (PASS|MISS)$" "$output" ||
  { echo "FAIL: no row for calls beside idle actors" >&2; exit 1; }

output="$TEST_TMPDIR/actor_bench_py.out"
"$TEST_SRCDIR/libray/tests/bench/actor_bench_py" --script=actor_bench.py --quick --trials=1 >"$output" 2>&1
cat "$output"
count="$(grep -cE "^actor calls .* $number /s  task of the same shape +$number /s \(x$number\)  locked call +$number /s  target >= x1.00: (PASS|MISS)$" "$output" || true)"
[ "$count" -eq 6 ] || { echo "FAIL: $count Python rows, not 6" >&2; exit 1; }
echo PASS
