#!/usr/bin/env bash
# Installs what libray's Debian package holds under a prefix, without a package (default
# /usr/local), or removes it again. docs/INSTALL.md says what goes where.
#   scripts/install.sh [--prefix=DIR] [bazel flags...]
#   scripts/install.sh [--prefix=DIR] --uninstall
set -euo pipefail
prefix=/usr/local
uninstall=0
bazel_flags=()
for arg in "$@"; do
  case "$arg" in
    --prefix=*) prefix=${arg#*=} ;;
    --uninstall) uninstall=1 ;;
    *) bazel_flags+=("$arg") ;;
  esac
done
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
cd "$(dirname "$0")/.."
if [ "$uninstall" -eq 1 ]; then
  exec packaging/install_tree.sh --prefix="$prefix" --uninstall
fi
./scripts/setup.sh
bazel build "${bazel_flags[@]}" //packaging:libray_tree
packaging/install_tree.sh --prefix="$prefix" bazel-bin/packaging/libray_tree.tar
libdir="$prefix/lib/$(gcc -print-multiarch)"
if ! ldconfig -p | grep -qF "$libdir/libray.so"; then
  if [ "$(id -u)" -eq 0 ] && grep -rqxF "$libdir" /etc/ld.so.conf.d/ 2>/dev/null; then
    ldconfig  # a folder the loader searches: refresh its cache
  else
    echo "programs linked with libray.so find it with LD_LIBRARY_PATH=$libdir" \
      "(or link them with -Wl,-rpath,$libdir; CMake does that by itself)"
  fi
fi
