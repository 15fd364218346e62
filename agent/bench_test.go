package agent

import (
	"context"
	"math/rand"
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

// sliceSource replays frames from memory.
type sliceSource struct {
	frames []can.Frame
	i, n   int
}

func (s *sliceSource) Receive() bool {
	if s.i >= s.n {
		return false
	}
	s.i++
	return true
}
func (s *sliceSource) Frame() can.Frame { return s.frames[s.i&(len(s.frames)-1)] }
func (s *sliceSource) Err() error       { return nil }

// BenchmarkPipelineKona measures the whole agent path per frame: source
// goroutine -> channel -> decode stage (lookup, decode, last-known values,
// counters) on the Kona DBC, with Kona messages carrying random payloads.
func BenchmarkPipelineKona(b *testing.B) {
	db := konaDB(b)
	rng := rand.New(rand.NewSource(5))
	frames := make([]can.Frame, 4096)
	for i := range frames {
		m := db.Messages[rng.Intn(len(db.Messages))]
		frames[i] = m.NewFrame()
		rng.Read(frames[i].Data[:frames[i].Len])
	}
	a, _ := New(Options{DB: db})
	a.Add(Source{Name: "mem", Src: &sliceSource{frames: frames, n: b.N}})
	b.ReportAllocs()
	b.ResetTimer()
	if err := a.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
