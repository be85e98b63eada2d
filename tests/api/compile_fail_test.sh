#!/usr/bin/env bash
# Compiles each case of compile_fail_cases.cc (-fsyntax-only) and checks that it fails with its
# expected static_assert message; case 0 (correct code) must compile. Usage:
#   compile_fail_test.sh [case...]      (default: all)
set -uo pipefail
src="${TEST_SRCDIR:-}/${TEST_WORKSPACE:-libray}/tests/api/compile_fail_cases.cc"
root="${TEST_SRCDIR:-}/${TEST_WORKSPACE:-libray}"
if [[ ! -f "$src" ]]; then  # run by hand from the repository root
  root="$(cd "$(dirname "$0")/../.." && pwd)"
  src="$root/tests/api/compile_fail_cases.cc"
fi
cxx="${CXX:-g++}"
cases=("$@")
if [[ ${#cases[@]} -eq 0 ]]; then
  mapfile -t cases < <(sed -n 's/^#\(el\)\?if CASE == \([0-9]*\)$/\2/p' "$src")
fi
failed=0
for n in "${cases[@]}"; do
  expect=$(awk -v n="$n" '$0 ~ "^#(el)?if CASE == "n"$" {f=1; next} f && /\/\/ expect:/ {sub(/.*\/\/ expect: /, ""); print; exit} /^#(elif|endif)/ {f=0}' "$src")
  out=$("$cxx" -std=c++20 -fsyntax-only -DMSGPACK_NO_BOOST -DCASE="$n" -I"$root" "$src" 2>&1)
  code=$?
  if [[ "$n" == 0 ]]; then
    if [[ $code -ne 0 ]]; then
      echo "FAIL case 0 (correct code) does not compile:"; echo "$out" | head -30; failed=1
    else
      echo "ok   case 0 compiles"
    fi
  elif [[ $code -eq 0 ]]; then
    echo "FAIL case $n compiles, expected an error: $expect"; failed=1
  elif ! grep -qF -- "$expect" <<<"$out"; then
    echo "FAIL case $n: no \"$expect\" in:"; echo "$out" | grep -E "error" | head -10; failed=1
  else
    echo "ok   case $n: $(grep -m1 -F -- "$expect" <<<"$out" | sed 's/^.*error: //' | cut -c1-150)"
  fi
done
exit $failed
