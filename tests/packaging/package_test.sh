#!/usr/bin/env bash
# libray as a user gets it without Bazel (docs/INSTALL.md), from the tree Bazel assembled
# (//packaging:libray_tree):
# - the Debian package (packaging/make_deb.sh, as scripts/package.sh makes it): its fields and
#   files, apt-get's dry run of installing it, then unpacked into a throwaway root (dpkg -x);
#   the tutorial (examples/tutorial.cc) built there with CMake (examples/cmake), libray.so and a
#   position-dependent executable, libray.a and a position-independent one;
# - the install without a package (packaging/install_tree.sh, as scripts/install.sh runs it)
#   into a prefix: the tutorial built with make and pkg-config (examples/make), libray.so and
#   PIE, libray.a and no PIE; a program of plain functions run in a two-node cluster on
#   127.0.0.1 started by the installed `ray`, its tasks on the other node; then the uninstall,
#   which leaves the prefix empty.
# Each tutorial must print what the Ray tutorial prints (tests/examples/check_tutorial.sh).
# Silent on success but for one line; on failure prints the failed step and its output.
set -uo pipefail
version=$(tr -d ' \n' <VERSION)
multiarch=$(gcc -print-multiarch)
tree=$PWD/packaging/libray_tree.tar
examples=$PWD/examples
check_tutorial=$PWD/tests/examples/check_tutorial.sh
# Not under TEST_TMPDIR: a node's unix sockets (under $TMPDIR/ray-UID/node-ID/) need a short
# path (108 bytes).
tmp=$(mktemp -d /tmp/rpkg.XXXXXX)
prefix=$tmp/prefix
# The nodes the cluster step starts are stopped (by the PIDs in their folders) in every case.
trap 'TMPDIR=$tmp "$prefix/bin/ray" stop --force >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM  # through the EXIT trap

step_name=package_test
step_log=$tmp/log
source scripts/steps.sh

# executable_is WHAT FILE PIE|EXEC SHARED|STATIC: FILE is that kind of executable and links
# libray.so (SHARED) or has it linked in (STATIC).
executable_is() {
  step "$1: readelf" readelf -h -d -n "$2"
  case "$3" in
    PIE) expect "$1 is position-independent" "DYN (Position-Independent Executable file)" ;;
    EXEC) expect "$1 is position-dependent" "EXEC (Executable file)" ;;
  esac
  expect "$1 has a build-id" "Build ID:"
  if [ "$4" = SHARED ]; then
    expect "$1 links libray.so" "Shared library: [libray.so.0]"
  elif grep -qF "libray.so" "$step_log"; then
    echo "package_test: FAILED: $1 links libray.so, expected libray.a linked in" >&2
    exit 1
  fi
}

# The Debian package.
step "make_deb.sh" packaging/make_deb.sh "$tree" "$tmp/deb"
deb=$tmp/deb/libray-dev_${version}_$(dpkg --print-architecture).deb
step "the package's fields" dpkg-deb --field "$deb" Package Version Depends
expect "the package's name" "Package: libray-dev"
expect "the package's version" "Version: $version"
for dependency in libabsl-dev libcapnp-dev libmsgpack-cxx-dev libssl-dev; do
  expect "the package's dependencies" "$dependency"
done
step "the package's files" dpkg-deb --contents "$deb"
for file in usr/bin/ray usr/bin/ray_store usr/include/ray/api.h usr/include/ray/api/version.h \
  "usr/lib/$multiarch/libray.a" "usr/lib/$multiarch/libray.so.$version" \
  "usr/lib/$multiarch/libray.so.0 -> libray.so.$version" "usr/lib/$multiarch/libray.so -> libray.so.0" \
  "usr/lib/$multiarch/pkgconfig/libray.pc" "usr/lib/$multiarch/cmake/libray/librayConfig.cmake"; do
  expect "the package's files" "./$file"
done
step "apt-get install (a dry run) of the package" apt-get install --simulate "$deb"
expect "apt-get install" "Inst libray-dev"
step "dpkg -x" dpkg -x "$deb" "$tmp/unpacked"
step "ray --version" "$tmp/unpacked/usr/bin/ray" --version
expect "ray --version" "libray $version"
step "libray.so's SONAME" readelf -d "$tmp/unpacked/usr/lib/$multiarch/libray.so.$version"
expect "libray.so's SONAME" "Library soname: [libray.so.0]"

# cmake_tutorial NAME FLAGS...: the tutorial built with CMake against the unpacked package.
cmake_tutorial() {
  local name=$1
  shift
  step "cmake ($name)" cmake -S "$examples/cmake" -B "$tmp/$name" \
    -DCMAKE_PREFIX_PATH="$tmp/unpacked/usr" "$@"
  step "cmake --build ($name)" cmake --build "$tmp/$name"
}
cmake_tutorial cmake-shared-nopie -DCMAKE_POSITION_INDEPENDENT_CODE=OFF
executable_is "cmake, libray.so, no PIE" "$tmp/cmake-shared-nopie/tutorial" EXEC SHARED
step "the tutorial (cmake, libray.so, no PIE)" \
  "$check_tutorial" "$tmp/cmake-shared-nopie/tutorial" "$tmp/cmake-shared-nopie/out"
cmake_tutorial cmake-static-pie -DLIBRAY_STATIC=ON
executable_is "cmake, libray.a, PIE" "$tmp/cmake-static-pie/tutorial" PIE STATIC
step "the tutorial (cmake, libray.a, PIE)" \
  "$check_tutorial" "$tmp/cmake-static-pie/tutorial" "$tmp/cmake-static-pie/out"

# The install without a package, and make with pkg-config.
step "install_tree.sh --prefix" packaging/install_tree.sh --prefix="$prefix" "$tree"
export PKG_CONFIG_PATH=$prefix/lib/$multiarch/pkgconfig
libdir=$prefix/lib/$multiarch
step "pkg-config --modversion libray" pkg-config --modversion libray
expect "pkg-config's version" "$version"
# make_tutorial NAME VARIABLES...: the tutorial built with make, in a folder of its own.
make_tutorial() {
  local name=$1
  shift
  mkdir -p "$tmp/$name"
  step "make ($name)" make -C "$tmp/$name" -f "$examples/make/Makefile" "$@"
}
make_tutorial make-shared-pie
executable_is "make, libray.so, PIE" "$tmp/make-shared-pie/tutorial" PIE SHARED
step "the tutorial (make, libray.so, PIE)" env LD_LIBRARY_PATH="$libdir" \
  "$check_tutorial" "$tmp/make-shared-pie/tutorial" "$tmp/make-shared-pie/out"
make_tutorial make-static-nopie STATIC=1 PIE=0
executable_is "make, libray.a, no PIE" "$tmp/make-static-nopie/tutorial" EXEC STATIC
step "the tutorial (make, libray.a, no PIE)" \
  "$check_tutorial" "$tmp/make-static-nopie/tutorial" "$tmp/make-static-nopie/out"

# A cluster: a head and a node with "remote_box" (the installed `ray`), and a driver built
# with pkg-config whose tasks run on that node (the program and libray.so shipped there).
step "g++ cluster_tasks.cc \$(pkg-config --cflags --libs libray)" bash -c \
  "g++ -std=c++20 tests/packaging/cluster_tasks.cc \$(pkg-config --cflags --libs libray) \
   -o $tmp/cluster_tasks"
ray_cli() { TMPDIR=$tmp "$prefix/bin/ray" "$@"; }
step "ray start --head" ray_cli start --head --port=0 --num-cpus=1 --object-store-memory=32M
address=$(sed -n 's/^Cluster address: \(.*\)$/\1/p' "$step_log")
step "ray start --address" ray_cli start --address="$address" --num-cpus=1 \
  --resources='{"remote_box": 1}' --object-store-memory=32M
node=$(sed -n 's/^Started node \([0-9a-f]*\) .*/\1/p' "$step_log")
step "cluster_tasks in the cluster" env TMPDIR="$tmp" RAY_ADDRESS="$address" \
  LD_LIBRARY_PATH="$libdir" "$tmp/cluster_tasks"
expect "cluster_tasks" "sum 42 chained 50 on node $node; version $version"
step "ray stop" ray_cli stop

step "install_tree.sh --uninstall" packaging/install_tree.sh --prefix="$prefix" --uninstall
step "nothing left after the uninstall" test -z "$(ls -A "$prefix")"
echo "package_test: the package, 4 builds of the tutorial and a cluster of 2 nodes: all passed"
