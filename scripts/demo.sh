#!/usr/bin/env bash
# Set up, build (release preset) and run the main job. Until the desktop app lands this is the
# CLI benchmark of the numerical core: Sinkhorn forward/backward and exact assignment.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
build/release/app/rebasin bench sinkhorn --n 1024
build/release/app/rebasin bench lap --n 1024
