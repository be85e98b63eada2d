#!/usr/bin/env bash
# Makes the Debian package libray-dev_<version>_<arch>.deb from the installed tree
# (//packaging:libray_tree, a tar relative to the prefix) under /usr. Its Depends are the Debian
# packages that hold what the tree needs on this machine: the libraries its pkg-config file
# links (-lcapnp, -labsl_..., -lssl...) and the system headers its public headers include
# (msgpack, Abseil), less those every C++ compiler brings (libc, libstdc++). No Bazel here:
# scripts/package.sh builds the tree first. Prints the package's path.
#   make_deb.sh TREE_TAR OUT_DIR
set -euo pipefail
tree=$1
out_dir=$2

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root/usr" "$root/DEBIAN"
tar -xf "$tree" -C "$root/usr"
chmod 755 "$root" "$root/usr"

multiarch=$(gcc -print-multiarch)
pc="$root/usr/lib/$multiarch/pkgconfig/libray.pc"
version=$(sed -n 's/^Version: //p' "$pc")
arch=$(dpkg --print-architecture)

# The Debian package owning each file given; those of the compiler's own runtime left out.
owners() {
  dpkg -S "$@" | sed 's/[:,].*//' | grep -vE '^(libc6|libc6-dev|linux-libc-dev|libstdc\+\+.*|libgcc.*)$'
}
libraries=()
for flag in $(sed -n 's/^Libs: //p' "$pc"); do
  case "$flag" in
    -lray) ;;
    -l*) for f in "/usr/lib/$multiarch/lib${flag#-l}.so" "/usr/lib/$multiarch/lib${flag#-l}.a"; do
        if [ -e "$f" ]; then libraries+=("$f"); break; fi
      done ;;
  esac
done
headers=$(g++ -std=c++20 -DMSGPACK_NO_BOOST -M -I"$root/usr/include" "$root/usr/include/ray/api.h" |
  tr ' \\' '\n\n' | grep '^/usr/include/' | sort -u)
# shellcheck disable=SC2086
depends=$({ owners "${libraries[@]}"; owners $headers; } | sort -u | paste -sd, | sed 's/,/, /g')

cat >"$root/DEBIAN/control" <<CONTROL
Package: libray-dev
Version: $version
Architecture: $arch
Section: libdevel
Priority: optional
Maintainer: libray developers <libray@localhost>
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Depends: $depends
Recommends: graphviz
Suggests: cmake, pkg-config
Description: distributed task system in C++, in the line of Ray
 libray runs plain C++ functions as tasks on worker processes and other
 nodes, with results as immutable objects in a shared-memory store.
 This package holds its headers (/usr/include/ray/), libray.so and
 libray.a, the ray command (cluster nodes) and ray_store, pkg-config
 files (libray, libray-static) and a CMake package (find_package(libray):
 libray::ray).
CONTROL

# The dynamic loader's cache learns of libray.so.0 when the package is installed or removed.
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"

mkdir -p "$out_dir"
deb="$out_dir/libray-dev_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz -z3 --build "$root" "$deb" >/dev/null
echo "$deb"
