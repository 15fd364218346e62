package diag

import (
	"math"
	"testing"
	"time"
)

// moduleBus: hottest and coolest module, coolant inlet and pack current
// by second (nil coolant: not mapped); gap seconds have no data.
type moduleBus struct {
	hot, cold func(s int) float64
	coolant   func(s int) float64
	current   float64
	gap       [2]int
}

func (b *moduleBus) read(s int) Read {
	return func(p string) (float64, bool) {
		if s >= b.gap[0] && s < b.gap[1] {
			return 0, false
		}
		switch p {
		case ModelInputPaths[InTempMax]:
			return b.hot(s), true
		case ModelInputPaths[InTempMin]:
			return b.cold(s), true
		case ModelInputPaths[InCoolantIn]:
			if b.coolant == nil {
				return 0, false
			}
			return b.coolant(s), true
		case ModelInputPaths[InPackI]:
			return b.current, true
		}
		return 0, false
	}
}

func stepThermal(c *ThermalCheck, b *moduleBus, from, to int) (out []CheckChange, at []int) {
	for s := from; s <= to; s++ {
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), b.read(s)); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	return out, at
}

func selfHeating(s int) float64 {
	if s < 600 {
		return 20
	}
	return 20 + 0.15*float64(s-600)/60
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

// TestThermalCheck: a parked pack (no current) whose hottest module warms
// by itself at 0.15 K/min from 600 s, the coolest and the coolant staying
// at 20 °C. Worked by hand: minutes end every 60 s from the first step;
// the minute ending at 60k s has a mean hottest module of
// 20 + 0.15·(60k − 630.5)/60 °C, which first reaches a 3 K spread at
// k = 31 (1860 s), where the 20-minute rise is 3.01 − 0.22 = 2.79 K; the
// second such minute-end, 1920 s, raises the fault, since 20 min before.
// Cooled back to 20 °C from 3000 s, it clears after 10 calm minutes.
func TestThermalCheck(t *testing.T) {
	b := &moduleBus{hot: func(s int) float64 {
		if s >= 3000 {
			return 20
		}
		return selfHeating(s)
	}, cold: constant(20), coolant: constant(20)}
	c := NewThermalCheck()
	got, at := stepThermal(c, b, 0, 4000)
	if len(got) != 2 {
		t.Fatalf("changes %+v at %v, want raised and cleared", got, at)
	}
	r := got[0]
	wantHot := 20 + 0.15*(1920-630.5)/60
	if !r.Raised || r.Fault != "thermal_runaway_precursor" || at[0] != 1920 || !r.Since.Equal(t0.Add(720*time.Second)) ||
		math.Abs(r.Evidence["temp_max_c"]-wantHot) > 1e-9 || math.Abs(r.Evidence["spread_rise_k_20min"]-0.15*20) > 1e-9 {
		t.Errorf("raised %+v at %d s (want 1920 s, hottest %.3f °C, rise 3 K)", r, at[0], wantHot)
	}
	// Calm from the minute ending at 3060 s (its mean is 20 °C): the 10th
	// calm minute ends at 3600 s.
	if got[1].Raised || at[1] != 3600 || c.Active() {
		t.Errorf("cleared %+v at %d s, want 3600 s", got[1], at[1])
	}
}

// TestThermalCheckQuiet: no fault while 100 A flow (Joule heat), while
// the coolant is warmer than the pack (a heated loop), while all modules
// warm together, with a 2-minute gap in the data inside the span (the
// ring starts over), or without the coolant mapped but a warming coolest
// module keeping the spread; data time going back starts over.
func TestThermalCheckQuiet(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    moduleBus
	}{
		{"100 A", moduleBus{hot: selfHeating, cold: constant(20), coolant: constant(20), current: 100}},
		{"heated loop", moduleBus{hot: selfHeating, cold: constant(20), coolant: constant(40)}},
		{"all warm", moduleBus{hot: selfHeating, cold: func(s int) float64 { return selfHeating(s) - 1 }, coolant: constant(20)}},
		{"gaps", moduleBus{hot: selfHeating, cold: constant(20), coolant: constant(20), gap: [2]int{1800, 1920}}},
	} {
		to := 2400
		if tc.name == "gaps" {
			to = 1950 // the fault would be raised at 1920 s without the gap
		}
		if got, at := stepThermal(NewThermalCheck(), &tc.b, 0, to); len(got) != 0 {
			t.Errorf("%s: %+v at %v", tc.name, got, at)
		}
	}
	c := NewThermalCheck()
	b := &moduleBus{hot: selfHeating, cold: constant(20)}
	stepThermal(c, b, 0, 1500)
	c.Step(t0, b.read(0))
	if c.nr != 0 {
		t.Errorf("after time went back: %d minutes in the ring", c.nr)
	}
}

func FuzzThermalCheck(f *testing.F) {
	f.Add(30.0, 20.0, 20.0, 0.0, 0.1, int64(1))
	f.Add(math.NaN(), math.Inf(-1), 1e308, -1e308, 5.0, int64(-3))
	f.Fuzz(func(t *testing.T, hot, cold, co, i, slope float64, dt int64) {
		c := NewThermalCheck()
		now := t0
		for k := 0; k < 4000; k++ {
			h := hot + slope*float64(k)
			read := func(p string) (float64, bool) {
				switch p {
				case ModelInputPaths[InTempMax]:
					return h, true
				case ModelInputPaths[InTempMin]:
					return cold, true
				case ModelInputPaths[InCoolantIn]:
					return co, true
				case ModelInputPaths[InPackI]:
					return i, true
				}
				return 0, false
			}
			if ch := c.Step(now, read); ch != nil {
				for key, v := range ch.Evidence {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("evidence %s = %v", key, v)
					}
				}
			}
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkThermalCheckStep: one second of data time for the thermal
// runaway precursor check (four reads; a minute's decision every 60th).
func BenchmarkThermalCheckStep(b *testing.B) {
	bus := &moduleBus{hot: constant(25), cold: constant(24), coolant: constant(22), current: 10}
	c := NewThermalCheck()
	read := bus.read(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), read) != nil {
			b.Fatal("a change on a healthy pack")
		}
	}
}
