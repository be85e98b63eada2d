#!/usr/bin/env bash
# Installs the Python package as docs/PYTHON.md says, into a new venv in a temporary folder:
# `pip install ./python` (which runs Bazel; outside `bazel test`, which must not nest it), twice
# (the second upgrades in place), then the venv's python imports ray (its version is VERSION's),
# runs tasks and runs examples/tutorial.py, and the venv's `ray` command starts a head, shows it
# and stops it.
# Silent on success; on failure prints the failed step and its output.
# Exit code 0 only on success. The temporary folder is removed in every case.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
# A node the `ray` command steps started is stopped (by the PID in its folder) in every case.
trap 'TMPDIR=$tmp "$tmp/venv/bin/ray" stop --force >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM  # through the EXIT trap
cd "$tmp"  # outside the repository, whose ray/ (C++) must not shadow the installed package

step_name=test_pip_install
step_log=$tmp/log
source "$repo/scripts/steps.sh"

# --no-index: the install must need nothing from a package index.
pip_install=(venv/bin/pip install --no-index --disable-pip-version-check "$repo/python")
step "python3 -m venv --system-site-packages" /usr/bin/python3 -m venv --system-site-packages venv
step "pip install ./python" "${pip_install[@]}"
step "pip install ./python again (upgrade)" "${pip_install[@]}"
step "import ray and run tasks in the venv" \
  venv/bin/python "$repo/scripts/check_ray_package.py" "$(cat "$repo/VERSION")"
step "examples/tutorial.py in the venv" venv/bin/python "$repo/examples/tutorial.py"

# The console command runs the binary shipped in the package; its nodes live under TMPDIR.
ray_cli() { TMPDIR=$tmp "$tmp/venv/bin/ray" "$@"; }
step "ray start --head --port=0 in the venv" ray_cli start --head --port=0 --object-store-memory=32M
expect "ray start" "Cluster address: 127.0.0.1:"
step "ray status in the venv" ray_cli status
expect "ray status" "1 alive, 0 dead"
step "ray stop in the venv" ray_cli stop
expect "ray stop" "Stopped 1 node."
step "nothing left after ray stop" test -z "$(ls -A "$tmp/ray-$(id -u)")"
