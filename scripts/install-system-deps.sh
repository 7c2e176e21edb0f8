#!/usr/bin/env bash
# Debian packages parley uses: ALSA headers (to build the `speaker` addon), arecord and sox
# (microphone), tmux (terminal tests), PulseAudio and its ALSA plugin (bench/device-latency.ts:
# a device that keeps real time on machines without a sound card). Installs only what is missing.
set -euo pipefail
packages=(libasound2-dev alsa-utils sox tmux pulseaudio libasound2-plugins pulseaudio-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "please install: ${missing[*]} (no apt-get here)" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
