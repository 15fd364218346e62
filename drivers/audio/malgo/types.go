package malgo

import (
	"errors"
	"fmt"

	"github.com/evedge/evedge/drivers/audio"
)

// ErrNoCgo is returned by every function of a build without cgo.
var ErrNoCgo = errors.New("audio/malgo: built without cgo (CGO_ENABLED=0): no audio capture or playback")

// Backend picks miniaudio's backend.
type Backend int

const (
	// BackendAuto tries the platform's real backends (PulseAudio, ALSA,
	// JACK on Linux) and never falls back to the null device.
	BackendAuto Backend = iota
	BackendALSA
	BackendPulseAudio
	// BackendNull is a fake device: capture yields silence and playback
	// discards, both at real-time pace. For tests.
	BackendNull
)

func (b Backend) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendALSA:
		return "alsa"
	case BackendPulseAudio:
		return "pulseaudio"
	case BackendNull:
		return "null"
	}
	return fmt.Sprintf("backend(%d)", int(b))
}

// SampleFormat is the sample type exchanged with the device.
type SampleFormat int

const (
	Float32 SampleFormat = iota // the default
	Int16
)

// Config opens a device.
type Config struct {
	Backend    Backend
	Device     string // an ID from Devices; "" is the default device
	SampleRate int    // Hz; 16000 if 0
	Channels   int    // 1 if 0
	Format     SampleFormat
	// PeriodMs is the callback period; 10 ms if 0.
	PeriodMs int
	// Buffer is how many periods may queue between the device and the
	// reader (capture) or the writer and the device (playback); 50 if 0.
	Buffer int
}

func (c Config) withDefaults() (Config, error) {
	if c.SampleRate == 0 {
		c.SampleRate = 16000
	}
	if c.Channels == 0 {
		c.Channels = 1
	}
	if c.PeriodMs == 0 {
		c.PeriodMs = 10
	}
	if c.Buffer == 0 {
		c.Buffer = 50
	}
	switch {
	case c.SampleRate < 1000 || c.SampleRate > 384000:
		return c, fmt.Errorf("audio/malgo: invalid 'SampleRate' %d", c.SampleRate)
	case c.Channels < 1 || c.Channels > 32:
		return c, fmt.Errorf("audio/malgo: invalid 'Channels' %d", c.Channels)
	case c.PeriodMs < 1 || c.PeriodMs > 1000:
		return c, fmt.Errorf("audio/malgo: invalid 'PeriodMs' %d", c.PeriodMs)
	case c.Buffer < 1:
		return c, fmt.Errorf("audio/malgo: invalid 'Buffer' %d", c.Buffer)
	case c.Format != Float32 && c.Format != Int16:
		return c, fmt.Errorf("audio/malgo: invalid 'Format' %d", c.Format)
	case c.Backend < BackendAuto || c.Backend > BackendNull:
		return c, fmt.Errorf("audio/malgo: invalid 'Backend' %d", c.Backend)
	}
	return c, nil
}

// Format is the audio.Format the config asks for.
func (c Config) audioFormat() audio.Format {
	return audio.Format{SampleRate: c.SampleRate, Channels: c.Channels}
}

// DeviceInfo describes a device.
type DeviceInfo struct {
	ID      string // pass as Config.Device
	Name    string
	Default bool
}

// Kind is a device direction.
type Kind int

const (
	CaptureDevice Kind = iota
	PlaybackDevice
)
