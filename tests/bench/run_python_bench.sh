#!/usr/bin/env bash
# Runs a Python benchmark of this folder (python_bench.py, or the one --script=NAME.py names)
# under Debian's /usr/bin/python3 with the assembled package (//python:pkg) on PYTHONPATH; the
# other arguments go to the script.
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
script=python_bench.py
if [[ "${1:-}" == --script=* ]]; then
  script=${1#--script=}
  shift
fi
exec /usr/bin/python3 "$root/tests/bench/$script" "$@"
