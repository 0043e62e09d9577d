#!/usr/bin/env bash
# Regenerates the committed PNG icons (resources/icons/rebasin-studio-<N>.png, hicolor sizes)
# from the source SVG. Run it after editing resources/icons/rebasin-studio.svg; the .deb
# installs the PNGs as they are committed, so building needs no SVG renderer.
# Needs rsvg-convert (Debian package librsvg2-bin).
set -euo pipefail
icons="$(cd "$(dirname "$0")/../resources/icons" && pwd)"
command -v rsvg-convert >/dev/null || { echo "render-icons: needs rsvg-convert (apt-get install librsvg2-bin)" >&2; exit 1; }
for n in 16 22 24 32 48 64 128 256; do
  tmp="$(mktemp "$icons/.render-XXXXXX.png")"
  rsvg-convert -w "$n" -h "$n" "$icons/rebasin-studio.svg" -o "$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$icons/rebasin-studio-$n.png"   # rename: a reader never sees half a PNG
done
