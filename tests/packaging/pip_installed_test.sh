#!/usr/bin/env bash
# The Python package built against an installed libray (docs/INSTALL.md), without Bazel: libray
# installed under a prefix (packaging/install_tree.sh), then `pip install ./python
# --config-settings=libray-prefix=PREFIX` into a new venv, from a copy of the repository's files
# this test declares. The venv's python runs tasks with the installed libray.so loaded, its
# ray.__version__ is VERSION's, and its `ray` command is the installed one.
# Silent on success but for one line; on failure prints the failed step and its output.
set -uo pipefail
version=$(tr -d ' \n' <VERSION)
tmp=$(mktemp -d /tmp/rpip.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM  # through the EXIT trap
step_name=pip_installed_test
step_log=$tmp/log
source scripts/steps.sh

step "install_tree.sh --prefix" packaging/install_tree.sh --prefix="$tmp/prefix" \
  packaging/libray_tree.tar
step "a copy of the repository's files" cp -rL . "$tmp/libray"  # files, not the runfiles' links
step "python3 -m venv --system-site-packages" /usr/bin/python3 -m venv --system-site-packages \
  "$tmp/venv"
step "pip install ./python --config-settings=libray-prefix=PREFIX" "$tmp/venv/bin/pip" install \
  --no-index --no-cache-dir --disable-pip-version-check \
  --config-settings=libray-prefix="$tmp/prefix" "$tmp/libray/python"
cd "$tmp"  # away from the copy's ray/ (C++), which must not shadow the installed package
step "import ray and run tasks in the venv" \
  venv/bin/python "$tmp/libray/scripts/check_ray_package.py" "$version" "$tmp/prefix"
step "the venv's ray --version" venv/bin/ray --version
expect "the venv's ray --version" "libray $version"
echo "pip_installed_test: the ray package built against the installed libray runs tasks"
