#!/usr/bin/env bash
# Set up, build (release preset) and launch Rebasin Studio on its "Align two MNIST networks" demo.
# With no display the same demo runs offscreen and writes its screenshot, plots and JSON report
# to demo-output/ (or the folder given as the first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
studio=build/release/app/studio/rebasin-studio
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$studio" --demo align
fi
out=${1:-demo-output}
mkdir -p "$out"
"$studio" --demo align --screenshot "$out/align.png" --report "$out/align.json" --plots "$out/plots"
echo "No display: ran the align demo offscreen; wrote $out/align.png, $out/align.json and $out/plots/"
