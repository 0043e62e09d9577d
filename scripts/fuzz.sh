#!/usr/bin/env bash
# Builds the checkpoint-reader fuzzer with clang/libFuzzer (see fuzz/README.md) and runs it on
# the committed fixtures. Exit non-zero on any finding.
#   scripts/fuzz.sh [SECONDS]   explore for SECONDS with a random seed (finds new bugs)
#   scripts/fuzz.sh --ci        a fixed seed and run count: the same inputs every time, so a
#                               submission's test run cannot turn red by chance
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--ci" ]]; then
  limits=(-seed=1 -runs=150000)
  what="150000 fixed-seed runs"
else
  limits=(-max_total_time="${1:-30}")
  what="${1:-30} s"
fi
mkdir -p build/fuzz/corpus
sources=(fuzz/fuzz_checkpoint.cpp core/io/safetensors.cpp core/io/torch_archive.cpp
         core/io/unpickler.cpp core/io/atomic_file.cpp)
if [[ ! -x build/fuzz/fuzz_checkpoint ]] || [[ -n "$(find "${sources[@]}" core/io/*.h -newer build/fuzz/fuzz_checkpoint)" ]]; then
  clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address -fno-omit-frame-pointer \
    -Icore -I/usr/include/torch/csrc/api/include "${sources[@]}" \
    -o build/fuzz/fuzz_checkpoint -ltorch -ltorch_cpu -lc10
fi
cd build/fuzz
rm -rf corpus && mkdir corpus  # a fresh corpus each time keeps --ci reproducible
ASAN_OPTIONS=detect_leaks=0 ./fuzz_checkpoint "${limits[@]}" -max_len=16384 \
  -timeout=10 -rss_limit_mb=4096 corpus ../../tests/data > fuzz.log 2>&1 || { tail -n 40 fuzz.log; exit 1; }
grep -E "^Done [0-9]+ runs" fuzz.log
echo "fuzz: ${what} without findings"
