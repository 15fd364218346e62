#!/usr/bin/env bash
# After `make cross`: the ARM builds must behave exactly like the x86-64 one.
# Decodes a real Kona log with the three binaries (ARM under qemu-user) and
# compares the outputs byte for byte; checks the stripped arm64 binary
# against the 25 MB budget.
set -euo pipefail
BIN=${BIN:-bin}
QEMU_ARM64=${QEMU_ARM64:-qemu-aarch64 -L /usr/aarch64-linux-gnu}
QEMU_ARM=${QEMU_ARM:-qemu-arm -L /usr/arm-linux-gnueabihf}
data=../shared/data
log=$data/canlogs/kona-bms-precharge-relay-on.asc
dbc=$data/dbc/hyundai-kona-ev-pcan.dbc
map=board/vehicles/hyundai-kona-ev.toml

size=$(stat -c %s "$BIN/evedge-linux-arm64")
echo "cross: stripped arm64 binary $size bytes (budget 25000000)"
if [ "$size" -gt 25000000 ]; then
  echo "cross: arm64 binary over the 25 MB budget" >&2
  exit 1
fi
if [ ! -f "$log" ] || [ ! -f "$dbc" ]; then
  if [ -n "${EVEDGE_REQUIRE_SHARED:-}" ]; then
    echo "cross: real data $log missing" >&2
    exit 1
  fi
  echo "cross: real data missing, decode comparison skipped"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(decode --dbc "$dbc" --map "$map" "$log")
"$BIN/evedge" "${args[@]}" > "$tmp/x86-64.jsonl"
$QEMU_ARM64 "$BIN/evedge-linux-arm64" "${args[@]}" > "$tmp/arm64.jsonl"
$QEMU_ARM "$BIN/evedge-linux-armv7" "${args[@]}" > "$tmp/armv7.jsonl"
lines=$(wc -l < "$tmp/x86-64.jsonl")
if [ "$lines" -lt 100 ]; then
  echo "cross: x86-64 decode gave only $lines lines" >&2
  exit 1
fi
for a in arm64 armv7; do
  if ! cmp -s "$tmp/x86-64.jsonl" "$tmp/$a.jsonl"; then
    echo "cross: $a decode differs from x86-64:" >&2
    diff "$tmp/x86-64.jsonl" "$tmp/$a.jsonl" | head -5 >&2
    exit 1
  fi
done
echo "cross: decode of $(basename "$log") identical on x86-64, arm64 and armv7 ($lines lines, sha256 $(sha256sum < "$tmp/x86-64.jsonl" | cut -c1-16))"
