"""A system test of the object store: a real ray_store per test, driven through the client."""

def store_test(name, deps = []):
    native.cc_test(
        name = name,
        srcs = [name + ".cc"],
        deps = [
            ":store_process",
            ":test_util",
            "//ray/store:client",
            "@gtest//:gtest_main",
        ] + deps,
    )
