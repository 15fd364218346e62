package assistant

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/drivers/audio"
)

// loopSource yields the same 10 ms of cabin noise n times.
type loopSource struct {
	f     audio.Format
	chunk []float32
	n     int
}

func (s *loopSource) Format() audio.Format { return s.f }
func (s *loopSource) Receive() bool        { s.n--; return s.n >= 0 }
func (s *loopSource) Samples() []float32   { return s.chunk }
func (s *loopSource) Err() error           { return nil }

// BenchmarkLoop10ms is the loop's steady state per 10 ms of two-channel
// 48 kHz capture without speech: mix, resample to 16 kHz, rings, VAD.
// It must not allocate.
func BenchmarkLoop10ms(b *testing.B) {
	const rate, ch = 48000, 2
	r := rand.New(rand.NewPCG(3, 4))
	chunk := make([]float32, rate/100*ch)
	for i := range chunk {
		chunk[i] = float32(r.NormFloat64() * 0.003)
	}
	a, err := New(Config{Zones: []audio.Zone{audio.ZoneDriver, audio.ZonePassenger}}, fixed{asr.Result{}}, &recorder{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	// Warm up the buffers, then measure b.N chunks.
	if err := a.Run(context.Background(), &loopSource{f: audio.Format{SampleRate: rate, Channels: ch}, chunk: chunk, n: 100}); err != nil {
		b.Fatal(err)
	}
	src := &loopSource{f: audio.Format{SampleRate: rate, Channels: ch}, chunk: chunk, n: b.N}
	b.ReportAllocs()
	b.ResetTimer()
	if err := a.Run(context.Background(), src); err != nil {
		b.Fatal(err)
	}
}
