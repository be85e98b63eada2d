#!/usr/bin/env bash
# Builds libray's Debian package, libray-dev_<version>_<arch>.deb, into the current folder (or
# --out=DIR) and prints its path; install it with `apt-get install ./libray-dev_*.deb`.
# docs/INSTALL.md says what it holds. Other arguments go to `bazel build`.
#   scripts/package.sh [--out=DIR] [bazel flags...]
set -euo pipefail
out=$PWD
bazel_flags=()
for arg in "$@"; do
  case "$arg" in
    --out=*) out=${arg#*=} ;;
    *) bazel_flags+=("$arg") ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel build "${bazel_flags[@]}" //packaging:libray_tree >&2
packaging/make_deb.sh bazel-bin/packaging/libray_tree.tar "$out"
