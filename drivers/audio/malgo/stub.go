//go:build !cgo

package malgo

import (
	"context"

	"github.com/evedge/evedge/drivers/audio"
)

// Devices returns ErrNoCgo.
func Devices(Backend, Kind) ([]DeviceInfo, error) { return nil, ErrNoCgo }

// Capture is not available without cgo.
type Capture struct{}

// OpenCapture returns ErrNoCgo.
func OpenCapture(Config) (*Capture, error) { return nil, ErrNoCgo }

func (*Capture) Format() audio.Format { return audio.Format{} }
func (*Capture) Receive() bool        { return false }
func (*Capture) Samples() []float32   { return nil }
func (*Capture) Int16() []int16       { return nil }
func (*Capture) Dropped() int64       { return 0 }
func (*Capture) Err() error           { return ErrNoCgo }
func (*Capture) Close() error         { return nil }

// Playback is not available without cgo.
type Playback struct{}

// OpenPlayback returns ErrNoCgo.
func OpenPlayback(Config) (*Playback, error) { return nil, ErrNoCgo }

func (*Playback) Format() audio.Format                  { return audio.Format{} }
func (*Playback) Write([]float32) (int, error)          { return 0, ErrNoCgo }
func (*Playback) Play(context.Context, []float32) error { return ErrNoCgo }
func (*Playback) Drain(context.Context) error           { return ErrNoCgo }
func (*Playback) Underruns() int64                      { return 0 }
func (*Playback) Close() error                          { return nil }
