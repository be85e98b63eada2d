#!/usr/bin/env bash
# Runs tests/python with /usr/bin/python3 -m pytest and the assembled package on PYTHONPATH.
set -euo pipefail
root="${TEST_SRCDIR:-$(pwd)/bazel-bin/tests/python/python_test.runfiles}/libray"
export PYTHONPATH="$root/python/pkg"
export PYTHONDONTWRITEBYTECODE=1
cd "$root"
exec /usr/bin/python3 -m pytest tests/python -q -p no:cacheprovider "$@"
