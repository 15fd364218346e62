#!/bin/sh
# Evaluates evedge voice build's adaptation on a context of another
# domain: builds agent/voice/asr/testdata/coffee.en.yaml with and without
# adapting the acoustic model, then scores each folder's model on 100
# coffee orders per synthesiser (held-out espeak-ng variants, flite,
# festival's ked_diphone and kal_diphone), clean, at 5 dB cabin noise and
# in the speech-to-intent benchmark's café and kitchen conditions, and on
# the FSDD speakers held out of training (lucas, yweweler). About 12 min
# on 2 cores. Extra arguments go to voice build (e.g. --real DIR, --mix 1).
set -eu
cd "$(dirname "$0")/../.."
FSDD=${FSDD:-../shared/data/speech/fsdd/recordings}
out=${OUT:-/tmp/evedge-adapt-eval}
mkdir -p "$out"
go build -o "$out/evedge" ./agent/cmd/evedge
go build -o "$out/asrtrain" ./agent/voice/asr/cmd/asrtrain
for mode in shipped adapted; do
  flag=--adapt=true
  [ "$mode" = shipped ] && flag=--adapt=false
  "$out/evedge" voice build "$flag" --context agent/voice/asr/testdata/coffee.en.yaml --out "$out/$mode" "$@"
  echo "== $mode"
  "$out/asrtrain" -mode eval -model "$out/$mode" -n 0 -langs en -work "$out/work" \
    -other agent/voice/asr/testdata/coffee.en.yaml -other-n 100 -fsdd "$FSDD" -fsdd-speakers lucas,yweweler 2>/dev/null | grep '^|'
done
