#!/usr/bin/env bash
# Installs every Debian package libray needs. Idempotent: when all are present it only
# checks (well under a second) and touches nothing.
set -euo pipefail

packages=(
  bazel-bootstrap g++ capnproto libcapnp-dev libabsl-dev libmsgpack-cxx-dev
  libgtest-dev libgmock-dev libbenchmark-dev python3-dev libpython3.11-dev pybind11-dev
  python3-numpy python3-cloudpickle python3-pytest python3-msgpack python3-venv python3-pip python3-distributed
  graphviz procps psmisc util-linux iproute2 libssl-dev openssl
  cmake make pkg-config binutils dpkg apt
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
