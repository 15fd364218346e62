// Package voicemodel embeds the cabin voice assistant's acoustic model: an
// int8 MLP (int8nn format, am.evnn) that classifies 10 ms frames into the
// 43 phoneme classes of agent/voice/asr from ±5 stacked log-mel frames, and
// its meta (am.json: classes, log priors, decoder settings, how it was
// trained). It is shared by every language and context.
//
// Retrain with scripts/voice/train.sh (see am.json "trained" for the exact
// command and data).
package voicemodel

import _ "embed"

// AM is the int8nn model file.
//
//go:embed am.evnn
var AM []byte

// Meta is the model's JSON meta (asr.Meta).
//
//go:embed am.json
var Meta []byte
