#!/usr/bin/env bash
# examples/bazel_workspace, a workspace of its own that builds libray from source (its
# WORKSPACE: local_repository "libray" and libray_dependencies(); its BUILD: deps =
# ["@libray//ray"]), built by a Bazel of its own and run. libray is a checkout made of the files
# this test declares (//:workspace_files), copied, so a file that deps.bzl or a BUILD file needs
# and the list lacks fails here. The inner Bazel runs in batch mode (no server left behind) with
# an output root of its own, and compiles libray in full: minutes.
set -uo pipefail
version=$(tr -d ' \n' <VERSION)
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/workspace.XXXXXX")
# Bazel's install base is read-only.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM  # through the EXIT trap

cp -rL . "$work/libray"  # the runfiles: the declared files, as files rather than links
cd "$work/libray/examples/bazel_workspace"
# The outer test's runfiles variables are not the inner Bazel's.
inner_env=(env -u RUNFILES_DIR -u RUNFILES_MANIFEST_FILE -u JAVA_RUNFILES -u TEST_TMPDIR)
if ! "${inner_env[@]}" bazel --batch --output_user_root="$work/bazel" --nohome_rc \
  build //:squares >"$work/log" 2>&1; then
  echo "bazel_workspace_test: FAILED: bazel build //:squares in examples/bazel_workspace" >&2
  cat "$work/log" >&2
  exit 1
fi
output=$(bazel-bin/squares 2>&1)
expected="sum of squares 0..4: 30 (libray $version)"
if [ "$output" != "$expected" ]; then
  echo "bazel_workspace_test: FAILED: squares printed \"$output\", expected \"$expected\"" >&2
  exit 1
fi
echo "bazel_workspace_test: examples/bazel_workspace built against @libray and ran"
