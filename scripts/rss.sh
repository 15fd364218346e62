#!/usr/bin/env bash
# Steady RSS of the agent while it records at full speed: replays the real
# Kona logs in a loop (--speed max) for DURATION seconds (default 60) and
# samples VmRSS every 5 s. Usage: scripts/rss.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-60}"
make -s build
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
logs=../shared/data/canlogs
./bin/evedge run --view off --data "$data" --for "${dur}s" --speed max --loop 0 \
  --dbc ../shared/data/dbc/hyundai-kona-ev-pcan.dbc --map board/vehicles/hyundai-kona-ev.toml \
  --replay "$logs/kona-bms-precharge-relay-on.asc" --replay "$logs/kona-2020-comp-can-heating.gvret.csv" \
  2> "$data/agent.log" &
pid=$!
echo "t_s rss_kib"
for ((t = 5; t <= dur; t += 5)); do
  sleep 5
  kill -0 "$pid" 2>/dev/null || break
  echo "$t $(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
done
wait "$pid" || true
grep -E "msg=(stopped|store)" "$data/agent.log" || tail -5 "$data/agent.log"
