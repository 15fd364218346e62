#!/bin/sh
# Evaluates models/voice: held-out synthetic voices of the car context in
# every language (clean and 5 dB cabin noise, foreign speech as false
# activations) and real speech: FSDD digits of lucas and yweweler, the two
# speakers held out of training (the other four trained the model), and
# a context of another domain (coffee orders) read by held-out espeak-ng
# variants, flite and festival voices (apt install flite festival
# festvox-kdlpc16k festvox-kallpc16k).
set -eu
cd "$(dirname "$0")/../.."
FSDD=${FSDD:-../shared/data/speech/fsdd/recordings}
go run ./agent/voice/asr/cmd/asrtrain -mode eval -model models/voice -n 60 -other agent/voice/asr/testdata/coffee.en.yaml -fsdd "$FSDD" -fsdd-speakers "${FSDD_SPEAKERS:-lucas,yweweler}" "$@"
