#!/usr/bin/env bash
# Installs, through apt, what the test suites need when it is missing:
# cross compilers and qemu-user for the ARM builds and tests, and
# qemu-system + busybox + cpio for the SocketCAN VM test, and the
# mosquitto broker (and its command-line clients) for the uplink tests,
# Chromium with CJK fonts for the report tests, espeak-ng, festival and
# flite for the voice tests, and systemd (for
# systemd-analyze) for the package test.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have aarch64-linux-gnu-gcc || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
have arm-linux-gnueabihf-gcc || need+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
have qemu-aarch64 || need+=(qemu-user)
have qemu-arm || need+=(qemu-user)
have qemu-system-x86_64 || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
have cpio || need+=(cpio)
have mosquitto || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
have mosquitto_sub || need+=(mosquitto-clients)
# The service report is rendered in headless Chromium by its tests, with
# CJK fonts for the Chinese report.
have chromium || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
# Synthetic speech for the voice tests.
have espeak-ng || need+=(espeak-ng)
# A second synthesiser with a speaker the acoustic model never heard
# (festival's ked_diphone), for the other-domain voice test.
have text2wave || need+=(festival)
[ -d /usr/share/festival/voices/english/ked_diphone ] || need+=(festvox-kdlpc16k)
# flite's voices: the acoustic model's training tool reads their phones.
have flite || need+=(flite)
# systemd-analyze verifies the service unit (make test-package); the
# package only provides the tool here, nothing starts.
have systemd-analyze || need+=(systemd)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
# de-duplicate
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "deps: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
