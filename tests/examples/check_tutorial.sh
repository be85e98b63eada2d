#!/usr/bin/env bash
# Runs a build of examples/tutorial.cc and checks that it prints what the Ray tutorial prints and
# draws its computation graphs, the pictures in OUT_DIR. For tutorial_demo_test (Bazel's build)
# and tests/packaging (builds against the installed library, with CMake and make).
#   check_tutorial.sh PROGRAM OUT_DIR
set -euo pipefail
program=$1
out=$2
mkdir -p "$out"
log="$out/log.txt"
"$program" "$out" > "$log" 2>&1 || { cat "$log"; exit 1; }
expect() {
  grep -qF -- "$1" "$log" || { echo "missing from the tutorial's output: $1"; cat "$log"; exit 1; }
}
expect "ray::Get(x_id) -> [1, 2, 3]"
expect "ray::Get(result_ids) -> [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
expect "ray::Get(ray::Remote(add)(1, 2)) -> 3"
expect "add(1, 2), add(1, put(2)), add(put(1), put(2)) -> 3 3 3"
expect 'return_multiple() -> 0, 0.0, "zero"'
expect "ray::Get(result_ids) -> [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"
expect "ray::Get(results) -> [45, 55, 65, 75, 85]"
for f in compgraph1.svg compgraph1.dot compgraph2.svg compgraph2.dot compgraph3.svg timeline.json; do
  [ -s "$out/$f" ] || { echo "the tutorial did not write $f"; exit 1; }
done
grep -q "</svg>" "$out/compgraph1.svg"
# The sleep graph: op-root launched ten tasks (dotted), each made one object (solid).
[ "$(grep -c -- '->.*dotted' "$out/compgraph1.dot")" -eq 10 ]
[ "$(grep -- '->' "$out/compgraph1.dot" | grep -vc dotted)" -eq 10 ]
# Ten 2 s tasks on ten workers: about 2 s, far from the 20 s of running them one by one.
seconds=$(sed -n 's/.*after \([0-9.]*\) s$/\1/p' "$log")
awk -v s="$seconds" 'BEGIN { exit !(s < 10) }' || { echo "the sleeps took $seconds s"; exit 1; }
