#!/usr/bin/env bash
# Install the Debian packages medius needs, only those missing (no-op when all are present).
#   libgl1, libglib2.0-0 : OpenCV (opencv-contrib-python, pulled in by mediapipe) links them
#   fonts-dejavu-core    : a font for the plots and reports
#   chromium             : only with --browser (browser tests and screenshots; Debian's build plays H.264)
set -euo pipefail
pkgs=(libgl1 libglib2.0-0 fonts-dejavu-core)
if [[ "${1:-}" == "--browser" ]]; then pkgs+=(chromium); fi
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
