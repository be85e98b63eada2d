"""Checks the ray package pip installed into the running interpreter's environment (a venv):
it is imported from there, its version and the wheel's are VERSION's, every file is as the
wheel's RECORD says, and it runs tasks; given a prefix, the libray.so it loaded is from there.
For scripts/test_pip_install.sh and tests/packaging/pip_installed_test.sh.

    VENV/bin/python check_ray_package.py VERSION [LIBRAY_PREFIX]
"""

import base64
import hashlib
import importlib.metadata
import sys

import ray

version = sys.argv[1].strip()
assert ray.__file__.startswith(sys.prefix + "/"), f"ray from {ray.__file__}, not the venv"
assert ray.__version__ == version, (ray.__version__, version)
assert importlib.metadata.version("libray") == version, importlib.metadata.version("libray")
# Every installed file is as RECORD says (pip keeps the hashes the wheel's RECORD gave).
for file in importlib.metadata.distribution("libray").files:
    if file.hash:
        digest = hashlib.sha256(file.locate().read_bytes()).digest()
        assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == file.hash.value, file

ray.init(num_cpus=2)


@ray.remote
def square(x):
    return x * x


assert ray.get([square.remote(i) for i in range(10)]) == [i * i for i in range(10)]
ray.shutdown()

if len(sys.argv) > 2:  # the extension links the libray.so installed under this prefix
    prefix = sys.argv[2].rstrip("/")
    with open("/proc/self/maps") as maps:
        loaded = {line.split()[-1] for line in maps if "libray.so" in line}
    assert loaded and all(path.startswith(prefix + "/") for path in loaded), loaded
