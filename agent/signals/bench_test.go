package signals

import (
	"math/rand"
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

// konaFrames returns frames for every message of the Kona DBC that carries
// signals, with seeded random payloads: the mix a P-CAN tap sees.
func konaFrames(b *testing.B) (*Database, []can.Frame) {
	db, err := Load(needShared(b, "dbc/hyundai-kona-ev-pcan.dbc"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := LoadMap("../../board/vehicles/hyundai-kona-ev.toml")
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Apply(m); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	var frames []can.Frame
	for i := 0; i < 4096; i++ {
		msg := db.Messages[rng.Intn(len(db.Messages))]
		f := msg.NewFrame()
		rng.Read(f.Data[:f.Len])
		frames = append(frames, f)
	}
	return db, frames
}

// BenchmarkDecodeKona measures frames/s from frame to physical values
// (lookup + decode of every signal) and into the last-known-value table.
func BenchmarkDecodeKona(b *testing.B) {
	db, frames := konaFrames(b)
	lkv := NewTable(db)
	out := make([]Value, 0, 64)
	values := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := &frames[i&4095]
		m := db.Lookup(f)
		if m == nil {
			continue
		}
		out = m.Decode(f, out[:0])
		lkv.Update(out, f.Time)
		values += len(out)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(values)/float64(b.N), "values/frame")
}

// BenchmarkDecodeTesla is the same on the larger, multiplexed Tesla DBC.
func BenchmarkDecodeTesla(b *testing.B) {
	db, err := Load(needShared(b, "dbc/tesla-model3.dbc"))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	frames := make([]can.Frame, 4096)
	for i := range frames {
		msg := db.Messages[rng.Intn(len(db.Messages))]
		frames[i] = msg.NewFrame()
		rng.Read(frames[i].Data[:frames[i].Len])
	}
	lkv := NewTable(db)
	out := make([]Value, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := &frames[i&4095]
		if m := db.Lookup(f); m != nil {
			out = m.Decode(f, out[:0])
			lkv.Update(out, f.Time)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
