package audio

import (
	"errors"
	"fmt"
)

// Format is the shape of interleaved PCM: frames per second and samples per
// frame.
type Format struct {
	SampleRate int // frames per second
	Channels   int // samples per frame
}

// Validate reports a format that cannot describe audio.
func (f Format) Validate() error {
	if f.SampleRate <= 0 {
		return fmt.Errorf("audio: invalid sample rate %d", f.SampleRate)
	}
	if f.Channels <= 0 {
		return fmt.Errorf("audio: invalid channel count %d", f.Channels)
	}
	return nil
}

// Buffer is a block of interleaved float32 samples in [-1, 1].
type Buffer struct {
	Format
	Data []float32 // len(Data) is a multiple of Channels
}

// Frames is the number of sample frames (samples per channel).
func (b Buffer) Frames() int {
	if b.Channels <= 0 {
		return 0
	}
	return len(b.Data) / b.Channels
}

// Seconds is the buffer's duration.
func (b Buffer) Seconds() float64 {
	if b.SampleRate <= 0 {
		return 0
	}
	return float64(b.Frames()) / float64(b.SampleRate)
}

// Channel appends channel c of b to dst and returns it.
func (b Buffer) Channel(dst []float32, c int) []float32 {
	n := b.Frames()
	for i := 0; i < n; i++ {
		dst = append(dst, b.Data[i*b.Channels+c])
	}
	return dst
}

// Mono appends the average of all channels of b to dst and returns it.
func (b Buffer) Mono(dst []float32) []float32 {
	if b.Channels == 1 {
		return append(dst, b.Data...)
	}
	n := b.Frames()
	inv := 1 / float32(b.Channels)
	for i := 0; i < n; i++ {
		var s float32
		for _, v := range b.Data[i*b.Channels : (i+1)*b.Channels] {
			s += v
		}
		dst = append(dst, s*inv)
	}
	return dst
}

// Int16ToFloat32 converts src to floats in [-1, 1) and appends them to dst.
func Int16ToFloat32(dst []float32, src []int16) []float32 {
	for _, v := range src {
		dst = append(dst, float32(v)*(1.0/32768))
	}
	return dst
}

// Float32ToInt16 converts src to int16 with rounding and clipping and
// appends it to dst.
func Float32ToInt16(dst []int16, src []float32) []int16 {
	for _, v := range src {
		dst = append(dst, Int16Of(v))
	}
	return dst
}

// Int16Of converts one sample in [-1, 1] to int16, rounding to nearest
// and clipping.
func Int16Of(v float32) int16 {
	x := v * 32768
	switch {
	case x >= 32767:
		return 32767
	case x <= -32768:
		return -32768
	case x >= 0:
		return int16(x + 0.5)
	default:
		return int16(x - 0.5)
	}
}

// Segment is a span of samples [Start, End) counted from the start of a
// stream.
type Segment struct {
	Start, End int64
}

// Len is the number of samples in the segment.
func (s Segment) Len() int64 { return s.End - s.Start }

// Source is a stream of PCM in the scanner shape used for every evedge
// source: Receive blocks for the next chunk and returns false at the end or
// on error; Samples is valid until the next Receive; Err says why it ended
// (nil at a clean end of stream).
type Source interface {
	Format() Format
	Receive() bool
	Samples() []float32
	Err() error
}

// ErrNoDevice is returned by capture and playback when there is no audio
// hardware; callers degrade and tests skip.
var ErrNoDevice = errors.New("audio: no audio device")

// BufferSource replays a Buffer as a Source in fixed chunks. It is the fake
// that stands in for a microphone in tests.
type BufferSource struct {
	buf   Buffer
	chunk int // samples per chunk (frames * channels)
	pos   int
	cur   []float32
}

// NewBufferSource replays b in chunks of chunkFrames frames (the last may be
// shorter). chunkFrames < 1 means 10 ms.
func NewBufferSource(b Buffer, chunkFrames int) *BufferSource {
	if chunkFrames < 1 {
		chunkFrames = max(1, b.SampleRate/100)
	}
	return &BufferSource{buf: b, chunk: chunkFrames * max(1, b.Channels)}
}

// Format implements Source.
func (s *BufferSource) Format() Format { return s.buf.Format }

// Receive implements Source.
func (s *BufferSource) Receive() bool {
	if s.pos >= len(s.buf.Data) {
		s.cur = nil
		return false
	}
	end := min(len(s.buf.Data), s.pos+s.chunk)
	s.cur = s.buf.Data[s.pos:end]
	s.pos = end
	return true
}

// Samples implements Source.
func (s *BufferSource) Samples() []float32 { return s.cur }

// Err implements Source; a buffer never fails.
func (s *BufferSource) Err() error { return nil }

// ReadAll drains src into one Buffer.
func ReadAll(src Source) (Buffer, error) {
	b := Buffer{Format: src.Format()}
	for src.Receive() {
		b.Data = append(b.Data, src.Samples()...)
	}
	return b, src.Err()
}
