#!/usr/bin/env bash
# Runs libray's main demo: the Ray tutorial in C++ (examples/tutorial.cc), after installing
# what is missing. The computation graphs it draws land in ./tutorial-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
mkdir -p tutorial-output
bazel run //examples:tutorial -- "$PWD/tutorial-output"
