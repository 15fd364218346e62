#!/bin/sh
# The espeak-only acoustic model (no real speech): the bootstrap that
# scripts/voice/train.sh's first round aligns the real recordings with.
set -eu
cd "$(dirname "$0")/../.."
go run ./agent/voice/asr/cmd/asrtrain -mode train -car 600 -num 250 -copies 2 -hidden 192 -epochs 8 -frames 400000 -out "${1:-/tmp/asrtrain-espeak}"
