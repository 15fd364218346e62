package diag

import (
	"math"
	"testing"
	"time"
)

// chargeBus is a car charging at 380 V: current (A into the pack, VSS
// sign) by second, SOC and hottest module fixed, the charging flag on
// until off (s).
type chargeBus struct {
	current func(s int) float64
	soc     float64
	temp    float64
	off     int
}

func (b *chargeBus) read(s int) Read {
	return func(p string) (float64, bool) {
		switch p {
		case ModelInputPaths[InCharging]:
			if s >= b.off {
				return 0, true
			}
			return 1, true
		case ModelInputPaths[InPackI]:
			return b.current(s), true
		case ModelInputPaths[InPackV]:
			return 380, true
		case ModelInputPaths[InSOC]:
			return b.soc, true
		case ModelInputPaths[InTempMax]:
			return b.temp, true
		}
		return 0, false
	}
}

func stepCharge(c *ChargerCheck, b *chargeBus, from, to int) (out []CheckChange, at []int) {
	for s := from; s <= to; s++ {
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), b.read(s)); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	return out, at
}

// TestChargerCheck: an AC charge at 25 A (9.5 kW at 380 V) whose charger
// falls to 5 A (1.9 kW, 20 %: under 35 %) at 1800 s. Worked by hand:
// minutes end every 60 s from the first step; [1800, 1860) is the first
// low minute, the 15th is [2640, 2700): raised at 2700 s, since 1800 s.
// The flag goes off at 3000 s: the session ends after 60 s without it,
// at 3059 s (the 60th second off), and the fault clears.
func TestChargerCheck(t *testing.T) {
	b := &chargeBus{current: func(s int) float64 {
		if s < 1800 {
			return 25
		}
		return 5
	}, soc: 50, temp: 25, off: 3000}
	c := NewChargerCheck()
	got, at := stepCharge(c, b, 0, 3600)
	if len(got) != 2 {
		t.Fatalf("changes %+v at %v, want raised and cleared", got, at)
	}
	r := got[0]
	if !r.Raised || r.Fault != "charger_fault" || r.Check != "charging" || at[0] != 2700 || !r.Since.Equal(t0.Add(1800*time.Second)) ||
		math.Abs(r.Evidence["charge_kw"]-1.9) > 1e-9 || math.Abs(r.Evidence["plateau_kw"]-9.5) > 1e-9 || r.Evidence["charge_a"] != 5 {
		t.Errorf("raised %+v at %d s", r, at[0])
	}
	if got[1].Raised || at[1] != 3059 || c.Active() {
		t.Errorf("cleared %+v at %d s", got[1], at[1])
	}
	// A charger that never delivers (0.2 A while the flag is on, a
	// stall) is raised at the end of the 15th minute: 900 s.
	b = &chargeBus{current: func(int) float64 { return 0.2 }, soc: 50, temp: 25, off: 1 << 30}
	got, at = stepCharge(NewChargerCheck(), b, 0, 1200)
	if len(got) != 1 || !got[0].Raised || at[0] != 900 {
		t.Errorf("stall: %+v at %v, want raised at 900 s", got, at)
	}
}

// TestChargerCheckQuiet: no fault for a DC session tapering from 100 kW to
// 10 kW, an AC charge tapering above 80 % SOC, a cold pack (5 °C) not yet
// taking charge, or a drop to 40 % of the best minute (a heater switched
// on mid-charge); data time going back starts over.
func TestChargerCheckQuiet(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    chargeBus
	}{
		{"DC taper", chargeBus{current: func(s int) float64 { return max(26, 263-float64(s)/10) }, soc: 60, temp: 30, off: 1 << 30}},
		{"AC taper over 80 %", chargeBus{current: func(s int) float64 { return max(2, 25-float64(s)/100) }, soc: 85, temp: 25, off: 1 << 30}},
		{"cold pack", chargeBus{current: func(int) float64 { return 0 }, soc: 40, temp: 5, off: 1 << 30}},
		{"40 %", chargeBus{current: func(s int) float64 {
			if s < 1200 {
				return 25
			}
			return 10
		}, soc: 50, temp: 25, off: 1 << 30}},
	} {
		if got, at := stepCharge(NewChargerCheck(), &tc.b, 0, 7200); len(got) != 0 {
			t.Errorf("%s: %+v at %v", tc.name, got, at)
		}
	}
	c := NewChargerCheck()
	b := &chargeBus{current: func(int) float64 { return 25 }, soc: 50, temp: 25, off: 1 << 30}
	stepCharge(c, b, 0, 600)
	c.Step(t0, b.read(0))
	if c.plateau != 0 || c.inSess != true {
		t.Errorf("after time went back: plateau %v", c.plateau)
	}
}

func FuzzChargerCheck(f *testing.F) {
	f.Add(1.0, 25.0, 380.0, 50.0, 25.0, int64(1))
	f.Add(math.NaN(), math.Inf(1), -1.0, 200.0, -300.0, int64(-7))
	f.Fuzz(func(t *testing.T, flag, i, v, soc, temp float64, dt int64) {
		c := NewChargerCheck()
		read := func(p string) (float64, bool) {
			switch p {
			case ModelInputPaths[InCharging]:
				return flag, true
			case ModelInputPaths[InPackI]:
				return i, true
			case ModelInputPaths[InPackV]:
				return v, true
			case ModelInputPaths[InSOC]:
				return soc, true
			case ModelInputPaths[InTempMax]:
				return temp, true
			}
			return 0, false
		}
		now := t0
		for k := 0; k < 3000; k++ {
			if ch := c.Step(now, read); ch != nil {
				for key, val := range ch.Evidence {
					if math.IsNaN(val) || math.IsInf(val, 0) {
						t.Fatalf("evidence %s = %v", key, val)
					}
				}
			}
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkChargerCheckStep: one second of data time for the charging
// check during an AC charge (five reads; a minute's decision every 60th).
func BenchmarkChargerCheckStep(b *testing.B) {
	bus := &chargeBus{current: func(int) float64 { return 25 }, soc: 50, temp: 25, off: 1 << 30}
	c := NewChargerCheck()
	read := bus.read(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), read) != nil {
			b.Fatal("a change on a healthy charge")
		}
	}
}
