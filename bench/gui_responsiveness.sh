#!/usr/bin/env bash
# GUI responsiveness while aligning groups of n = 512 (issue goal: GUI thread never blocked more
# than 50 ms at p99; heatmap refreshed >= 10 times a second). Runs the measuring test of
# tst_studio_worker (a 5 ms GUI-thread timer beside a live PlanHeatmap while JobRunner aligns two
# 784-512-512-10 MLPs) RUNS times and prints its result lines.
# Usage: bench/gui_responsiveness.sh [BUILD_DIR (default build/release)] [RUNS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
runs=${2:-3}
test_bin="$build/tests/tst_studio_worker"
[ -x "$test_bin" ] || { echo "gui_responsiveness: $test_bin not built (cmake --build --preset release)" >&2; exit 1; }
for _ in $(seq "$runs"); do
  QT_QPA_PLATFORM=offscreen "$test_bin" guiThreadKeepsRunning | grep '^RESPONSIVENESS'
done
