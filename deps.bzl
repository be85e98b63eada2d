"""libray_dependencies(): every repository libray's BUILD files use, declared for a workspace.

A workspace that builds libray from source (its own, or this one) declares libray and calls it:

    local_repository(name = "libray", path = "...")   # or http_archive(name = "libray", ...)
    load("@libray//:deps.bzl", "libray_dependencies")
    libray_dependencies()

and depends on "@libray//ray" (docs/INSTALL.md). It declares, each unless the workspace already
has one of that name:
- Debian's system libraries as Bazel repositories, with BUILD files from libray's third_party/:
  capnp (Cap'n Proto, KJ, kj-tls), absl, msgpack, python; gtest and benchmark (libray's tests);
- local stand-ins for what Bazel 4.2.3 would otherwise download (rules_cc, rules_java,
  rules_python, remote_coverage_tools), so an offline build fetches nothing.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")

def _stand_in_repository_impl(rctx):
    folder = rctx.path(rctx.attr.workspace_file).dirname
    for child in folder.readdir():
        rctx.symlink(child, child.basename)

# A folder of libray's own third_party/ as a repository: a local_repository whose path is
# found from a label, so it works from any workspace (local_repository takes a path relative to
# the main workspace only).
_stand_in_repository = repository_rule(
    implementation = _stand_in_repository_impl,
    attrs = {"workspace_file": attr.label(allow_single_file = True)},
    local = True,
)

# Debian's libraries: the headers and libraries are under /usr (scripts/setup.sh installs them).
_SYSTEM_LIBRARIES = ["capnp", "absl", "msgpack", "gtest", "benchmark", "python"]
_STAND_INS = ["rules_cc", "rules_java", "rules_python", "remote_coverage_tools"]

def libray_dependencies():
    for name in _STAND_INS:
        maybe(
            _stand_in_repository,
            name = name,
            workspace_file = Label("//third_party/%s:WORKSPACE" % name),
        )
    for name in _SYSTEM_LIBRARIES:
        maybe(
            native.new_local_repository,
            name = name,
            path = "/usr",
            build_file = str(Label("//third_party:%s.BUILD" % name)),
        )
