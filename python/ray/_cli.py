"""The `ray` console command of the installed package: runs the C++ `ray` binary shipped in it
(ray start, ray status, ray stop; docs/CLUSTER.md) with the same arguments, in this process."""

import os
import sys
from pathlib import Path

BINARY = Path(__file__).resolve().parent / "_bin" / "ray"


def main():
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"ray: the package has no executable {BINARY}; reinstall it")
    os.execv(BINARY, ["ray"] + sys.argv[1:])
