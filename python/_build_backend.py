"""The PEP 517 build backend behind `pip install ./python` (named in pyproject.toml).

build_wheel runs `bazel build //python:pkg` in the repository (the folder above this one) and
packs what it assembles, bazel-bin/python/pkg/ray/ (the package's sources, the extension
_raylet.so and the `ray` binary in _bin/), into a wheel for the running interpreter, with the
console commands of [project.scripts]. With `--config-settings=libray-prefix=DIR` it builds
against the libray installed under DIR instead, without Bazel (_installed_build.py). Only the
standard library is used, so pip's isolated build environment needs nothing from an index.

There is no sdist: the extension is built from the whole repository, not from python/ alone.
"""

import base64
import csv
import hashlib
import io
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parent
REPO_ROOT = PYTHON_DIR.parent
PACKAGE_TARGET = "//python:pkg"
PACKAGE_DIR = REPO_ROOT / "bazel-bin" / "python" / "pkg"  # what PACKAGE_TARGET assembles
INSTALLED_PACKAGE_DIR = PYTHON_DIR / "build" / "pkg"  # what _installed_build.py assembles
# The [project] fields this backend writes into METADATA; any other is an error, not ignored.
PROJECT_FIELDS = {
    "name": "Name",
    "version": "Version",
    "description": "Summary",
    "requires-python": "Requires-Python",
    "dependencies": "Requires-Dist",
}
# Zip entries carry a fixed time, so the same files make the same wheel.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class Project:
    """The [project] table of pyproject.toml, and the wheel's names and metadata from it."""

    def __init__(self):
        with open(PYTHON_DIR / "pyproject.toml", "rb") as f:
            self.fields = tomllib.load(f)["project"]
        unknown = sorted(set(self.fields) - set(PROJECT_FIELDS) - {"scripts", "dynamic"})
        if unknown:
            raise SystemExit(f"libray: pyproject.toml: [project] fields {unknown} are not "
                             f"supported by _build_backend.py (it writes "
                             f"{list(PROJECT_FIELDS) + ['scripts']})")
        if self.fields.get("dynamic") != ["version"] or "version" in self.fields:
            raise SystemExit("libray: pyproject.toml: [project] has dynamic = [\"version\"] and "
                             "no version: the version is libray's VERSION file")
        self.fields["version"] = library_version()
        # Names in file names: runs of -_. become one _ (the wheel spec's escaping).
        name = re.sub(r"[-_.]+", "_", self.fields["name"]).lower()
        self.dist_info = f"{name}-{self.fields['version']}.dist-info"
        self.wheel_name = f"{name}-{self.fields['version']}-{interpreter_tag()}.whl"

    def metadata_files(self):
        """{file name: text} for the .dist-info folder, except RECORD."""
        metadata = ["Metadata-Version: 2.1"]
        for field, header in PROJECT_FIELDS.items():
            value = self.fields.get(field, [])
            metadata += [f"{header}: {v}" for v in (value if isinstance(value, list) else [value])]
        wheel = [
            "Wheel-Version: 1.0",
            "Generator: libray python/_build_backend.py",
            "Root-Is-Purelib: false",
            f"Tag: {interpreter_tag()}",
        ]
        files = {"METADATA": "\n".join(metadata) + "\n", "WHEEL": "\n".join(wheel) + "\n"}
        scripts = self.fields.get("scripts", {})
        if scripts:  # console commands, which pip installs into the environment's bin/
            lines = ["[console_scripts]"]
            lines += [f"{name} = {target}" for name, target in scripts.items()]
            files["entry_points.txt"] = "\n".join(lines) + "\n"
        return files


def library_version():
    """libray's version: the VERSION file at the repository's root, its one source."""
    try:
        return (REPO_ROOT / "VERSION").read_text().strip()
    except FileNotFoundError:
        raise SystemExit(f"libray: no VERSION in {REPO_ROOT}: install from the python/ folder "
                         f"of libray's repository")


def interpreter_tag():
    """The running interpreter's most specific wheel tag, e.g. cp311-cp311-linux_x86_64."""
    if sys.implementation.name != "cpython":
        raise SystemExit(f"libray: ray._raylet is a CPython extension; this is "
                         f"{sys.implementation.name}")
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    abi = python + ("d" if sysconfig.get_config_var("Py_DEBUG") else "")
    platform = re.sub(r"[-.]", "_", sysconfig.get_platform())
    return f"{python}-{abi}-{platform}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project = Project()
    dist_info = Path(metadata_directory, project.dist_info)
    dist_info.mkdir(parents=True, exist_ok=True)
    for name, text in project.metadata_files().items():
        (dist_info / name).write_text(text)
    return project.dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    # metadata_directory needs no reading: the wheel's metadata is the same files again.
    project = Project()
    prefix = (config_settings or {}).get("libray-prefix")
    if prefix:  # against an installed libray, without Bazel (_installed_build.py)
        import _installed_build
        _installed_build.build(REPO_ROOT, prefix, project.fields["version"], INSTALLED_PACKAGE_DIR)
        package_dir = INSTALLED_PACKAGE_DIR
    else:
        build_package()
        package_dir = PACKAGE_DIR
    write_wheel(Path(wheel_directory, project.wheel_name), project, package_dir)
    return project.wheel_name


def build_sdist(sdist_directory, config_settings=None):
    raise SystemExit("libray: no sdist. The extension is built with Bazel from the whole "
                     "repository, not from python/ alone: build a wheel instead "
                     "(`pip install ./python`, `pip wheel ./python`).")


def build_package():
    """Runs `bazel build //python:pkg` in the repository, which fills PACKAGE_DIR."""
    if not (REPO_ROOT / "WORKSPACE").is_file():
        raise SystemExit(f"libray: {PYTHON_DIR} is not the python/ folder of libray's "
                         f"repository (no WORKSPACE in {REPO_ROOT}). The extension is built with "
                         f"Bazel from the whole repository: install from its python/ folder, "
                         f"built in place (as pip 21.3 and later do), not from a copy.")
    bazel = shutil.which("bazel")
    if bazel is None:
        raise SystemExit("libray: bazel is not on PATH (scripts/setup.sh installs it)")
    # The .bazelrc's flags, nothing more: the configuration of `bazel test`, so its cached
    # outputs. (.bazelrc also fixes the actions' PATH, which pip changes.)
    result = subprocess.run([bazel, "build", PACKAGE_TARGET], cwd=REPO_ROOT)
    if result.returncode != 0:
        raise SystemExit(f"libray: `bazel build {PACKAGE_TARGET}` in {REPO_ROOT} failed "
                         f"(exit code {result.returncode}); its output is above")


def write_wheel(path, project, package_dir):
    """Writes the wheel: package_dir's files, then the .dist-info's METADATA, WHEEL, RECORD."""
    package_dir = package_dir.resolve()
    entries = []  # (name in the wheel, bytes, file mode)
    for file in sorted(package_dir.rglob("*")):
        # Skip bytecode an interpreter may have written there (PYTHONPATH=bazel-bin/python/pkg).
        if file.is_file() and "__pycache__" not in file.parts:
            # Bazel marks every output executable; of these, only the extension module and the
            # binaries in ray/_bin/ are.
            executable = file.suffix == ".so" or file.parent.name == "_bin"
            mode = 0o755 if executable else 0o644
            entries.append((file.relative_to(package_dir).as_posix(), file.read_bytes(), mode))
    if not any(name == "ray/_raylet.so" for name, _, _ in entries):
        raise SystemExit(f"libray: {package_dir} has no ray/_raylet.so after the build")
    entries += [(f"{project.dist_info}/{name}", text.encode(), 0o644)
                for name, text in project.metadata_files().items()]

    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data, _ in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        writer.writerow([name, f"sha256={digest.decode()}", len(data)])
    record_name = f"{project.dist_info}/RECORD"
    writer.writerow([record_name, "", ""])
    entries.append((record_name, record.getvalue().encode(), 0o644))

    # Written beside and renamed, so a failed write leaves no wheel behind.
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as wheel:
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.external_attr = (0o100000 | mode) << 16  # a regular file with this mode
                info.compress_type = zipfile.ZIP_DEFLATED
                wheel.writestr(info, data)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
