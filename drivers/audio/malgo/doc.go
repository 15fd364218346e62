// Package malgo captures and plays audio through miniaudio
// (github.com/gen2brain/malgo), the only cgo in the audio stack: the rest of
// drivers/audio is pure Go and builds without it.
//
// Capture delivers interleaved samples at the requested rate and channel
// count in the scanner shape of audio.Source (miniaudio converts from the
// device's native format); Playback queues samples for a device. Missing
// hardware is audio.ErrNoDevice, so the agent degrades and tests skip.
// BackendNull (miniaudio's null device: silence at real-time pace) lets
// tests run both on machines without sound hardware.
//
// Built with CGO_ENABLED=0 the package compiles to stubs that return
// ErrNoCgo.
package malgo
