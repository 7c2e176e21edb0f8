#!/usr/bin/env bash
# Debian packages parley uses, in two sets; installs only what is missing (with sudo when not root).
#   run    what running and testing need: a C/C++ toolchain and ALSA headers (to build the
#          `speaker` and `@discordjs/opus` addons), libpulse-dev and pkg-config (parley's own
#          PulseAudio binding, binding.gyp), arecord/aplay and sox with its ALSA driver
#          (microphone and speaker backends), PulseAudio, its tools and its ALSA plugin (the
#          pulse call tests run a private daemon), tmux (terminal tests), coturn (the external TURN relay
#          the NAT tests call through), jemalloc (the
#          server's allocator: bin/server-env.sh), libspeexdsp-dev and
#          libwebrtc-audio-processing-dev (the voice-processing binding, binding.gyp)
#   bench  what bench/device-latency.ts needs: PulseAudio, its tools and its ALSA plugin (a device
#          that keeps real time on machines without a sound card), and arecord/aplay; baresip
#          (bench/client-cpu.ts calls between two baresip instances for comparison), and gcc and
#          libopus-dev (its native loop: the same per-frame work in C, bench/native-loop.c)
set -euo pipefail
case "${1:-}" in
  run) packages=(g++ make python3 pkg-config libasound2-dev libpulse-dev alsa-utils sox libsox-fmt-alsa pulseaudio pulseaudio-utils libasound2-plugins tmux libjemalloc2 iproute2 nftables conntrack coturn libspeexdsp-dev libwebrtc-audio-processing-dev) ;;
  bench) packages=(pulseaudio pulseaudio-utils libasound2-plugins alsa-utils baresip-core gcc libopus-dev) ;;
  *) echo "usage: $0 run|bench" >&2; exit 2 ;;
esac
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
