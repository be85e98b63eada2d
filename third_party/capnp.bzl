"""cc_capnp_library: compiles a .capnp schema with Debian's capnp tool into a cc_library."""

def cc_capnp_library(name, src, deps = [], visibility = None):
    base = src[:-len(".capnp")]
    native.genrule(
        name = name + "_gen",
        srcs = [src],
        outs = [src + ".h", src + ".c++"],
        cmd = "capnp compile -I/usr/include -oc++:$(RULEDIR) " +
              "--src-prefix=$$(dirname $(location %s)) $(location %s)" % (src, src),
    )
    native.cc_library(
        name = name,
        srcs = [src + ".c++"],
        hdrs = [src + ".h"],
        include_prefix = native.package_name(),
        deps = ["@capnp"] + deps,
        visibility = visibility,
    )
