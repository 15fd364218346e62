package main

import (
	"context"
	"math/rand"
	"testing"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/drivers/can"
)

// memSource replays frames from memory, n in all.
type memSource struct {
	frames []can.Frame
	i, n   int
}

func (s *memSource) Receive() bool {
	if s.i >= s.n {
		return false
	}
	s.i++
	return true
}
func (s *memSource) Frame() can.Frame { return s.frames[s.i&(len(s.frames)-1)] }
func (s *memSource) Err() error       { return nil }

// BenchmarkPipelineWatchdog measures the agent's per-frame path on the sim
// car's DBC as `evedge run` sets it up without a watchdog (plain) and with
// one (counted: each source wrapped in a countedSource).
func BenchmarkPipelineWatchdog(b *testing.B) {
	db, _, err := sim.LoadDBC("../../../board/sim/sim-ev.dbc")
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(5))
	frames := make([]can.Frame, 4096)
	for i := range frames {
		m := db.Messages[rng.Intn(len(db.Messages))]
		frames[i] = m.NewFrame()
		rng.Read(frames[i].Data[:frames[i].Len])
	}
	for _, counted := range []bool{false, true} {
		name := "plain"
		if counted {
			name = "counted"
		}
		b.Run(name, func(b *testing.B) {
			a, _ := agent.New(agent.Options{DB: db})
			var src can.Source = &memSource{frames: frames, n: b.N}
			if counted {
				src = &countedSource{Source: src}
			}
			a.Add(agent.Source{Name: "mem", Src: src})
			b.ReportAllocs()
			b.ResetTimer()
			if err := a.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}
