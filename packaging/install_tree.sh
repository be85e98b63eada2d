#!/usr/bin/env bash
# Installs the installed tree (//packaging:libray_tree) under a prefix, or removes it:
#   install_tree.sh --prefix=DIR TREE_TAR     (an earlier install there is removed first)
#   install_tree.sh --prefix=DIR --uninstall
# The pkg-config files get prefix=DIR. What an install added (files, links, and the folders it
# made) is listed in DIR/share/libray/installed-files, which --uninstall reads: it removes
# exactly those, and nothing an install did not make. No Bazel here: scripts/install.sh builds
# the tree first.
set -euo pipefail
prefix=""
uninstall=0
tree=""
for arg in "$@"; do
  case "$arg" in
    --prefix=*) prefix=${arg#*=} ;;
    --uninstall) uninstall=1 ;;
    -*) echo "install_tree.sh: unknown flag $arg" >&2; exit 2 ;;
    *) tree=$arg ;;
  esac
done
if [ -z "$prefix" ] || { [ "$uninstall" -eq 0 ] && [ -z "$tree" ]; }; then
  echo "usage: install_tree.sh --prefix=DIR TREE_TAR | --prefix=DIR --uninstall" >&2
  exit 2
fi
if [ "$uninstall" -eq 1 ] && [ ! -d "$prefix" ]; then
  echo "install_tree.sh: $prefix does not exist: nothing to uninstall" >&2
  exit 1
fi
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
manifest="$prefix/share/libray/installed-files"

remove_install() {
  [ -f "$manifest" ] || return 0
  local entries
  entries=$(cat "$manifest")
  # Files and links first, then folders deepest first (only if nothing else is left in them).
  awk '/^f /{print substr($0, 3)}' <<<"$entries" | while IFS= read -r path; do
    rm -f "$prefix/$path"
  done
  awk '/^d /{print substr($0, 3)}' <<<"$entries" | sort -r | while IFS= read -r path; do
    rmdir --ignore-fail-on-non-empty "$prefix/$path"
  done
}

if [ "$uninstall" -eq 1 ]; then
  if [ ! -f "$manifest" ]; then
    echo "install_tree.sh: no libray installed in $prefix (no $manifest)" >&2
    exit 1
  fi
  remove_install
  echo "libray removed from $prefix"
  exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tar -xf "$tree" -C "$stage"
mkdir -p "$stage/share/libray"
sed -i "s|^prefix=.*|prefix=$prefix|" "$stage"/lib/*/pkgconfig/*.pc
remove_install

list="$stage/share/libray/installed-files"
(cd "$stage" && find . -mindepth 1 -type d | sed 's|^\./||') | while IFS= read -r dir; do
  [ -d "$prefix/$dir" ] || echo "d $dir"
done >"$list.dirs"
(cd "$stage" && find . \( -type f -o -type l \) | sed 's|^\./|f |') >"$list"
echo "f share/libray/installed-files" >>"$list"
cat "$list.dirs" >>"$list"
rm "$list.dirs"
sort -o "$list" "$list"
tar -C "$stage" -cf - . | tar -C "$prefix" -xf - --no-same-owner --no-overwrite-dir
echo "libray $(sed -n 's/^Version: //p' "$stage"/lib/*/pkgconfig/libray.pc) installed in $prefix"
