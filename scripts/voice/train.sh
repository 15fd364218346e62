#!/bin/sh
# Retrains the cabin assistant's acoustic model into models/voice (about
# 12 minutes on 2 cores) and evaluates it. Needs espeak-ng and
# /usr/bin/python3 (standard library only: ctypes on libespeak-ng.so.1).
set -eu
cd "$(dirname "$0")/../.."
go run ./agent/voice/asr/cmd/asrtrain -mode train -car 600 -num 250 -copies 2 -hidden 192 -epochs 8 -frames 400000 -out models/voice "$@"
