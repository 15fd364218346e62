// Package audio is the pure-Go half of the cabin voice assistant's front end:
// it turns PCM from a microphone array or a WAV file into 16 kHz mono speech
// segments and log-mel feature frames for the acoustic model.
//
// The pieces, in pipeline order:
//
//   - [Source] is the scanner-shaped interface every capture implements
//     (the cgo one lives in drivers/audio/malgo, [BufferSource] is the fake);
//   - [DecodeWAV] / [EncodeWAV] read any common RIFF/WAVE PCM or float file
//     and write PCM16, for tests and tools;
//   - [Resampler] converts 8, 11.025, 22.05, 44.1 or 48 kHz (or any other
//     rate) to 16 kHz with a polyphase Kaiser-windowed sinc filter;
//   - [LogMel] computes 40 log mel-band energies per 10 ms from a 25 ms Hann
//     window and a 512-point FFT, streaming and allocation-free per frame;
//   - [VAD] finds speech segments from the same mel bands, against an
//     adaptive per-band noise floor;
//   - [PickZone] says which cabin zone spoke, from per-channel energy.
//
// Samples are float32 in [-1, 1], interleaved when there are several
// channels. Nothing here needs cgo, opens a device or logs; errors are
// returned.
package audio
