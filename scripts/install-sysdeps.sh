#!/usr/bin/env bash
# Install the Debian packages medius needs, only those missing (no-op when all are present).
#   libgl1, libglib2.0-0 : OpenCV (opencv-contrib-python, pulled in by mediapipe) links them
#   fonts-dejavu-core    : a font for the plots and reports
#   libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0 : WeasyPrint (PDF reports and programs)
#   postgresql           : the PostgreSQL server the web-app tests start on loopback (DATABASE_URL)
#   chromium             : browser tests (Playwright drives Debian's build, which plays H.264)
set -euo pipefail
pkgs=(libgl1 libglib2.0-0 fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
      postgresql chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi
echo "Installing Debian packages: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
