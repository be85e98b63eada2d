#!/usr/bin/env bash
# Runs check_layers.py on the sources Bazel gave this test; then checks that it fails on a tree
# with an upward include, and on one with a file too long (copies of those sources).
set -euo pipefail
root="${TEST_SRCDIR:-$(pwd)}/libray"
check="$root/tests/layout/check_layers.py"
/usr/bin/python3 "$check" "$root"

copy="${TEST_TMPDIR:-$(mktemp -d)}/tree"
rm -rf "$copy"
mkdir -p "$copy"
cp -rL "$root/ray" "$copy/"
echo '#include "ray/core_worker/core_runtime.h"' >> "$copy/ray/store/object_store.h"
if /usr/bin/python3 "$check" "$copy" > "$copy/out.txt"; then
  echo "check_layers.py accepted a store that includes the core worker" >&2
  exit 1
fi
grep -q "ray/store/object_store.h: store includes ray/core_worker/core_runtime.h" "$copy/out.txt"
echo "an upward include is refused"

# And on a file past the length limit.
rm -rf "$copy/ray"
cp -rL "$root/ray" "$copy/"
for i in $(seq 700); do echo "// line $i"; done >> "$copy/ray/common/id.h"
if /usr/bin/python3 "$check" "$copy" > "$copy/out.txt"; then
  echo "check_layers.py accepted a 700-line file" >&2
  exit 1
fi
grep -q "ray/common/id.h: .* lines, more than 600" "$copy/out.txt"
echo "a file too long is refused"
