#!/usr/bin/env bash
# Runs python_bench.py under Debian's /usr/bin/python3 with the assembled package
# (//python:pkg) on PYTHONPATH; arguments go to the script.
set -euo pipefail
if [[ -n "${TEST_SRCDIR:-}" ]]; then
  runfiles="$TEST_SRCDIR"
elif [[ -n "${RUNFILES_DIR:-}" ]]; then
  runfiles="$RUNFILES_DIR"
else
  runfiles="$0.runfiles"
fi
root="$runfiles/libray"
export PYTHONPATH="$root/python/pkg"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$root/tests/bench/python_bench.py" "$@"
