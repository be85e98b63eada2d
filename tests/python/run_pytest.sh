#!/usr/bin/env bash
# Runs tests/python (or the test files given first, as tests/python/test_x.py) with
# /usr/bin/python3 -m pytest and the assembled package on PYTHONPATH.
set -euo pipefail
root="${TEST_SRCDIR:-$(pwd)/bazel-bin/tests/python/python_test.runfiles}/libray"
export PYTHONPATH="$root/python/pkg"
export PYTHONDONTWRITEBYTECODE=1
cd "$root"
targets=()
while [[ $# -gt 0 && "$1" == tests/* ]]; do targets+=("$1"); shift; done
[[ ${#targets[@]} -gt 0 ]] || targets=(tests/python)
exec /usr/bin/python3 -m pytest "${targets[@]}" -q -p no:cacheprovider "$@"
