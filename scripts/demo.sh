#!/usr/bin/env bash
# Runs libray's main demo after installing what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
bazel run //examples:store_demo
