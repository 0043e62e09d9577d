#!/usr/bin/env bash
# Installs what Rebasin Studio needs on Debian 12 (run as root, or with sudo available).
# Idempotent and quiet: prints nothing and touches nothing when everything is already there.
#   scripts/setup.sh           build + test dependencies
#   scripts/setup.sh --bench   also the Python peers used by bench/ (python3-torch, -scipy, -pot)
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config ccache git
  libtorch-dev nlohmann-json3-dev libcli11-dev libfmt-dev zlib1g-dev
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqcustomplot-dev
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-torch python3-scipy python3-pot python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: run as root (missing: ${missing[*]})" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
