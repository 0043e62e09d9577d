#!/usr/bin/env bash
# Set up, build (dev preset) and run every test. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset dev >/dev/null
cmake --build --preset dev
scripts/fuzz.sh --ci   # before ctest, so ctest's summary closes the log
scripts/package-check.sh   # the .deb: build, apt-get install, run the installed programs
ctest --preset dev
