#!/usr/bin/env bash
# Runs every test of libray: installs what is missing, builds, runs `bazel test //...`, then
# `pip install ./python` into a new venv (scripts/test_pip_install.sh: it runs Bazel itself, so
# not inside `bazel test`), and ends with one line "N passed, N failed". Exit code 0 only if
# every test passed.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel test //... "$@" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD|INCOMPLETE)' "$log")
if [ "$code" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a build error

start=$SECONDS
if ./scripts/test_pip_install.sh; then
  echo "scripts/test_pip_install.sh PASSED in $((SECONDS - start))s"
  passed=$((passed + 1))
else
  echo "scripts/test_pip_install.sh FAILED in $((SECONDS - start))s"
  failed=$((failed + 1))
  code=1
fi

echo "tests: $passed passed, $failed failed"
exit "$code"
