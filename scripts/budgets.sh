#!/usr/bin/env bash
# Measures the head-unit budgets of issue 9 on this machine with everything
# on under the sim board (rules and fault model, store, service API with TLS,
# MQTT uplink to a local Mosquitto when one is installed, and the voice
# loop listening to a recording of commands when espeak-ng is installed):
#   - start to first stored frame (goal <= 1 s),
#   - steady RSS (goal <= 60 MB), sampled after a warm-up.
# Usage: scripts/budgets.sh [SECONDS] (default 60); needs bin/evedge.
set -euo pipefail
secs=${1:-60}
ev=${EV:-bin/evedge}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
"$ev" certs dev --out "$tmp/tls" >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api=127.0.0.1:$(port)
args=(run --view off --data "$tmp/data" --service "$api" --tls-dir "$tmp/tls" --for "${secs}s")
mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
if [ -x "$mosq" ]; then
  mp=$(port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mp" > "$tmp/mosq.conf"
  "$mosq" -c "$tmp/mosq.conf" >/dev/null 2>&1 &
  pids+=($!)
  args+=(--mqtt "tcp://127.0.0.1:$mp")
  sleep 0.3
fi
if command -v espeak-ng >/dev/null; then
  # A cabin recording as long as the run: a command every 6 s, in real time.
  i=0
  for t in "what is my range" "open the rear left window" "close the rear left window" "what is the cabin temperature" "any faults"; do
    espeak-ng -v en-us+f3 -s 150 -w "$tmp/v$i.wav" "$t"; i=$((i + 1))
  done
  python3 - "$tmp" "$secs" <<'PY'
import sys, wave
d, secs = sys.argv[1], int(sys.argv[2])
parts = []
for i in range(5):
    with wave.open(f"{d}/v{i}.wav") as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    parts.append(frames)
out, k = bytearray(), 0
while len(out) < secs * rate * 2:
    p = parts[k % 5]; k += 1
    out += p + bytes(max(0, 6 * rate * 2 - len(p)))
with wave.open(f"{d}/voice.wav", "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(bytes(out))
PY
  args+=(--voice-wav "$tmp/voice.wav" --voice-trigger always)
  # The recogniser as a second boot finds it (the first boot builds it,
  # once, beside the running agent).
  "$ev" voice build --adapt=false --context agent/voice/contexts/car.en.yaml --out "$tmp/data/voice/en" >/dev/null
fi
start=$(date +%s.%N)
"$ev" "${args[@]}" > "$tmp/agent.log" 2>&1 &
agent=$!
pids+=($agent)
first=""
for _ in $(seq 1 200); do
  if [ -f "$tmp/data/evedge.db" ] && [ "$("$ev" logs export --data "$tmp/data" --from -1h -o - 2>/dev/null | head -1 | wc -l)" -gt 0 ]; then
    first=$(echo "$(date +%s.%N) - $start" | bc)
    break
  fi
  sleep 0.02
done
echo "start to first stored frame: ${first:-never} s (goal 1 s; includes the poll's own start)"
warm=$((secs / 3))
sleep "$warm"
max=0
for _ in $(seq 1 $((secs - warm - 5))); do
  r=$(awk '/VmRSS/ {print $2}' /proc/$agent/status 2>/dev/null || echo 0)
  [ "$r" -gt "$max" ] && max=$r
  sleep 1
done
echo "steady RSS (max after ${warm} s): $((max / 1024)) MiB (goal 60 MB)"
grep -E 'msg="(fault model on|service API|uplink|voice: listening)"' "$tmp/agent.log" | sed 's/^time=[^ ]* //' | head -4
echo "voice turns: $(grep -c 'msg=voice ' "$tmp/agent.log" || true) ($(grep -c 'msg=voice understood=true' "$tmp/agent.log" || true) understood)"
