#!/usr/bin/env bash
# Compiles each case of compile_fail_cases.cc (-fsyntax-only) and checks that it fails with one
# short error: exactly one "error:" line, which holds the case's `// expect:` text, the case's
# `// context:` text (if any) somewhere in the output, and at most $max_lines lines in all (no
# cascade of errors from the library's insides). Case 0 (correct code) must compile. Usage:
#   compile_fail_test.sh [case...]      (default: all)
set -uo pipefail
src="${TEST_SRCDIR:-}/${TEST_WORKSPACE:-libray}/tests/api/compile_fail_cases.cc"
root="${TEST_SRCDIR:-}/${TEST_WORKSPACE:-libray}"
if [[ ! -f "$src" ]]; then  # run by hand from the repository root
  root="$(cd "$(dirname "$0")/../.." && pwd)"
  src="$root/tests/api/compile_fail_cases.cc"
fi
cxx="${CXX:-g++}"
max_lines=25
cases=("$@")
if [[ ${#cases[@]} -eq 0 ]]; then
  mapfile -t cases < <(sed -n 's/^#\(el\)\?if CASE == \([0-9]*\)$/\2/p' "$src")
fi
# The text after `// <key>: ` in case $1's block.
case_line() {
  awk -v n="$1" -v key="// $2: " '$0 ~ "^#(el)?if CASE == "n"$" {f=1; next}
    f && index($0, key) {print substr($0, index($0, key) + length(key)); exit}
    /^#(elif|endif)/ {f=0}' "$src"
}
failed=0
for n in "${cases[@]}"; do
  expect=$(case_line "$n" expect)
  context=$(case_line "$n" context)
  out=$("$cxx" -std=c++20 -fsyntax-only -DMSGPACK_NO_BOOST -DCASE="$n" -I"$root" "$src" 2>&1)
  code=$?
  lines=$(grep -c '' <<<"$out")
  errors=$(grep -c 'error:' <<<"$out")
  first_error=$(grep -m1 'error:' <<<"$out")
  if [[ "$n" == 0 ]]; then
    if [[ $code -ne 0 ]]; then
      echo "FAIL case 0 (correct code) does not compile:"; echo "$out" | head -30; failed=1
    else
      echo "ok   case 0 compiles"
    fi
    continue
  fi
  problem=""
  if [[ -z "$expect" ]]; then
    problem="no // expect: line"
  elif [[ $code -eq 0 ]]; then
    problem="compiles, expected an error: $expect"
  elif ! grep -qF -- "$expect" <<<"$first_error"; then
    problem="the first error does not say \"$expect\""
  elif [[ -n "$context" ]] && ! grep -qF -- "$context" <<<"$out"; then
    problem="the output does not show \"$context\""
  elif [[ $errors -ne 1 ]]; then
    problem="$errors errors, expected one"
  elif [[ $lines -gt $max_lines ]]; then
    problem="$lines lines of output, expected at most $max_lines"
  fi
  if [[ -n "$problem" ]]; then
    echo "FAIL case $n: $problem; the output:"; echo "$out" | head -40; failed=1
  else
    echo "ok   case $n ($lines lines): $(sed 's/^.*error: //' <<<"$first_error" | cut -c1-150)"
  fi
done
exit $failed
