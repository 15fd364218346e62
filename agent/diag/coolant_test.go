package diag

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// coolLoop is one second of the inputs CoolantFlowCheck reads; NaN:
// missing.
type coolLoop struct{ in, out, duty, hot, cold float64 }

func (l *coolLoop) read(path string) (float64, bool) {
	return readInputs(path, []inputValue{{InCoolantIn, l.in}, {InCoolantOut, l.out}, {InPumpDuty, l.duty},
		{InTempMax, l.hot}, {InTempMin, l.cold}})
}

// stepCool runs a new check over seconds 0..n of loop and returns its
// changes with the second of each.
func stepCool(n int, loop func(int) coolLoop) (at []int, changes []*CheckChange) {
	c := NewCoolantFlowCheck()
	for s := 0; s <= n; s++ {
		x := loop(s)
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), x.read); ch != nil {
			at, changes = append(at, s), append(changes, ch)
		}
	}
	return at, changes
}

// healthyLoop: pump at 60 %, inlet 20 °C, outlet 24 °C, modules 29 and
// 31 °C: the pack 10 K over the inlet, ε = 4/10 = 0.4.
func healthyLoop(int) coolLoop { return coolLoop{in: 20, out: 24, duty: 60, hot: 31, cold: 29} }

func TestCoolantFlowCheck(t *testing.T) {
	// Minute m covers seconds 60m..60m+59 and is decided at 60(m+1).
	// Minute 0 has no minute before it (the inlet's slope is unknown);
	// minutes 1..5 learn the 60 % band's ε = 0.4; from minute 10 the
	// outlet reads 26 °C (ε = 6/10 = 0.6: 1.5 times and 0.2 over), so
	// minutes 10..14 deviate and the fault is raised at 900 s, since
	// 600 s. From minute 20 the flow is back: 10 calm minutes clear it
	// at the end of minute 29, 1800 s.
	loop := func(s int) coolLoop {
		x := healthyLoop(s)
		if s >= 600 && s < 1200 {
			x.out = 26
		}
		return x
	}
	at, ch := stepCool(2400, loop)
	if len(ch) != 2 || at[0] != 900 || !ch[0].Raised || at[1] != 1800 || ch[1].Raised {
		t.Fatalf("changes at %v (%+v), want raised at 900 and cleared at 1800", at, ch)
	}
	ev := ch[0].Evidence
	want := map[string]float64{"effectiveness": 0.6, "effectiveness_learnt": 0.4, "pump_duty_pct": 60, "coolant_rise_k": 6, "pack_over_inlet_k": 10}
	for k, v := range want {
		if math.Abs(ev[k]-v) > 1e-9 {
			t.Errorf("evidence %s = %v, want %v", k, ev[k], v)
		}
	}
	if ch[0].Since != t0.Add(600*time.Second) || ch[0].Fault != "cooling_loss" || ch[0].Check != "coolant_flow" {
		t.Errorf("since %v, fault %q, check %q", ch[0].Since.Sub(t0), ch[0].Fault, ch[0].Check)
	}
	if _, err := json.Marshal(ch); err != nil {
		t.Error(err)
	}
	// A fault present from the start is learnt as the car's own ε: the
	// check compares the car with itself.
	if at, ch := stepCool(2400, func(s int) coolLoop { x := healthyLoop(s); x.out = 26; return x }); len(ch) != 0 {
		t.Errorf("a loop that always ran so: changes at %v", at)
	}
}

// TestCoolantFlowCheckFasterPump, worked by hand: a failing loop heats the
// pack, the pump speeds up into a band it never ran at, and that band is
// judged against the band of less flow it learnt. Minutes 1..5 learn the
// 30 % band's ε = 6/10 = 0.6 (inlet 20 °C, outlet 26 °C, pack 30 °C);
// from minute 10 the pump runs at 60 % and the outlet reads 29 °C: ε = 0.9,
// 1.5 times 0.6, 0.3 over it and 9 − 6 = 3 K more rise than 0.6 predicts.
// Minutes 10..14 deviate (none is learnt by the 60 % band): raised at the
// end of minute 14, 900 s, since 600 s. Learning the new band from the
// failing loop, as the check did before, reports nothing.
func TestCoolantFlowCheckFasterPump(t *testing.T) {
	at, ch := stepCool(1500, func(s int) coolLoop {
		x := coolLoop{in: 20, out: 26, duty: 30, hot: 31, cold: 29}
		if s >= 600 {
			x.duty, x.out = 60, 29
		}
		return x
	})
	if len(ch) != 1 || at[0] != 900 || !ch[0].Raised || ch[0].Since != t0.Add(600*time.Second) {
		t.Fatalf("changes at %v (%+v), want raised at 900 since 600 s", at, ch)
	}
	want := map[string]float64{"effectiveness": 0.9, "effectiveness_learnt": 0.6, "learnt_band_pct": 30, "pump_duty_pct": 60,
		"coolant_rise_k": 9, "pack_over_inlet_k": 10}
	for k, v := range want {
		if math.Abs(ch[0].Evidence[k]-v) > 1e-9 {
			t.Errorf("evidence %s = %v, want %v", k, ch[0].Evidence[k], v)
		}
	}
}

// TestCoolantFlowCheckQuiet: what a healthy loop does that changes ε or
// makes it unreadable.
func TestCoolantFlowCheckQuiet(t *testing.T) {
	cases := map[string]func(int) coolLoop{
		// Each pump band has its own ε (at 30 % the coolant carries the
		// heat of a slower flow: ε = 6/10); the bands alternate every
		// 10 minutes.
		"two pump bands": func(s int) coolLoop {
			x := healthyLoop(s)
			if s/600%2 == 1 {
				x.duty, x.out = 30, 26
			}
			return x
		},
		// The pump speeds up from 30 % (ε = 0.6) to 60 %, where the faster
		// flow carries the heat with less rise (ε = 0.4): judged against
		// the 30 % band while the 60 % band learns, and under it.
		"pump speeds up": func(s int) coolLoop {
			x := healthyLoop(s)
			if s < 600 {
				x.duty, x.out = 30, 26
			}
			return x
		},
		// The chiller starts: the inlet falls 1 K a minute and the outlet
		// lags 2 K behind it for 10 minutes (ε reads 0.5..0.6).
		"chiller starts": func(s int) coolLoop {
			x := healthyLoop(s)
			if s >= 600 && s < 1200 {
				x.in = 20 - float64(s-600)/60
				x.out = x.in + 6
			}
			return x
		},
		// The pack barely over the inlet (4.5 K), whole degrees: the
		// outlet reading 21 then 22 °C doubles ε.
		"small lead": func(s int) coolLoop {
			x := healthyLoop(s)
			x.hot, x.cold, x.out = 25, 24, 21
			if s >= 600 {
				x.out = 22
			}
			return x
		},
		// A heated loop: the coolant warms the pack.
		"heated": func(s int) coolLoop {
			x := healthyLoop(s)
			if s >= 600 {
				x.in, x.out = 35, 33
			}
			return x
		},
		// The pump changes speed within the minute.
		"pump ramps": func(s int) coolLoop {
			x := healthyLoop(s)
			if s >= 600 {
				x.duty, x.out = 60+float64(s%60)/3, 27
			}
			return x
		},
		"pump off": func(s int) coolLoop {
			x := healthyLoop(s)
			if s >= 600 {
				x.duty, x.out = 0, 30
			}
			return x
		},
		// Whole-degree sensors at high flow: the true rise of 0.2 K reads
		// 0 K while the band learns (ε = 0), then 1 K once the inlet
		// creeps up (ε = 1/7.5): one degree of rise is not a loss.
		"whole degrees": func(s int) coolLoop {
			in := 20.1
			if s >= 900 {
				in = 20.35
			}
			return coolLoop{in: math.Round(in), out: math.Round(in + 0.2), duty: 80, hot: 28, cold: 27}
		},
		// Readings no sensor gives: missing, not a loss (and no panic).
		"out of range": func(s int) coolLoop {
			x := healthyLoop(s)
			if s >= 600 {
				x.duty, x.out = 1e20, 30
			}
			if s >= 1800 {
				x.duty, x.out = 60, 1e300
			}
			return x
		},
		"missing": func(s int) coolLoop {
			x := healthyLoop(s)
			if s >= 600 {
				x.out = 28
				if s%30 < 15 {
					x.in = math.NaN()
				}
			}
			return x
		},
	}
	for name, loop := range cases {
		if at, ch := stepCool(3600, loop); len(ch) != 0 {
			t.Errorf("%s: changes at %v: %+v", name, at, ch)
		}
	}
}

func FuzzCoolantFlowCheck(f *testing.F) {
	f.Add(20.0, 24.0, 60.0, 31.0, 29.0, 2.0, int64(1))
	f.Add(math.NaN(), math.Inf(1), -5.0, 1e300, -1e300, 0.0, int64(-7))
	f.Add(20.0, 24.0, 1e20, 31.0, 29.0, 1e306, int64(1))
	f.Fuzz(func(t *testing.T, in, out, duty, hot, cold, step float64, dt int64) {
		c := NewCoolantFlowCheck()
		now := t0
		for k := 0; k < 3000; k++ {
			x := coolLoop{in, out + step*float64(k/600), duty, hot, cold}
			if ch := c.Step(now, x.read); ch != nil {
				if _, err := json.Marshal(ch); err != nil {
					t.Fatalf("change does not marshal: %v", err)
				}
			}
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkCoolantFlowCheckStep: one second of data time (five reads; a
// minute's decision every 60th).
func BenchmarkCoolantFlowCheckStep(b *testing.B) {
	c := NewCoolantFlowCheck()
	x := healthyLoop(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), x.read) != nil {
			b.Fatal("a change on a healthy loop")
		}
	}
}

// TestCoolantFlowCheckGap: minutes "in a row" do not run across a gap in
// the data. Learnt as in TestCoolantFlowCheck, the loop deviates for 3
// minutes (10..12), the data stops for an hour, and it deviates 3 minutes
// more after: 6 deviating minutes, never 5 in a row, nothing raised.
func TestCoolantFlowCheckGap(t *testing.T) {
	c := NewCoolantFlowCheck()
	step := func(from, to int, out float64) {
		for s := from; s < to; s++ {
			x := healthyLoop(s)
			x.out = out
			if ch := c.Step(t0.Add(time.Duration(s)*time.Second), x.read); ch != nil {
				t.Errorf("second %d: %+v", s, ch)
			}
		}
	}
	step(0, 600, 24)
	step(600, 780, 26)
	step(4380, 4380+60+180+30, 26) // a minute to know the inlet's slope, then 3 deviating ones
}
