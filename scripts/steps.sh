# step and expect, for a script that runs commands one after the other and stops at the first
# failure, printing it (scripts/test_pip_install.sh, tests/packaging/package_test.sh). Source it
# with step_name (the script's name, for messages) and step_log (a file: the last step's output).

# step WHAT COMMAND...: runs COMMAND; if it fails, prints WHAT and its output and exits 1.
step() {
  local what=$1
  shift
  if ! "$@" >"$step_log" 2>&1; then
    echo "$step_name: FAILED: $what" >&2
    cat "$step_log" >&2
    exit 1
  fi
}

# expect WHAT TEXT: the last step's output holds TEXT; else prints WHAT and it and exits 1.
expect() {
  if ! grep -qF -- "$2" "$step_log"; then
    echo "$step_name: FAILED: $1: no \"$2\" in its output" >&2
    cat "$step_log" >&2
    exit 1
  fi
}
