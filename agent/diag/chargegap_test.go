package diag

import (
	"math"
	"testing"
	"time"
)

// gapBus is a car charging from second 0 at amps (into the pack, VSS
// sign), its SOC climbing 10 % an hour from 50 %, the average cell on an
// open-circuit slope of slopeMV mV per % from 3.700 V, and the lowest
// cell 10 mV under it minus lagMV(s).
type gapBus struct {
	amps    float64
	slopeMV float64
	lagMV   func(s int) float64
	stuck   bool                // the lowest cell reads its value at second 0 throughout
	leadMV  func(s int) float64 // the highest cell 10 mV over the average plus this (nil: 0)
}

func (b *gapBus) read(s int) Read {
	soc := 50 + float64(s)/360
	avg := 3.700 + b.slopeMV/1000*(soc-50)
	lo := avg - 0.010 - b.lagMV(s)/1000
	if b.stuck {
		lo = 3.690
	}
	hi := avg + 0.010
	if b.leadMV != nil {
		hi += b.leadMV(s) / 1000
	}
	vals := []inputValue{{InCharging, 1}, {InPackI, b.amps}, {InSOC, soc}, {InCellAvg, avg}, {InCellMin, lo}, {InCellMax, hi}}
	return func(p string) (float64, bool) { return readInputs(p, vals) }
}

func stepGap(c *ChargeGapCheck, b *gapBus, to int) (out []CheckChange, at []int) {
	for s := 0; s <= to; s++ {
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), b.read(s)); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	return out, at
}

// shortLag is a lowest cell losing 0.4 % of SOC for every % the pack
// gains (4 % an hour against the charge's 10): on a 6 mV/% curve its gap
// grows 2.4 mV per % gained, 1/360 % a second.
func shortLag(s int) float64 { return 0.4 * 6 * float64(s) / 360 }

// TestChargeGapCheck: a shorted cell during a 10 A charge. Worked by
// hand: minute m holds seconds 60m..60m+59 (mean 60m+29.5); minutes 0..9
// settle, minute 10 is the reference, so minute m has gained (m−10)/6 %
// of SOC and the lowest cell lags 0.4 of that. Judging starts at 2 %
// (m = 22); the lag reaches 1 % at m = 25 (0.4·15/6); hits at 25..29
// raise at the end of minute 29 (1800 s), since 1500 s, with a lag of
// 0.4·19/6 = 1.2667 % on a slope of 6 mV/%.
func TestChargeGapCheck(t *testing.T) {
	c := NewChargeGapCheck()
	out, at := stepGap(c, &gapBus{amps: 10, slopeMV: 6, lagMV: shortLag}, 2400)
	if len(out) != 1 || at[0] != 1800 {
		t.Fatalf("changes %+v at %v, want one raise at 1800 s", out, at)
	}
	r := out[0]
	if !r.Raised || r.Check != "charge_cell_lag" || r.Fault != "cell_internal_short" || !r.Since.Equal(t0.Add(1500*time.Second)) || !c.Active() {
		t.Errorf("raise %+v", r)
	}
	for k, want := range map[string]float64{"lag_pct_soc": 0.4 * 19 / 6, "lag_per_soc_gained": 0.4, "ocv_slope_mv_per_pct": 6, "soc_gained_pct": 19.0 / 6, "charge_a": 10} {
		if got := r.Evidence[k]; math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
}

// TestChargeGapCheckStuckLowest: a lowest-cell reading that holds while
// the average climbs is a sensor, not a cell. Worked by hand: the gap
// grows by the average's whole rise, a lag of 1 % per % gained, so every
// judged minute from m = 22 hits; the fifth, m = 26, raises at 1620 s.
func TestChargeGapCheckStuckLowest(t *testing.T) {
	out, at := stepGap(NewChargeGapCheck(), &gapBus{amps: 10, slopeMV: 6, lagMV: func(int) float64 { return 0 }, stuck: true}, 2400)
	if len(out) != 1 || at[0] != 1620 || out[0].Fault != "sensor_fault" || out[0].Evidence["lowest_rise_mv"] != 0 {
		t.Fatalf("changes %+v at %v, want a sensor fault at 1620 s", out, at)
	}
}

// TestChargeGapCheckQuiet: what it must not report. A healthy cell with
// 5 % more capacity than the rest lags 0.05 % per % gained, over a whole
// 4.5 h charge (45 % of SOC); a short during a DC charge at 150 A or on a
// flat (LFP-like) curve cannot be judged; a current that changes by more
// than 10 % every 20 minutes keeps restarting the session.
func TestChargeGapCheckQuiet(t *testing.T) {
	steps := &gapBus{amps: 10, slopeMV: 6, lagMV: shortLag}
	for name, b := range map[string]*gapBus{
		"capacity 5 % higher": {amps: 10, slopeMV: 6, lagMV: func(s int) float64 { return 0.05 * 6 * float64(s) / 360 }},
		"DC charge":           {amps: 150, slopeMV: 6, lagMV: shortLag},
		"flat curve":          {amps: 10, slopeMV: 0.5, lagMV: shortLag},
	} {
		if out, at := stepGap(NewChargeGapCheck(), b, 4*3600+1800); len(out) != 0 {
			t.Errorf("%s: changes %+v at %v", name, out, at)
		}
	}
	c := NewChargeGapCheck()
	for s := 0; s <= 3*3600; s++ {
		steps.amps = 10 + 2*float64(s/1200%2)
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), steps.read(s)); ch != nil {
			t.Fatalf("changing current: change %+v at %d s", ch, s)
		}
	}
}

// TestChargeGapCheckNoAlloc: a second's step allocates nothing.
func TestChargeGapCheckNoAlloc(t *testing.T) {
	b := &gapBus{amps: 10, slopeMV: 6, lagMV: func(int) float64 { return 0 }}
	reads := make([]Read, 4000)
	for i := range reads {
		reads[i] = b.read(i)
	}
	c := NewChargeGapCheck()
	s := 0
	if n := testing.AllocsPerRun(3000, func() {
		c.Step(t0.Add(time.Duration(s)*time.Second), reads[s])
		s++
	}); n != 0 {
		t.Errorf("%v allocations a step", n)
	}
}

// FuzzChargeGapCheck: any readings, rising at any rate, and any step in
// time: no panic and no evidence that is not a number, from the lag check
// or the lead check.
func FuzzChargeGapCheck(f *testing.F) {
	f.Add(1.0, 10.0, 50.0, 0.003, 3.7, 1e-5, 3.69, 5e-6, int64(1))
	f.Add(math.NaN(), math.Inf(1), -1.0, 1e300, 0.0, -1.0, 5.0, math.Inf(-1), int64(-7))
	f.Fuzz(func(t *testing.T, flag, i, soc, dsoc, avg, davg, lo, dlo float64, dt int64) {
		lag, lead := NewChargeGapCheck(), NewChargeLeadCheck()
		now := t0
		for k := range 3000 {
			x := float64(k)
			vals := []inputValue{{InCharging, flag}, {InPackI, i}, {InSOC, soc + x*dsoc}, {InCellAvg, avg + x*davg},
				{InCellMin, lo + x*dlo}, {InCellMax, 2*avg - lo + x*dlo}}
			read := func(p string) (float64, bool) { return readInputs(p, vals) }
			finiteEvidence(t, lag.Step(now, read))
			finiteEvidence(t, lead.Step(now, read))
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkChargeGapCheckStep: one second of data time for the charge lag
// check during a healthy AC charge (five reads; a minute's decision every
// 60th).
func BenchmarkChargeGapCheckStep(b *testing.B) {
	bus := &gapBus{amps: 10, slopeMV: 6, lagMV: func(int) float64 { return 0 }}
	reads := make([]Read, 3600)
	for i := range reads {
		reads[i] = bus.read(i)
	}
	c := NewChargeGapCheck()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), reads[i%len(reads)]) != nil {
			b.Fatal("a change on a healthy charge")
		}
	}
}

// TestChargeLeadCheck: a cell of 70 % capacity gains SOC 1/0.7 times as
// fast as the others during the same 10 A charge, a lead of 0.4286 % per
// % gained (2.571 mV per % on a 6 mV/% curve). Worked by hand as in
// TestChargeGapCheck: minute m has gained (m−10)/6 %; the lead reaches
// 1.5 % at m = 10 + 6·1.5/0.4286 = 31; hits at 31..35 raise a capacity
// outlier at the end of minute 35 (2160 s), since 1860 s, with a lead of
// 0.4286·25/6 = 1.786 %. The lowest-cell check sees nothing on this bus,
// and a cell of 95 % capacity (a lead of 0.053 per %, under 0.3) raises
// nothing over 4.5 h.
func TestChargeLeadCheck(t *testing.T) {
	k := 1/0.7 - 1
	weak := &gapBus{amps: 10, slopeMV: 6, lagMV: func(int) float64 { return 0 }, leadMV: func(s int) float64 { return k * 6 * float64(s) / 360 }}
	c := NewChargeLeadCheck()
	out, at := stepGap(c, weak, 2400)
	if len(out) != 1 || at[0] != 2160 {
		t.Fatalf("changes %+v at %v, want one raise at 2160 s", out, at)
	}
	r := out[0]
	if !r.Raised || r.Check != "charge_cell_lead" || r.Fault != "cell_capacity_outlier" || !r.Since.Equal(t0.Add(1860*time.Second)) {
		t.Errorf("raise %+v", r)
	}
	if got, want := r.Evidence["lead_pct_soc"], k*25/6; math.Abs(got-want) > 1e-6 {
		t.Errorf("lead %v, want %v", got, want)
	}
	if out, at := stepGap(NewChargeGapCheck(), weak, 2400); len(out) != 0 {
		t.Errorf("lag check on a weak cell: %+v at %v", out, at)
	}
	near := &gapBus{amps: 10, slopeMV: 6, lagMV: func(int) float64 { return 0 }, leadMV: func(s int) float64 { return (1/0.95 - 1) * 6 * float64(s) / 360 }}
	if out, at := stepGap(NewChargeLeadCheck(), near, 4*3600+1800); len(out) != 0 {
		t.Errorf("95 %% cell: %+v at %v", out, at)
	}
}
