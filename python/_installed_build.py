"""The ray package built against an installed libray, for _build_backend.py.

    pip install ./python --config-settings=libray-prefix=/usr

Bazel builds nothing then: the extension module _raylet.so is compiled from its sources in the
repository (ray/python_embed/) and linked with the libray.so installed under the prefix (the
Debian package, scripts/install.sh), which it finds again at run time by an rpath; the `ray`
binary is the installed one. The installed libray must have the repository's VERSION: the
extension uses the engine's own headers from the repository, which must match the library.
"""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


def extension_rule(repo_root):
    """The extension's C++ sources (_raylet.so's srcs and those of the libraries of
    ray/python_embed/BUILD it depends on: the rest of its dependencies are in libray.so) and its
    copts. Read from that BUILD file, whose Starlark is Python, so that the two builds cannot
    drift apart."""
    rules = {}

    def rule(*args, **kwargs):
        if "name" in kwargs:
            rules[kwargs["name"]] = kwargs

    names = {"package", "cc_binary", "cc_library", "cc_test", "sh_test", "filegroup", "genrule",
             "exports_files", "load"}
    scope = {name: rule for name in names}
    scope["glob"] = lambda *args, **kwargs: []
    build_file = repo_root / "ray" / "python_embed" / "BUILD"
    exec(compile(build_file.read_text(), str(build_file), "exec"), scope)
    sources, pending, seen = [], ["_raylet.so"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        sources += [s for s in rules[name].get("srcs", []) if s.endswith(".cc")]
        pending += [d[1:] for d in rules[name].get("deps", []) if d.startswith(":")]
    return sorted(sources), rules["_raylet.so"].get("copts", [])


def build(repo_root, prefix, version, package_dir):
    """Fills package_dir/ray/ (as //python:pkg fills bazel-bin/python/pkg/ray/)."""
    libray = PkgConfig(Path(prefix).resolve())
    installed = libray.query("--modversion")
    if installed != version:
        raise SystemExit(f"libray: the libray installed in {prefix} is {installed}, this "
                         f"repository is {version}: install this version first "
                         f"(scripts/install.sh --prefix={prefix})")
    if package_dir.exists():
        shutil.rmtree(package_dir)
    package = package_dir / "ray"
    for source in sorted((repo_root / "python" / "ray").rglob("*.py")):
        target = package / source.relative_to(repo_root / "python" / "ray")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (package / "_version.py").write_text(f"__version__ = '{version}'  # libray's VERSION\n")
    (package / "_bin").mkdir()
    installed_ray = Path(libray.query("--variable=prefix")) / "bin" / "ray"
    shutil.copyfile(installed_ray, package / "_bin" / "ray")

    libdir = libray.query("--variable=libdir")
    sources, copts = extension_rule(repo_root)
    command = ["g++", "-std=c++20", "-O2", "-fPIC", "-shared", *copts, f"-I{repo_root}",
               f"-I{sysconfig.get_paths()['include']}"]
    command += [str(repo_root / "ray" / "python_embed" / source) for source in sources]
    command += libray.query("--cflags", "--libs").split()
    command += [f"-Wl,-rpath,{libdir}", "-o", str(package / "_raylet.so")]
    print(f"libray: compiling ray._raylet against the libray in {libdir}", file=sys.stderr)
    if subprocess.run(command).returncode != 0:
        raise SystemExit("libray: compiling ray._raylet failed; the compiler's output is above")


class PkgConfig:
    """pkg-config's answers about the libray installed under a prefix."""

    def __init__(self, prefix):
        multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
        self.path = prefix / "lib" / multiarch / "pkgconfig"
        if not (self.path / "libray.pc").is_file():
            raise SystemExit(f"libray: no libray installed in {prefix} (no {self.path}/libray.pc)")
        self.program = shutil.which("pkg-config")
        if self.program is None:
            raise SystemExit("libray: pkg-config is not on PATH (scripts/setup.sh installs it)")

    def query(self, *args):
        result = subprocess.run([self.program, *args, "libray"], capture_output=True, text=True,
                                env={"PKG_CONFIG_PATH": str(self.path)})
        if result.returncode != 0:
            raise SystemExit(f"libray: pkg-config {' '.join(args)} libray: {result.stderr}")
        return result.stdout.strip()
