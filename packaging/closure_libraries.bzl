"""cc_closure_libraries: a cc target's whole closure as one static and one shared library.

Bazel makes an archive per cc_library; a program built without Bazel wants one `libray.a` or
`libray.so`. This rule merges the PIC archives of every library its deps link, in link order,
into NAME.a (so it links into PIE and non-PIE executables and into shared libraries alike),
links every object of it into NAME.so with the given SONAME, and writes NAME.link_flags: the
flags those libraries ask the final link for (their `linkopts`: Debian's -labsl_..., -lcapnp,
-lssl...), one a line, for pkg-config and CMake.
"""

def _cc_closure_libraries_impl(ctx):
    archives = []
    flags = []
    for dep in ctx.attr.deps:
        for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
            for flag in linker_input.user_link_flags:
                if flag not in flags:
                    flags.append(flag)
            for library in linker_input.libraries:
                archive = library.pic_static_library
                if not archive and (library.static_library or library.objects):
                    fail("%s: a library without PIC objects in %s" % (ctx.label, dep.label))
                if archive and archive not in archives:
                    archives.append(archive)

    static = ctx.actions.declare_file(ctx.attr.name + ".a")
    # ar's MRI script: CREATE the archive, ADDLIB each one's members, SAVE.
    script = ctx.actions.declare_file(ctx.attr.name + ".mri")
    lines = ["CREATE " + static.path] + ["ADDLIB " + a.path for a in archives] + ["SAVE", "END"]
    ctx.actions.write(script, "".join([line + "\n" for line in lines]))
    ctx.actions.run_shell(
        inputs = archives + [script],
        outputs = [static],
        command = "ar -M < %s && ranlib %s" % (script.path, static.path),
        mnemonic = "StaticArchive",
        progress_message = "Merging %d archives into %s" % (len(archives), static.short_path),
    )

    # Every member, not only those something references: the library is the whole API.
    # -z defs: a symbol left undefined is an error here, not in a user's link.
    shared = ctx.actions.declare_file(ctx.attr.name + ".so")
    ctx.actions.run(
        executable = "g++",
        arguments = [
            "-shared",
            "-o",
            shared.path,
            "-Wl,-soname," + ctx.attr.soname,
            "-Wl,--build-id",
            "-Wl,-z,defs",
            "-Wl,--whole-archive",
            static.path,
            "-Wl,--no-whole-archive",
        ] + flags,
        inputs = [static],
        outputs = [shared],
        mnemonic = "SharedLibrary",
        progress_message = "Linking %s" % shared.short_path,
        use_default_shell_env = True,
    )

    flags_file = ctx.actions.declare_file(ctx.attr.name + ".link_flags")
    ctx.actions.write(flags_file, "".join([f + "\n" for f in flags]))
    return [DefaultInfo(files = depset([static, shared, flags_file]))]

cc_closure_libraries = rule(
    implementation = _cc_closure_libraries_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "soname": attr.string(mandatory = True),
    },
    doc = "NAME.a and NAME.so: the deps' libraries in one; NAME.link_flags: their link flags.",
)
