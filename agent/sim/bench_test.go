package sim

import (
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// BenchmarkStepFrames measures one Tick of physics plus the frames due in
// it (about 37 per 100 ms), reported as simulated seconds per real second.
func BenchmarkStepFrames(b *testing.B) {
	s := newSim(b, nil)
	tick := s.Config().Tick
	buf := make([]can.Frame, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Step(tick)
		buf = s.Frames(s.Now().UnixNano(), buf[:0])
	}
	b.ReportMetric(float64(b.N)*tick.Seconds()/b.Elapsed().Seconds(), "sim-s/s")
}

// BenchmarkStep measures the physics alone.
func BenchmarkStep(b *testing.B) {
	s := newSim(b, nil)
	tick := s.Config().Tick
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Step(tick)
	}
	b.ReportMetric(float64(b.N)*tick.Seconds()/b.Elapsed().Seconds(), "sim-s/s")
}

// BenchmarkHourOfDriving steps an hour of the default scenario.
func BenchmarkHourOfDriving(b *testing.B) {
	for b.Loop() {
		s := newSim(b, nil)
		s.Step(time.Hour)
	}
}
