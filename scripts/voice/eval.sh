#!/bin/sh
# Evaluates models/voice: held-out synthetic voices of the car context in
# every language (clean and 5 dB cabin noise, foreign speech as false
# activations) and real speech: FSDD digits of lucas and yweweler, the two
# speakers held out of training (the other four trained the model).
set -eu
cd "$(dirname "$0")/../.."
FSDD=${FSDD:-../shared/data/speech/fsdd/recordings}
go run ./agent/voice/asr/cmd/asrtrain -mode eval -model models/voice -n 60 -fsdd "$FSDD" -fsdd-speakers "${FSDD_SPEAKERS:-lucas,yweweler}" "$@"
