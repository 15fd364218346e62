package diag

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// drive is one second of the inverter check's inputs; coolant or pump
// NaN: the map does not have it.
type drive struct{ inv, coolant, torque, speed, pump float64 }

func (d *drive) read(path string) (float64, bool) {
	switch path {
	case DriveCoolantPath:
		return d.coolant, !math.IsNaN(d.coolant)
	case DrivePumpPath:
		return d.pump, !math.IsNaN(d.pump)
	}
	return readInputs(path, []inputValue{{InInverterTemp, d.inv}, {InTorque, d.torque}, {InSpeed, d.speed}})
}

// stepInverter runs a new check over seconds 0..n and returns its changes
// with the second of each.
func stepInverter(n int, at func(int) drive) (secs []int, changes []*CheckChange) {
	c := NewInverterCoolingCheck()
	for s := 0; s <= n; s++ {
		x := at(s)
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), x.read); ch != nil {
			secs = append(secs, s)
			changes = append(changes, ch)
		}
	}
	return secs, changes
}

// TestInverterCoolingCheck, worked by hand. Minute m covers seconds
// 60m..60m+59 and is decided at 60(m+1). The load is constant (100 N·m at
// 90 km/h: 9 units), so the lagged load is too and the line is flat: its
// prediction is the mean lead learnt. The pump runs at 50 % (band 5);
// minute 0 has no minute before it in its band (not counted), minutes
// 1..10 learn a lead of 5 K, 11..19 fill the pool (learnt too), 20 is the
// first pool judged (ratio 1, learnt). From minute 30 (m = 1..15 in the fault) the inverter reads
// 20 K over its coolant: the pool's mean is 5 + 1.5m K against 5 K, never
// learnt again (1.3 times at m = 1, over 1.2); m = 2..6 are in between
// (1.6 .. 2.8 times), m = 7, 8, 9 (minutes 36..38) deviate (3.1, 3.4,
// 3.7 times; 10.5, 12, 13.5 K over): raised at the end of minute 38,
// 2340 s, since minute 36's start, 2160 s, evidence 18.5 K against 5 K.
//
// From minute 45 the lead is 5 K again (m' = 1, 2, ...): the pool's mean
// is 20 − 1.5m' against 5 K, under 1.5 times from m' = 9 (minute 53); 10
// calm minutes in a row clear it at the end of minute 62, 3780 s.
func TestInverterCoolingCheck(t *testing.T) {
	at := func(s int) drive {
		d := drive{inv: 45, coolant: 40, torque: 100, speed: 90, pump: 50}
		if m := s / 60; m >= 30 && m < 45 {
			d.inv = 60
		}
		return d
	}
	secs, ch := stepInverter(4200, at)
	if len(ch) != 2 || secs[0] != 2340 || !ch[0].Raised || secs[1] != 3780 || ch[1].Raised {
		t.Fatalf("changes at %v (%+v), want raised at 2340 and cleared at 3780", secs, ch)
	}
	if ch[0].Since != t0.Add(2160*time.Second) || ch[0].Fault != "motor_inverter_overheating" || ch[0].Check != "inverter_cooling" {
		t.Errorf("since %v, fault %q, check %q", ch[0].Since.Sub(t0), ch[0].Fault, ch[0].Check)
	}
	want := map[string]float64{"inverter_over_coolant_k": 18.5, "expected_k": 5, "ratio": 3.7,
		"limit_ratio": 3, "load": 9, "pump_duty_pct": 50}
	for k, v := range want {
		if math.Abs(ch[0].Evidence[k]-v) > 1e-9 {
			t.Errorf("evidence %s = %v, want %v", k, ch[0].Evidence[k], v)
		}
	}
	if r := ch[1].Evidence["ratio"]; !(r < 1.5) {
		t.Errorf("cleared at ratio %v, want under 1.5", r)
	}
	if _, err := json.Marshal(ch); err != nil {
		t.Error(err)
	}
	// An inverter that always ran 20 K over its coolant is the car's own:
	// the check compares the car with itself.
	if secs, ch := stepInverter(4200, func(s int) drive { return drive{60, 40, 100, 90, 50} }); len(ch) != 0 {
		t.Errorf("an inverter that always ran so: changes at %v", secs)
	}
}

// TestInverterCoolingCheckCarried, worked by hand: a load above the
// loads learnt is judged against the line carried up in proportion to the
// load, up to twice the highest load learnt. Minutes 1..29 learn a flat
// line of 5 K at 4.5 units (100 N·m at 45 km/h, the pump at 50 %). From
// minute 30 the car runs at 9 units and the inverter 45 K over its
// coolant. The lagged load of fault minute m = 1, 2, ... (minute 29 + m)
// is 4.5·(2 − e^(−m/2)), above the 4.5 learnt, so minute m is predicted
// 5·(2 − e^(−m/2)) K: 6.97, 8.16, 8.88, 9.32, 9.59, 9.75. The pool holds
// 10 − m minutes of 5 K learnt before: its mean lead is 5 + 4m K against
// (5(10 − m) + the sum of those predictions)/10: 1.73, 2.36, 2.88, 3.32,
// 3.68 and 3.99 times (m = 1..6; the first three in between, not learnt).
// m = 4, 5, 6 deviate (14.7, 18.2 and 21.7 K over): raised at the end of
// minute 35, 2160 s, since minute 33's start, 1980 s, evidence 29 K
// against 7.268 K, load 4.5·(2 − e^(−3)) = 8.776. Without the carried
// line none of these minutes is judged (their loads were never learnt).
func TestInverterCoolingCheckCarried(t *testing.T) {
	secs, ch := stepInverter(2400, func(s int) drive {
		if s < 1800 {
			return drive{45, 40, 100, 45, 50}
		}
		return drive{85, 40, 100, 90, 50}
	})
	if len(ch) != 1 || secs[0] != 2160 || !ch[0].Raised || ch[0].Since != t0.Add(1980*time.Second) {
		t.Fatalf("changes at %v (%+v), want raised at 2160 since 1980 s", secs, ch)
	}
	want := map[string]float64{"inverter_over_coolant_k": 29, "expected_k": 7.2676, "ratio": 3.9903, "load": 8.776}
	for k, v := range want {
		if math.Abs(ch[0].Evidence[k]-v) > 1e-3 {
			t.Errorf("evidence %s = %v, want %v", k, ch[0].Evidence[k], v)
		}
	}
}

// TestInverterCoolingCheckLowerBand, worked by hand: a load the band's
// own line never saw is judged against a band of less flow that saw it.
// Minutes 0..29: the pump at 20 % (band 2), 100 N·m at 30 km/h (3 units),
// 10 K: band 2 learns a flat 10 K at 3 units. Minutes 30..59: the pump at
// 50 % (band 5), 90 km/h (9 units), 5 K. Minute 30 changed band (not
// counted); minutes 31..40, lagged loads 3 + 6(1 − e^(−(m−29)/2)) from
// 6.79 to 8.9, are above twice band 2's 3 units (not judged) and learnt
// by band 5 (5 K, well under band 2's carried line); band 5 then judges
// its own minutes: 5 K at 6.79..9 units, a flat line (widened range from
// 6.57). From minute 60 the car runs at 3 units again with the inverter
// 45 K over its coolant. Fault minute m = 1, 2, ... (minute 59 + m) has
// the lagged load 3 + 6·e^(−m/2): 6.64 (band 5's range: predicted 5 K),
// then 5.21, 4.34, 3.81, 3.49, 3.30, 3.18, 3.11: below band 5's range
// and within band 2's carried range, predicted 10 K × load/3: 17.36,
// 14.46, 12.71, 11.64, 11.00, 10.60, 10.37 K. The pool's mean lead 5 + 4m
// against (5(10 − m) + those)/10 is 1.80, 2.08, 2.37, 2.64, 2.90, 3.15,
// 3.38 and 3.59 times: m = 6, 7, 8 deviate, raised at the end of minute
// 67, 4080 s, since minute 65's start, 3900 s; evidence 37 K against
// 10.314 K, load 3.110. Judged against band 5 only, as before, these
// minutes are never judged. The same drive with a healthy 6 K in the last
// phase reports nothing.
func TestInverterCoolingCheckLowerBand(t *testing.T) {
	at := func(fault float64) func(int) drive {
		return func(s int) drive {
			switch m := s / 60; {
			case m < 30:
				return drive{50, 40, 100, 30, 20}
			case m < 60:
				return drive{45, 40, 100, 90, 50}
			}
			return drive{40 + fault, 40, 100, 30, 50}
		}
	}
	secs, ch := stepInverter(4800, at(45))
	if len(ch) != 1 || secs[0] != 4080 || !ch[0].Raised || ch[0].Since != t0.Add(3900*time.Second) {
		t.Fatalf("changes at %v (%+v), want raised at 4080 since 3900 s", secs, ch)
	}
	want := map[string]float64{"inverter_over_coolant_k": 37, "expected_k": 10.3135, "ratio": 3.5875, "load": 3.110, "pump_duty_pct": 50}
	for k, v := range want {
		if math.Abs(ch[0].Evidence[k]-v) > 1e-3 {
			t.Errorf("evidence %s = %v, want %v", k, ch[0].Evidence[k], v)
		}
	}
	if secs, ch := stepInverter(7200, at(6)); len(ch) != 0 {
		t.Errorf("healthy: changes at %v (%+v)", secs, ch[0])
	}
}

// TestInverterCoolingCheckQuiet: what a healthy car does that the check
// must not report, and inputs it cannot judge.
func TestInverterCoolingCheckQuiet(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   func(int) drive
	}{
		// The map has no drive coolant: nothing is ever judged.
		{"no coolant", func(s int) drive {
			d := drive{45, math.NaN(), 100, 90, 50}
			if s >= 1800 {
				d.inv = 90
			}
			return d
		}},
		// Nor without the drive pump's duty (the flow is unknown).
		{"no pump", func(s int) drive {
			d := drive{45, 40, 100, 90, math.NaN()}
			if s >= 1800 {
				d.inv = 90
			}
			return d
		}},
		// A pump that slows when little cooling is needed: at 20 % the
		// inverter runs 20 K over its coolant, at 60 % 5 K; each band
		// learns its own line (the pump alternates every 30 min).
		{"pump bands", func(s int) drive {
			if (s/1800)%2 == 1 {
				return drive{60, 40, 100, 90, 20}
			}
			return drive{45, 40, 100, 90, 60}
		}},
		// Learnt in town (100 N·m at 30 km/h: 3 units), then a motorway
		// at 3 times the load with 4 times the lead: loads over twice the
		// highest the line saw are learnt, not judged, so the line follows
		// the new load.
		{"new load", func(s int) drive {
			if s < 1800 {
				return drive{45, 40, 100, 30, 50}
			}
			return drive{60, 40, 100, 90, 50}
		}},
		// Learnt at 100 N·m and 45 km/h (4.5 units, 5 K), then twice the
		// load with a lead that grows with its square (20 K): carried
		// above the loads learnt in proportion to the load, the line
		// predicts up to 10 K, 2 times at most.
		{"load doubled, square law", func(s int) drive {
			if s < 1800 {
				return drive{45, 40, 100, 45, 50}
			}
			return drive{60, 40, 100, 90, 50}
		}},
		// Parked or crawling (under 20 km/h): no minute counts.
		{"slow", func(s int) drive {
			d := drive{45, 40, 200, 15, 50}
			if s >= 1800 {
				d.inv = 90
			}
			return d
		}},
		// Readings out of range are missing.
		{"bad readings", func(s int) drive {
			d := drive{45, 40, 100, 90, 50}
			if s >= 1800 {
				d.inv, d.coolant = 250, -70
			}
			return d
		}},
	} {
		if secs, ch := stepInverter(5400, tc.at); len(ch) != 0 {
			t.Errorf("%s: changes at %v (%+v)", tc.name, secs, ch[0])
		}
	}
}

// TestInverterCoolingCheckGap: a gap of over 5 s in the data empties the
// pool, so deviating minutes on both sides of it never make 3 in a row of
// full pools. As in TestInverterCoolingCheck the lead is 20 K from minute
// 30; minutes 36 and 37 (m = 7, 8) are the first deviating pools, and the
// data stops for an hour at 2340 s, before minute 38 is decided (it is
// dropped). It resumes with the same fault: the pool fills again over 10
// minutes of 20 K, which are not learnt (each is 4 times the line on its
// own).
func TestInverterCoolingCheckGap(t *testing.T) {
	c := NewInverterCoolingCheck()
	var raised []int
	step := func(from, to int, lead float64) {
		for s := from; s < to; s++ {
			d := drive{40 + lead, 40, 100, 90, 50}
			if ch := c.Step(t0.Add(time.Duration(s)*time.Second), d.read); ch != nil && ch.Raised {
				raised = append(raised, s)
			}
		}
	}
	step(0, 1800, 5)
	step(1800, 2340, 20)
	// After the hour minutes start again at 6000 s with an empty pool and
	// no band for the minute before: minute 0 is not counted, 1..9 fill
	// the pool, and minutes 10, 11, 12 are full pools of 20 K against
	// 5 K, all deviating: raised at the end of minute 12, 6000 + 780 s.
	step(6000, 7000, 20)
	if len(raised) != 1 || raised[0] != 6780 {
		t.Fatalf("raised at %v, want once at 6780 (never across the gap)", raised)
	}
}

func FuzzInverterCoolingCheck(f *testing.F) {
	f.Add(45.0, 40.0, 100.0, 90.0, 50.0, 0.5, int64(1))
	f.Add(math.NaN(), math.Inf(1), -5.0, 1e300, -1e300, 1e9, int64(-7))
	f.Add(45.0, 40.0, 1e20, 90.0, 101.0, 1e306, int64(1))
	f.Fuzz(func(t *testing.T, inv, coolant, torque, speed, pump, step float64, dt int64) {
		c := NewInverterCoolingCheck()
		now := t0
		for k := 0; k < 4000; k++ {
			d := drive{inv + step*float64(k/600), coolant, torque * float64(k%7), speed, pump * float64(k/900%3)}
			if ch := c.Step(now, d.read); ch != nil {
				if _, err := json.Marshal(ch); err != nil {
					t.Fatalf("change does not marshal: %v", err)
				}
			}
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkInverterCoolingCheckStep: one second of data time (four reads;
// a minute's decision every 60th).
func BenchmarkInverterCoolingCheckStep(b *testing.B) {
	c := NewInverterCoolingCheck()
	d := drive{45, 40, 100, 90, 50}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), d.read) != nil {
			b.Fatal("a change on a healthy drive")
		}
	}
}
