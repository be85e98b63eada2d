#!/usr/bin/env bash
# Assembles libray's installed tree, relative to its prefix, as a tar (//packaging:libray_tree):
#   bin/ray, bin/ray_store              the cluster command; the store, to run by hand
#   include/ray/...                     api.h and every header of ours it includes
#   lib/<multiarch>/libray.so.<version> (SONAME libray.so.<soversion>; libray.so and .so.N link)
#   lib/<multiarch>/libray.a            PIC objects
#   lib/<multiarch>/pkgconfig/          libray.pc (libray.so), libray-static.pc (libray.a)
#   lib/<multiarch>/cmake/libray/       find_package(libray): libray::ray, libray::ray_static
# The .pc files say prefix=/usr; install_tree.sh rewrites that line for another prefix. The CMake
# package finds its prefix from its own place, so it needs no rewriting.
set -euo pipefail

for arg in "$@"; do
  case "$arg" in
    --version_file=*) version_file=${arg#*=} ;;
    --soversion=*) soversion=${arg#*=} ;;
    --libraries=*) libraries=${arg#*=} ;;  # libray.a, .so and .link_flags, space-separated
    --cli=*) cli=${arg#*=} ;;
    --store=*) store=${arg#*=} ;;
    --api_header=*) api_header=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) echo "make_tree.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
version=$(tr -d ' \n' <"$version_file")
IFS=. read -r major minor _ <<<"$version"
multiarch=$(gcc -print-multiarch)
for file in $libraries; do
  case "$file" in
    *.a) archive=$file ;;
    *.so) shared=$file ;;
    *.link_flags) link_flags=$(tr '\n' ' ' <"$file" | sed 's/ *$//') ;;
  esac
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
libdir="lib/$multiarch"
mkdir -p "$stage/bin" "$stage/include" "$stage/$libdir/pkgconfig" "$stage/$libdir/cmake/libray"

install -m 755 "$cli" "$stage/bin/ray"
install -m 755 "$store" "$stage/bin/ray_store"

soname=$(readelf -d "$shared" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libray.so.$soversion" ]; then
  echo "make_tree.sh: $shared has SONAME '$soname', not libray.so.$soversion" >&2
  exit 1
fi
install -m 644 "$shared" "$stage/$libdir/libray.so.$version"
ln -s "libray.so.$version" "$stage/$libdir/libray.so.$soversion"
ln -s "libray.so.$soversion" "$stage/$libdir/libray.so"
install -m 644 "$archive" "$stage/$libdir/libray.a"

# The headers: what the compiler reads of ours for ray/api.h (system headers excluded).
root=$(dirname "$(dirname "$api_header")")
headers=$(g++ -std=c++20 -DMSGPACK_NO_BOOST -MM -I"$root" "$api_header" |
  tr ' \\' '\n\n' | grep '\.h$' | sort -u)
for header in $headers; do
  relative=${header#"$root"/}
  install -D -m 644 "$header" "$stage/include/$relative"
done

# Flags every program using libray needs: the API's headers use msgpack without Boost, and the
# library names functions by the executable's ELF build-id.
cflags="-DMSGPACK_NO_BOOST"
description="A distributed task system in C++, in the line of Ray"
write_pc() {  # write_pc FILE NAME LIBS
  cat >"$1" <<PC
prefix=/usr
includedir=\${prefix}/include
libdir=\${prefix}/$libdir

Name: $2
Description: $description
Version: $version
Cflags: -I\${includedir} $cflags
Libs: $3 -Wl,--build-id $link_flags
PC
}
write_pc "$stage/$libdir/pkgconfig/libray.pc" libray "-L\${libdir} -lray"
write_pc "$stage/$libdir/pkgconfig/libray-static.pc" libray-static "\${libdir}/libray.a"

cmake_dir="$stage/$libdir/cmake/libray"
cat >"$cmake_dir/librayConfig.cmake" <<CMAKE
# libray's CMake package:
#   find_package(libray REQUIRED)
#   target_link_libraries(app PRIVATE libray::ray)          # libray.so
#   target_link_libraries(app PRIVATE libray::ray_static)   # libray.a
# It sits in <prefix>/$libdir/cmake/libray, which gives the prefix.
get_filename_component(_libray_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../../.." ABSOLUTE)
set(_libray_libdir "\${_libray_prefix}/$libdir")
set(libray_VERSION "$version")

if(NOT TARGET libray::ray)
  add_library(libray::ray SHARED IMPORTED)
  set_target_properties(libray::ray PROPERTIES
    IMPORTED_LOCATION "\${_libray_libdir}/libray.so.$version"
    IMPORTED_SONAME "libray.so.$soversion")
  add_library(libray::ray_static STATIC IMPORTED)
  set_target_properties(libray::ray_static PROPERTIES
    IMPORTED_LOCATION "\${_libray_libdir}/libray.a")
  foreach(_libray_target libray::ray libray::ray_static)
    set_target_properties(\${_libray_target} PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "\${_libray_prefix}/include"
      INTERFACE_COMPILE_DEFINITIONS "MSGPACK_NO_BOOST"
      INTERFACE_COMPILE_FEATURES "cxx_std_20"
      INTERFACE_LINK_OPTIONS "LINKER:--build-id"
      INTERFACE_LINK_LIBRARIES "${link_flags// /;}")
  endforeach()
endif()
unset(_libray_prefix)
unset(_libray_libdir)
CMAKE
cat >"$cmake_dir/librayConfigVersion.cmake" <<CMAKE
# find_package(libray X.Y) accepts this libray ($version) if it has the same major version and
# is at least X.Y; before 1.0, the same minor version too.
set(PACKAGE_VERSION "$version")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(PACKAGE_FIND_VERSION_MAJOR EQUAL $major AND
   NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  if(NOT $major EQUAL 0 OR PACKAGE_FIND_VERSION_MINOR EQUAL $minor)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
endif()
if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
CMAKE

# The same bytes for the same inputs: sorted names, no owners, one time.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out" -C "$stage" .
