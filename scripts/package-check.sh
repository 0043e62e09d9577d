#!/usr/bin/env bash
# Builds the .deb from a configured build (cpack), installs it with apt-get as a user would, and
# checks what got installed: /usr/bin/rebasin --version, the offscreen rebasin-studio demo's
# screenshot, the AppStream metainfo, the desktop file and the man pages. CI runs it after ctest
# (scripts/test.sh). The package stays installed afterwards (apt-get remove rebasin-studio).
#   scripts/package-check.sh [BUILD_DIR]     default: build/dev
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build/dev}" 2>/dev/null && pwd)" || { echo "package-check: no build folder ${1:-build/dev}" >&2; exit 1; }
app_id=io.github.rebasin.RebasinStudio

fail() { echo "package-check: $*" >&2; exit 1; }
passed=0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || fail "installing the .deb needs root: run as root or install sudo"
  SUDO=sudo
fi
[[ -f "$build/CPackConfig.cmake" ]] || fail "$build is not a configured build (cmake --preset dev first)"
for tool in cpack apt-get dpkg-deb appstreamcli desktop-file-validate man od; do
  command -v "$tool" >/dev/null || fail "needs $tool (scripts/setup.sh installs it)"
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. Build the package. cpack prints the file it wrote; take the name from there, not a glob
#    that could pick up an older version's .deb.
(cd "$build" && cpack -G DEB >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb="$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' "$tmp/cpack.log" | tail -n 1)"
[[ -f "$deb" ]] || { cat "$tmp/cpack.log" >&2; fail "cpack wrote no .deb"; }
passed=$((passed + 1))  # the .deb was built
version="$(dpkg-deb -f "$deb" Version)"
dpkg-deb -c "$deb" >"$tmp/contents"
for f in usr/bin/rebasin usr/bin/rebasin-studio "usr/share/applications/$app_id.desktop" \
         "usr/share/metainfo/$app_id.metainfo.xml" usr/share/man/man1/rebasin.1.gz \
         usr/share/doc/rebasin-studio/copyright; do
  grep -q " \./$f\$" "$tmp/contents" || fail "$(basename "$deb") lacks /$f"
done
passed=$((passed + 1))  # it holds the programs and desktop files

# 2. Install it with its dependencies. --reinstall: the same version may already be installed
#    (an earlier run), and then apt would keep the old files.
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq --reinstall "$deb" >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; fail "apt-get install $deb failed"; }
[[ "$(dpkg-query -W -f='${Version}' rebasin-studio)" == "$version" ]] || fail "rebasin-studio $version is not the installed version"
passed=$((passed + 1))  # apt-get installed it

# 3. The installed programs, run from /usr/bin as a user runs them.
out="$(/usr/bin/rebasin --version)" || fail "/usr/bin/rebasin --version failed"
[[ "$out" == "rebasin $version" ]] || fail "/usr/bin/rebasin --version printed '$out', expected 'rebasin $version'"
passed=$((passed + 1))  # rebasin --version

shot="$tmp/shot.png"
QT_QPA_PLATFORM=offscreen timeout 900 /usr/bin/rebasin-studio --demo recover --screenshot "$shot" \
    >"$tmp/studio.log" 2>&1 || { tail -n 20 "$tmp/studio.log" >&2; fail "rebasin-studio --demo recover --screenshot failed"; }
[[ -s "$shot" ]] || fail "rebasin-studio wrote no screenshot"
# PNG: the 8-byte signature, then IHDR holding width and height as big-endian 32-bit numbers.
# shellcheck disable=SC2207  # od prints only numbers: word splitting is what is wanted
b=( $(od -An -v -tu1 -N24 "$shot") )
[[ "${b[*]:0:8}" == "137 80 78 71 13 10 26 10" ]] || fail "the screenshot is not a PNG"
width=$(( (b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19] ))
height=$(( (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23] ))
(( width >= 1200 && height >= 800 )) || fail "screenshot is ${width}x${height}, expected at least 1200x800"
passed=$((passed + 1))  # the studio demo screenshot

# 4. Desktop integration as installed.
appstreamcli validate --no-net "/usr/share/metainfo/$app_id.metainfo.xml" >"$tmp/as.log" 2>&1 \
  || { cat "$tmp/as.log" >&2; fail "appstreamcli rejects the metainfo"; }
passed=$((passed + 1))  # appstreamcli validate
desktop-file-validate "/usr/share/applications/$app_id.desktop" || fail "desktop-file-validate rejects the desktop file"
passed=$((passed + 1))  # desktop-file-validate
for n in scalable/apps/$app_id.svg 16x16/apps/$app_id.png 256x256/apps/$app_id.png; do
  [[ -s "/usr/share/icons/hicolor/$n" ]] || fail "icon /usr/share/icons/hicolor/$n is missing"
done
passed=$((passed + 1))  # icons installed
for page in rebasin rebasin-studio; do
  if ! man -l "/usr/share/man/man1/$page.1.gz" >/dev/null 2>"$tmp/man.log" || [[ -s "$tmp/man.log" ]]; then
    cat "$tmp/man.log" >&2
    fail "man page $page.1 does not render cleanly"
  fi
done
passed=$((passed + 1))  # man pages render

echo "package-check: $(basename "$deb") ($(( $(stat -c %s "$deb") / 1024 )) KiB) installed;" \
     "rebasin --version ok; studio screenshot ${width}x${height}; metainfo, desktop file, icons, man pages ok"
# The plain summary line CI reads (this runs after ctest in scripts/test.sh).
echo "package-check: $passed passed, 0 failed"
