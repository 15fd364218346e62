#!/usr/bin/env bash
# Generate the indepsim scenarios, run `evedge diagnose` on each log and print
# the results table.  Usage: scripts/indepsim/run.sh [OUTDIR]   (default /tmp/indepsim)
# Env: JOBS (parallel generators / diagnose runs, default 2), SCALE (phase
# durations, default 1; e.g. 0.2 for a quick smoke run), ONLY (comma list),
# SEED_OFFSET=N adds N to every seed (unseen draws of the same scenarios);
# FEATURES=1 also replays each log through `evedge run` to collect the model's
# feature z-scores (slower). VARIANT=fine_temp,no_hvac: diagnostic variants (see indepsim.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-/tmp/indepsim}
jobs=${JOBS:-2}
scale=${SCALE:-1}
mkdir -p "$out"
cd "$root"
echo "building evedge ..." >&2
go build -o "$out/evedge" ./agent/cmd/evedge
t0=$(date +%s)
python3 "$here/indepsim.py" gen --out "$out/data" --jobs "$jobs" --scale "$scale" ${ONLY:+--only "$ONLY"} ${VARIANT:+--variant "$VARIANT"} ${SEED_OFFSET:+--seed-offset "$SEED_OFFSET"}
t1=$(date +%s)
rm -rf "$out/data/results"
mkdir -p "$out/data/results"
names=$(python3 "$here/indepsim.py" list)
if [ -n "${ONLY:-}" ]; then names=$(echo "$ONLY" | tr ',' ' '); fi
cd "$out/data"
for n in $names; do echo "$n"; done | xargs -P "$jobs" -I{} sh -c \
  '../evedge diagnose --dbc indepsim.dbc --map indepsim.toml logs/{}.log > results/{}.jsonl 2> results/{}.err || echo "diagnose failed: {} rc=$?" >> results/{}.err'
t2=$(date +%s)
if [ "${FEATURES:-0}" = 1 ]; then
  for n in $names; do
    rm -rf "rd/$n"; mkdir -p rd
    ../evedge run --dbc indepsim.dbc --map indepsim.toml --replay "logs/$n.log" --speed max --view off --data "rd/$n" \
      > "results/$n.run.out" 2> "results/$n.run.err" || echo "evedge run --replay failed on $n (rc $?): see results/$n.run.err" >&2
    python3 "$here/indepsim.py" features --db "rd/$n/evedge.db" > "results/$n.features.txt" || echo "features of $n failed (rc $?)" >&2
    rm -rf "rd/$n"
  done
fi
echo "generation $((t1 - t0)) s, diagnose $((t2 - t1)) s, logs $(du -sh logs | cut -f1)" >&2
for n in $names; do
  if grep -v ': [0-9]* alarms and detections$' "results/$n.err" | grep -q .; then
    echo "--- stderr of diagnose $n:"; grep -v ': [0-9]* alarms and detections$' "results/$n.err"
  fi
done
python3 "$here/indepsim.py" report --out "$out/data" ${VERBOSE:+-v}
