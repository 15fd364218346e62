// Package asr is the speech recogniser of the cabin voice assistant: a
// phoneme-class acoustic model shared by all languages (an int8 MLP over
// stacked log-mel frames, see models/voice) and a Viterbi decoder
// constrained by the active context's word graph, so that a new context
// needs no training, only pronunciations.
//
// Build (Prepare) turns a context into a phone network: every word of the
// context is pronounced by espeak-ng at build time (--ipa, one IPA token per
// phoneme), each IPA phoneme is mapped onto the model's small universal class
// set (Classes), and every word arc of the intent graph becomes a chain of
// minimum-duration states. Optional silence may surround every word.
//
// Recognize runs the model on a 16 kHz utterance (log-mel, per-utterance
// mean removal, ±Context frames stacked), turns posteriors into scaled
// likelihoods (posterior / prior^PriorWeight), and finds the best path
// through the network. Its score is compared with an unconstrained phone
// loop's: speech the context cannot explain scores far below the loop and
// is rejected (Understood false). The winning path's slot outputs and final
// node give the intent and slots, exactly as intent.Match would.
package asr
