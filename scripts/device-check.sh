#!/usr/bin/env bash
# GPU device check (issue 7): on a machine with a GPU, CMake, nvcc and PyTorch (python3) but no
# Qt, build core and the rebasin CLI against PyTorch's LibTorch, check every GPU kernel against
# its CPU reference, time the Sinkhorn operator on the GPU (and the LibTorch-ops loop on the same
# GPU, and the device's copy bandwidth), and time one end-to-end alignment on CUDA and on the CPU.
# Results are JSON files in OUTDIR (summary.json gathers them, summary.md is the table for
# docs/benchmarks.md); everything printed goes to OUTDIR/log.txt too. Sized for < 8 minutes on
# 16 cores; each step has its own time limit and later steps are skipped when time runs short.
#
# Usage: scripts/device-check.sh OUTDIR [--dry-run] [--rebasin PATH] [--build-dir DIR]
#   --dry-run       check the tools and print the plan; build and run nothing
#   --rebasin PATH  use this rebasin binary instead of building one (e.g. to try the script's
#                   CPU-only path where a build already exists)
#   --build-dir DIR where to configure and build (default: $TMPDIR/rebasin-device-build; kept
#                   out of OUTDIR, which holds only the small result files)
# Environment: TORCH_PREFIX (LibTorch's CMake folder), CUDA_ARCH (e.g. 90), PYTHON,
# REBASIN_CHECK_SIZES ("1024 2048 ..."), REBASIN_CHECK_CPU_SIZES ("1024 4096"),
# REBASIN_CHECK_BUDGET_S (default 470).
# Exit status: 0 all done and every GPU check passed; 1 a step failed (the log says which);
# 3 built and checked on the CPU, but no usable GPU here ("no GPU" line on stderr).
set -euo pipefail

usage() { echo "usage: $0 OUTDIR [--dry-run] [--rebasin PATH] [--build-dir DIR]" >&2; exit 1; }
[[ $# -ge 1 ]] || usage
OUT=$1
shift
DRY=0
REBASIN=""
BUILD=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --dry-run) DRY=1 ;;
    --rebasin) REBASIN=${2:?--rebasin needs a path}; shift ;;
    --build-dir) BUILD=${2:?--build-dir needs a folder}; shift ;;
    *) usage ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${TMPDIR:-/tmp}/rebasin-device-work
BUILD=${BUILD:-${TMPDIR:-/tmp}/rebasin-device-build}
LOG=$OUT/log.txt
exec > >(tee -a "$LOG") 2> >(tee -a "$LOG" >&2)
START=$(date +%s)
BUDGET_S=${REBASIN_CHECK_BUDGET_S:-470}
JOBS=$(nproc 2>/dev/null || echo 4)
PY=${PYTHON:-python3}

elapsed() { echo $(( $(date +%s) - START )); }
step() { echo "== [$(elapsed)s] $*"; }
die() { echo "device-check: $*" >&2; exit 1; }
# Seconds left of the budget; a step that needs more is skipped (and says so).
left() { echo $(( BUDGET_S - $(elapsed) )); }
have_time() { [[ $(left) -ge $1 ]]; }
# run_json NAME LIMIT_S CMD...: CMD's stdout (one JSON object) to OUT/NAME.json, atomically;
# returns CMD's exit status (124 when it ran past LIMIT_S or the budget).
run_json() {
  local name=$1 limit=$2
  shift 2
  local tmp="$OUT/.$name.json.tmp" rc=0 cap
  cap=$(left)
  # Never past the budget: the step gets what is left of it, or is skipped.
  [[ $cap -lt $limit ]] && limit=$cap
  if [[ $limit -lt 5 ]]; then echo "skipped $name: out of time"; return 124; fi
  echo "+ $*"
  timeout "$limit" "$@" >"$tmp" || rc=$?
  if [[ $rc -eq 0 ]]; then mv -f "$tmp" "$OUT/$name.json"; else rm -f "$tmp"; fi
  return $rc
}

step "device check in $OUT (root $ROOT, $JOBS cores, budget ${BUDGET_S}s)"

# --- 1. tools -------------------------------------------------------------------------------
[[ -d /usr/local/cuda/bin ]] && export PATH="$PATH:/usr/local/cuda/bin"
for tool in cmake "$PY"; do command -v "$tool" >/dev/null || die "$tool not found"; done
NVCC=$(command -v nvcc || true)
GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
TORCH_PREFIX=${TORCH_PREFIX:-$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)}
if [[ -n $TORCH_PREFIX && ! -f $TORCH_PREFIX/Torch/TorchConfig.cmake ]]; then
  echo "note: $TORCH_PREFIX has no Torch/TorchConfig.cmake; CMake will search the system"
  TORCH_PREFIX=""
fi
# The GPU's own architecture when PyTorch sees one (a pip LibTorch may refuse others).
CUDA_ARCH=${CUDA_ARCH:-$("$PY" -c 'import torch
c = torch.cuda.get_device_capability(0) if torch.cuda.is_available() else None
print(f"{c[0]}{c[1]}" if c else "")' 2>/dev/null || true)}
CUDA_ARCH=${CUDA_ARCH:-80;90}
"$PY" - "$OUT/environment.json" <<'EOF' || echo "note: could not describe the environment"
import json, os, platform, subprocess, sys
env = {"python": sys.version.split()[0], "machine": platform.machine(), "cores": os.cpu_count()}
try:
    import torch
    env["torch"] = torch.__version__
    env["torch_cuda"] = torch.version.cuda
    env["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        env["gpu"] = p.name
        env["gpu_multiprocessors"] = p.multi_processor_count
        env["gpu_memory_gib"] = round(p.total_memory / 2**30, 1)
except Exception as e:  # no torch: the build will say so
    env["torch_error"] = str(e)
for tool, args, pick in (("nvcc", ["--version"], "release"), ("cmake", ["--version"], "version"),
                        ("nvidia-smi", ["-L"], "GPU")):
    try:
        lines = subprocess.run([tool] + args, capture_output=True, text=True, timeout=20).stdout.splitlines()
        env[tool] = next((l.strip() for l in lines if pick in l), None)
    except Exception:
        env[tool] = None
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    json.dump(env, f, indent=1)
os.replace(tmp, sys.argv[1])
print(json.dumps(env))
EOF

# PyTorch >= 2.13 headers refuse anything older than C++20 ("#error C++20 or later").
CXX_STD=${CXX_STD:-$("$PY" -c 'import torch, re
v = tuple(int(x) for x in re.findall(r"\d+", torch.__version__)[:2])
print(20 if v >= (2, 13) else 17)' 2>/dev/null || echo 17)}
CONFIGURE=(cmake -S "$ROOT" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_STANDARD=$CXX_STD"
  -DREBASIN_BUILD_GUI=OFF -DREBASIN_BUILD_TESTS=OFF "-DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCH")
[[ -n $TORCH_PREFIX ]] && CONFIGURE+=("-DCMAKE_PREFIX_PATH=$TORCH_PREFIX")
if [[ -n $NVCC ]]; then
  CONFIGURE+=("-DCMAKE_CUDA_COMPILER=$NVCC" "-DCUDAToolkit_ROOT=$(dirname "$(dirname "$NVCC")")")
else
  echo "note: no nvcc: the build has no CUDA kernels"
fi
# Keep going past the first error: one run on the GPU machine should show every compile error.
BUILD_CMD=(cmake --build "$BUILD" --target rebasin -j "$JOBS")
[[ ${#GENERATOR[@]} -gt 0 ]] && BUILD_CMD+=(-- -k 0)

read -r -a NS <<<"${REBASIN_CHECK_SIZES:-1024 2048 4096 8192 16384}"
if [[ $DRY -eq 1 ]]; then
  step "dry run: the plan"
  if [[ -z $REBASIN ]]; then echo "${CONFIGURE[*]}"; echo "${BUILD_CMD[*]}"; REBASIN=$BUILD/app/rebasin; fi
  echo "$REBASIN bench sinkhorn --check --json > $OUT/check.json"
  for n in "${NS[@]}"; do echo "$REBASIN bench sinkhorn --n $n --device cuda --json > $OUT/bench-cuda-$n.json"; done
  echo "$REBASIN bench sinkhorn --n 1024|4096 --device cpu --no-unrolled --json > $OUT/bench-cpu-N.json"
  echo "$REBASIN train (resnet20x4, digits, 1 epoch, 2 seeds) --device cuda; align --device cuda and cpu > $OUT/e2e-*.json"
  step "dry run done"
  exit 0
fi

# --- 2. build -------------------------------------------------------------------------------
if [[ -z $REBASIN ]]; then
  step "configure"
  timeout 180 "${CONFIGURE[@]}" || die "CMake configure failed (see $LOG)"
  step "build rebasin"
  if ! timeout 330 "${BUILD_CMD[@]}"; then
    # A LibTorch that wants C++20 says so at the first TU; reconfigure once and build again.
    if [[ $CXX_STD != 20 ]] && grep -q "C++20 or later" "$LOG"; then
      step "LibTorch requires C++20: reconfigure with -DCMAKE_CXX_STANDARD=20"
      timeout 180 "${CONFIGURE[@]}" -DCMAKE_CXX_STANDARD=20 || die "CMake configure failed (see $LOG)"
      timeout 330 "${BUILD_CMD[@]}" || die "build failed (see $LOG)"
    else
      die "build failed (see $LOG)"
    fi
  fi
  REBASIN=$BUILD/app/rebasin
fi
[[ -x $REBASIN ]] || die "no rebasin binary at $REBASIN"
"$REBASIN" --version

# --- 3. CPU smoke, then the GPU correctness checks ------------------------------------------
step "CPU smoke test"
run_json smoke-cpu 120 "$REBASIN" bench sinkhorn --n 256 --iters 20 --no-unrolled --device cpu --json || die "CPU bench failed (exit $?)"
step "GPU checks (every kernel against its CPU reference)"
CHECK_ERR=$OUT/.check.err
rc=0
run_json check 120 "$REBASIN" bench sinkhorn --check --json 2>"$CHECK_ERR" || rc=$?
cat "$CHECK_ERR"
if [[ $rc -ne 0 ]] && grep -q "no usable CUDA\|no CUDA" "$CHECK_ERR"; then
  "$PY" - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
tmp = os.path.join(out, ".summary.json.tmp")
with open(tmp, "w") as f:
    json.dump({"gpu": False, "note": "no usable GPU: built and checked the CPU path only"}, f)
os.replace(tmp, os.path.join(out, "summary.json"))
EOF
  echo "device-check: no GPU on this machine ($(tail -n 1 "$CHECK_ERR")): built and checked the CPU path only" >&2
  exit 3
fi
CHECK_FAILED=$rc
[[ $rc -eq 0 ]] || echo "device-check: GPU checks FAILED (exit $rc); timings follow, but do not trust them"

# --- 4. Sinkhorn timings --------------------------------------------------------------------
for n in "${NS[@]}"; do
  have_time 60 || { echo "skipped bench n=$n: out of time"; continue; }
  step "bench sinkhorn n=$n on cuda"
  run_json "bench-cuda-$n" 90 "$REBASIN" bench sinkhorn --n "$n" --device cuda --json || echo "bench n=$n failed (exit $?)"
done
for n in ${REBASIN_CHECK_CPU_SIZES:-1024 4096}; do
  have_time 90 || { echo "skipped CPU bench n=$n: out of time"; continue; }
  step "bench sinkhorn n=$n on cpu ($JOBS threads)"
  run_json "bench-cpu-$n" 90 "$REBASIN" bench sinkhorn --n "$n" --device cpu --no-unrolled --json || echo "CPU bench n=$n failed (exit $?)"
done

# --- 5. end to end: align two trained ResNet20x4 on CUDA and on the CPU ----------------------
DATA=$WORK/data
DIGITS=$("$PY" -c 'import os, sklearn.datasets as d; print(os.path.join(os.path.dirname(d.__file__), "data", "digits.csv.gz"))' 2>/dev/null || true)
if [[ -n $DIGITS && -f $DIGITS ]] && have_time 150; then
  mkdir -p "$DATA/digits"
  cp -f "$DIGITS" "$DATA/digits/digits.csv.gz"
  for seed in 1 2; do
    step "train resnet20x4 seed $seed (digits, 1 epoch, cuda)"
    run_json "e2e-train-$seed" 120 "$REBASIN" train --arch resnet20x4 --data digits --data-dir "$DATA" \
      --epochs 1 --seed "$seed" --device cuda --out "$WORK/resnet20x4-$seed.safetensors" --json || echo "training failed (exit $?)"
  done
  if have_time 120; then
    step "train resnet20x4 seed 1 on the cpu (for the ratio)"
    run_json "e2e-train-cpu" 120 "$REBASIN" train --arch resnet20x4 --data digits --data-dir "$DATA" \
      --epochs 1 --seed 1 --device cpu --out "$WORK/resnet20x4-cpu.safetensors" --json || echo "CPU training failed (exit $?)"
  fi
  for dev in cuda cpu; do
    have_time 60 || { echo "skipped align on $dev: out of time"; continue; }
    step "align resnet20x4 (sinkhorn l2, 50 steps) on $dev"
    run_json "e2e-align-$dev" 150 "$REBASIN" align "$WORK/resnet20x4-1.safetensors" "$WORK/resnet20x4-2.safetensors" \
      --data digits --data-dir "$DATA" --method sinkhorn --cost l2 --steps 50 --points 5 --device "$dev" --json \
      || echo "align on $dev failed (exit $?)"
  done
else
  echo "skipped the end-to-end alignment (no scikit-learn digits data, or out of time)"
fi

# --- 6. summary -----------------------------------------------------------------------------
step "summary"
"$PY" - "$OUT" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
summary = {"gpu": True, "environment": load("environment"), "check": load("check"),
           "bench_cuda": [], "bench_cpu": [], "e2e": {}}
for p in sorted(glob.glob(os.path.join(out, "bench-cuda-*.json")), key=lambda p: int(p.split("-")[-1][:-5])):
    summary["bench_cuda"].append(json.load(open(p)))
for p in sorted(glob.glob(os.path.join(out, "bench-cpu-*.json")), key=lambda p: int(p.split("-")[-1][:-5])):
    summary["bench_cpu"].append(json.load(open(p)))
for dev in ("cuda", "cpu"):
    summary["e2e"][dev] = load("e2e-align-" + dev)
a, b = summary["e2e"]["cuda"], summary["e2e"]["cpu"]
if a and b and a.get("seconds"):
    summary["e2e"]["cpu_over_cuda"] = b["seconds"] / a["seconds"]
ta, tb = load("e2e-train-1"), load("e2e-train-cpu")
summary["e2e"]["train_cuda"], summary["e2e"]["train_cpu"] = ta, tb
if ta and tb and ta.get("seconds"):
    summary["e2e"]["train_cpu_over_cuda"] = tb["seconds"] / ta["seconds"]
def ms(v):
    return "-" if v is None else f"{v * 1e3:.3g}"
def num(v, f="{:.3g}"):
    return "-" if v is None else f.format(v)
rows = ["| n | GPU forward (passes) ms | operator ms | LibTorch loop ms | implicit bwd ms | CG iters | unrolled bwd ms | iteration / one read | loop iteration / one read |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
for r in summary["bench_cuda"]:
    rows.append(f"| {r['n']} | {ms(r.get('kernel_forward_s'))} | {ms(r.get('forward_s'))} | {ms(r.get('reference_forward_s'))} | "
                f"{ms(r.get('implicit_backward_s'))} | {r.get('cg_iterations', '-')} | {ms(r.get('unrolled_backward_s'))} | "
                f"{num(r.get('forward_iteration_reads'))} | {num(r.get('reference_iteration_reads'))} |")
if summary["bench_cuda"]:
    r = summary["bench_cuda"][0]
    rows.append("")
    rows.append(f"GPU: {r.get('gpu')}; device copy {num(r.get('device_copy_gb_per_s'), '{:.0f}')} GB/s (read + write).")
for r in summary["bench_cpu"]:
    rows.append(f"CPU ({r.get('threads')} threads) n = {r['n']}: forward {ms(r.get('forward_s'))} ms, implicit backward {ms(r.get('implicit_backward_s'))} ms.")
if a or b:
    rows.append(f"End to end (resnet20x4 align, 50 steps): cuda {num(a and a.get('seconds'))} s, cpu {num(b and b.get('seconds'))} s.")
if ta or tb:
    rows.append(f"Training (resnet20x4, digits, 1 epoch): cuda {num(ta and ta.get('seconds'))} s, cpu {num(tb and tb.get('seconds'))} s.")
with open(os.path.join(out, ".summary.md.tmp"), "w") as f:
    f.write("\n".join(rows) + "\n")
os.replace(os.path.join(out, ".summary.md.tmp"), os.path.join(out, "summary.md"))
with open(os.path.join(out, ".summary.json.tmp"), "w") as f:
    json.dump(summary, f, indent=1)
os.replace(os.path.join(out, ".summary.json.tmp"), os.path.join(out, "summary.json"))
print("\n".join(rows))
EOF
step "done in $(elapsed)s"
if [[ $CHECK_FAILED -ne 0 ]]; then
  echo "device-check: GPU checks failed (see $OUT/check.json)" >&2
  exit 1
fi
