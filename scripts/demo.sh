#!/usr/bin/env bash
# Runs libray's main demo: the Ray tutorial in C++ (examples/tutorial.cc), then in Python
# (examples/tutorial.py, with the package Bazel assembles on PYTHONPATH: no install needed),
# after installing what is missing. The computation graphs they draw land in ./tutorial-output/
# (the C++ one's) and ./tutorial-output/python/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel build //examples:tutorial //python:pkg
mkdir -p tutorial-output
bazel run //examples:tutorial -- "$PWD/tutorial-output"

echo
echo "== The same tutorial in Python (examples/tutorial.py)"
# PYTHONDONTWRITEBYTECODE: no __pycache__ written into Bazel's output folder.
PYTHONPATH=bazel-bin/python/pkg PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 examples/tutorial.py \
  tutorial-output/python
