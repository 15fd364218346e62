package diag

import (
	"math"
	"testing"
	"time"
)

// packBus is a pack of 96 cells at 3.8 V whose pack voltage sensor reads
// gain×(96×cells) (drift: gain-1 from `from` until `to`), at current amps.
type packBus struct {
	drift    float64
	from, to int // s
	current  float64
}

func (p *packBus) read(s int) Read {
	return func(path string) (float64, bool) {
		switch path {
		case ModelInputPaths[InPackV]:
			v := 96 * 3.8
			if s >= p.from && s < p.to {
				v *= 1 + p.drift
			}
			return v, true
		case ModelInputPaths[InCellAvg]:
			return 3.8, true
		case ModelInputPaths[InPackI]:
			return p.current, true
		}
		return 0, false
	}
}

func stepPack(c *PackVoltageCheck, p *packBus, from, to int) (out []CheckChange, at []int) {
	for s := from; s <= to; s++ {
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), p.read(s)); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	return out, at
}

// TestPackVoltageCheck: a pack voltage sensor reading 2 % low from 3000 s
// to 4000 s, on a car whose ratio the check learnt in its first 10
// minutes. Worked by hand: minutes end every 60 s from the first step; the
// minute [3000, 3060) is the first to deviate, so the fault is raised at
// the end of the minute 5 min later (3300 s) with Since 3000 s. The minute
// [3960, 4020) is 40 s low, 20 s right: −1.33 %, between half the
// threshold and the threshold, so neither; [4020, 4080) is the first clean
// minute, and the fault clears 5 min later, at 4320 s.
func TestPackVoltageCheck(t *testing.T) {
	p := &packBus{drift: -0.02, from: 3000, to: 4000, current: 20}
	c := NewPackVoltageCheck()
	got, at := stepPack(c, p, 0, 6000)
	if len(got) != 2 {
		t.Fatalf("changes %+v at %v, want raised and cleared", got, at)
	}
	r, cl := got[0], got[1]
	e := r.Evidence
	if !r.Raised || r.Fault != "sensor_fault" || r.Check != "pack_voltage" || at[0] != 3300 || !r.Since.Equal(t0.Add(3000*time.Second)) || math.Abs(e["deviation_pct"]+2) > 1e-9 ||
		math.Abs(e["cells_in_series"]-96) > 1e-9 || math.Abs(e["pack_v"]-0.98*96*3.8) > 1e-9 || math.Abs(e["cells_v"]-96*3.8) > 1e-9 {
		t.Errorf("raised %+v at %d s", r, at[0])
	}
	if cl.Raised || at[1] != 4320 || !cl.Since.Equal(t0.Add(4020*time.Second)) || c.Active() {
		t.Errorf("cleared %+v at %d s", cl, at[1])
	}
}

// TestPackVoltageCheckQuiet: nothing while the current is outside 2..50 A
// (contactors open, or a large resistive drop), for a deviation under the
// threshold, or for one present from the start (learnt as the car's own
// ratio); data time going back forgets the learnt ratio.
func TestPackVoltageCheckQuiet(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    packBus
	}{
		{"contactors open", packBus{drift: -0.05, from: 2000, to: 9000, current: 0}},
		{"200 A", packBus{drift: -0.05, from: 2000, to: 9000, current: 200}},
		{"1 % low", packBus{drift: -0.01, from: 2000, to: 9000, current: 20}},
		{"low from the start", packBus{drift: -0.05, from: 0, to: 9000, current: -30}},
	} {
		c := NewPackVoltageCheck()
		if got, at := stepPack(c, &tc.p, 0, 9000); len(got) != 0 {
			t.Errorf("%s: %+v at %v", tc.name, got, at)
		}
	}
	c := NewPackVoltageCheck()
	stepPack(c, &packBus{current: 20}, 0, 3000)
	if c.learnt != learnMinutes {
		t.Fatalf("learnt %d minutes", c.learnt)
	}
	c.Step(t0, (&packBus{current: 20}).read(0))
	if c.learnt != 0 || c.ratio != 0 {
		t.Errorf("after time went back: learnt %d, ratio %v", c.learnt, c.ratio)
	}
}

func FuzzPackVoltageCheck(f *testing.F) {
	f.Add(384.0, 3.8, 20.0, int64(1))
	f.Add(math.NaN(), 0.0, -1e9, int64(-5))
	f.Fuzz(func(t *testing.T, v, a, i float64, dt int64) {
		c := NewPackVoltageCheck()
		now := t0
		read := func(path string) (float64, bool) {
			switch path {
			case ModelInputPaths[InPackV]:
				return v, true
			case ModelInputPaths[InCellAvg]:
				return a, true
			case ModelInputPaths[InPackI]:
				return i, true
			}
			return 0, false
		}
		for k := 0; k < 4000; k++ {
			if ch := c.Step(now, read); ch != nil && (math.IsNaN(ch.Evidence["deviation_pct"]) || math.IsInf(ch.Evidence["deviation_pct"], 0)) {
				t.Fatalf("change with deviation %v", ch.Evidence["deviation_pct"])
			}
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkPackVoltageCheckStep: one second of data time for the pack
// voltage plausibility check (three reads; a minute's decision every 60th).
func BenchmarkPackVoltageCheckStep(b *testing.B) {
	p := &packBus{current: 20}
	c := NewPackVoltageCheck()
	read := p.read(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), read) != nil {
			b.Fatal("a change on a healthy pack")
		}
	}
}
