package diag

import (
	"math"
	"testing"
	"time"
)

// gapBus is a car charging at amps (into the pack, VSS sign) except where
// off(s), its SOC climbing 9 % an hour (1/400 % a second) from 50 %, the
// average cell on an open-circuit slope of slopeMV mV per % from 3.700 V,
// the lowest cell 10 mV under it minus lagMV(s), the highest 10 mV over it
// plus leadMV(s).
type gapBus struct {
	amps    float64
	slopeMV float64
	lagMV   func(s int) float64
	stuck   bool                // the lowest cell reads 3.690 V throughout
	leadMV  func(s int) float64 // nil: 0
	off     func(s int) bool    // the charging flag is off (nil: never)
}

func (b *gapBus) read(s int) Read {
	soc := 50 + float64(s)/400
	avg := 3.700 + b.slopeMV/1000*(soc-50)
	lo := avg - 0.010 - b.lagMV(s)/1000
	if b.stuck {
		lo = 3.690
	}
	hi := avg + 0.010
	if b.leadMV != nil {
		hi += b.leadMV(s) / 1000
	}
	flag := 1.0
	if b.off != nil && b.off(s) {
		flag = 0
	}
	vals := []inputValue{{InCharging, flag}, {InPackI, b.amps}, {InSOC, soc}, {InCellAvg, avg}, {InCellMin, lo}, {InCellMax, hi}}
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

// lagOf is a lowest cell lagging r % of SOC for every % the pack gains, on
// a 6 mV/% curve: its gap grows 6r mV per %, 1/400 % a second.
func lagOf(r float64) func(int) float64 {
	return func(s int) float64 { return r * 6 * float64(s) / 400 }
}

// The minutes of these tests, worked by hand: minute m holds seconds
// 60m..60m+59 and ends (is judged) at 60(m+1); minutes 0..9 settle,
// minute 10 is the reference, so minute m has gained 0.15(m−10) % of SOC
// and judging starts at m = 24 (2.1 %, the first at 2 % or more).

// TestChargeGapCheck: a shorted cell lagging 0.45 % per % gained during a
// 10 A charge: its lag 0.0675(m−10) % reaches 1 % at m = 25 (1.0125);
// hits at 25..29 raise at 1800 s, since 1500 s, with a lag of
// 0.0675·19 = 1.2825 % over 2.85 % gained on a slope of 6 mV/%.
func TestChargeGapCheck(t *testing.T) {
	c := NewChargeGapCheck()
	out, at := stepGap(c, &gapBus{amps: 10, slopeMV: 6, lagMV: lagOf(0.45)}, 2400)
	if len(out) != 1 || at[0] != 1800 {
		t.Fatalf("changes %+v at %v, want one raise at 1800 s", out, at)
	}
	r := out[0]
	if !r.Raised || r.Check != "charge_cell_lag" || r.Fault != "cell_internal_short" || !r.Since.Equal(t0.Add(1500*time.Second)) || !c.Active() || c.Fault() != "cell_internal_short" {
		t.Errorf("raise %+v", r)
	}
	for k, want := range map[string]float64{"lag_pct_soc": 1.2825, "lag_per_soc_gained": 0.45, "ocv_slope_mv_per_pct": 6, "soc_gained_pct": 2.85, "charge_a": 10} {
		if got := r.Evidence[k]; math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
}

// TestChargeGapCheckHeavyShort: a short that drains its cell faster than
// the charge fills it (a lag of 1.5 % per % gained: the lowest cell
// falls) is a short, not a stuck reading: lag 0.225(m−10) hits from
// m = 24, raised at 1740 s as an internal short.
func TestChargeGapCheckHeavyShort(t *testing.T) {
	out, at := stepGap(NewChargeGapCheck(), &gapBus{amps: 10, slopeMV: 6, lagMV: lagOf(1.5)}, 2400)
	if len(out) != 1 || at[0] != 1740 || out[0].Fault != "cell_internal_short" || out[0].Evidence["lowest_rise_mv"] >= 0 {
		t.Fatalf("changes %+v at %v, want an internal short at 1740 s", out, at)
	}
}

// TestChargeGapCheckStuckLowest: a lowest-cell reading that holds while
// the average climbs is a sensor, not a cell. The gap grows by the
// average's whole rise, a lag of 1 % per % gained: every judged minute
// from m = 24 hits, the fifth (m = 28) raises at 1740 s; Fault reports the
// sensor fault while raised.
func TestChargeGapCheckStuckLowest(t *testing.T) {
	c := NewChargeGapCheck()
	out, at := stepGap(c, &gapBus{amps: 10, slopeMV: 6, lagMV: lagOf(0), stuck: true}, 2400)
	if len(out) != 1 || at[0] != 1740 || out[0].Fault != "sensor_fault" || out[0].Evidence["lowest_rise_mv"] != 0 || c.Fault() != "sensor_fault" {
		t.Fatalf("changes %+v at %v (Fault %q), want a sensor fault at 1740 s", out, at, c.Fault())
	}
}

// TestChargeGapCheckClears: the short of TestChargeGapCheck is raised at
// 1800 s; the charge stops at 2400 s (the lag stops growing) and a new
// one starts at 3000 s. Worked by hand: minutes 50..59 settle, 60 is the
// reference, judging starts at m = 74 with no lag: the tenth calm minute,
// m = 83, clears at 5040 s.
func TestChargeGapCheckClears(t *testing.T) {
	lag := lagOf(0.45)
	b := &gapBus{amps: 10, slopeMV: 6, lagMV: func(s int) float64 { return lag(min(s, 2400)) },
		off: func(s int) bool { return s >= 2400 && s < 3000 }}
	c := NewChargeGapCheck()
	out, at := stepGap(c, b, 5400)
	if len(out) != 2 || at[0] != 1800 || at[1] != 5040 || out[1].Raised || c.Active() || out[1].Fault != "cell_internal_short" {
		t.Fatalf("changes %+v at %v, want raised at 1800 s and cleared at 5040 s", out, at)
	}
}

// TestChargeGapCheckQuiet: what it must not report. A healthy cell with
// 5 % more capacity than the rest lags 0.05 % per % gained, over a whole
// 5 h charge (45 % of SOC); a short during a DC charge at 150 A or on a
// flat (LFP-like) curve cannot be judged; a current that changes by more
// than 10 % every 20 minutes keeps restarting the session (judging needs
// 24 minutes of one).
func TestChargeGapCheckQuiet(t *testing.T) {
	for name, b := range map[string]*gapBus{
		"capacity 5 % higher": {amps: 10, slopeMV: 6, lagMV: lagOf(0.05)},
		"DC charge":           {amps: 150, slopeMV: 6, lagMV: lagOf(0.45)},
		"flat curve":          {amps: 10, slopeMV: 0.5, lagMV: lagOf(0.45)},
	} {
		if out, at := stepGap(NewChargeGapCheck(), b, 5*3600); len(out) != 0 {
			t.Errorf("%s: changes %+v at %v", name, out, at)
		}
	}
	steps := &gapBus{amps: 10, slopeMV: 6, lagMV: lagOf(0.45)}
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
	reads := make([]Read, 3002)
	for i := range reads {
		reads[i] = b.read(i)
	}
	noAllocSteps(t, NewChargeGapCheck(), reads)
	noAllocSteps(t, NewChargeLeadCheck(), reads)
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
// fast as the others during the same 10 A charge, a lead of 0.428571 % per
// % gained. Worked by hand (minutes as above): the lead 0.0642857(m−10) %
// reaches 1.5 % at m = 34 (1.542857); hits at 34..38 raise a capacity
// outlier at 2340 s, since 2040 s, with a lead of 0.0642857·28 = 1.8 %.
// The lowest-cell check sees nothing on this bus, and a cell of 95 %
// capacity (0.053 per %, under 0.3) raises nothing over 5 h.
func TestChargeLeadCheck(t *testing.T) {
	k := 1/0.7 - 1
	weak := &gapBus{amps: 10, slopeMV: 6, lagMV: lagOf(0), leadMV: lagOf(k)}
	c := NewChargeLeadCheck()
	out, at := stepGap(c, weak, 2700)
	if len(out) != 1 || at[0] != 2340 {
		t.Fatalf("changes %+v at %v, want one raise at 2340 s", out, at)
	}
	r := out[0]
	if !r.Raised || r.Check != "charge_cell_lead" || r.Fault != "cell_capacity_outlier" || !r.Since.Equal(t0.Add(2040*time.Second)) || c.Fault() != "cell_capacity_outlier" {
		t.Errorf("raise %+v", r)
	}
	if got, want := r.Evidence["lead_pct_soc"], k*0.15*28; math.Abs(got-want) > 1e-6 {
		t.Errorf("lead %v, want %v", got, want)
	}
	if out, at := stepGap(NewChargeGapCheck(), weak, 2700); len(out) != 0 {
		t.Errorf("lag check on a weak cell: %+v at %v", out, at)
	}
	near := &gapBus{amps: 10, slopeMV: 6, lagMV: lagOf(0), leadMV: lagOf(1/0.95 - 1)}
	if out, at := stepGap(NewChargeLeadCheck(), near, 5*3600); len(out) != 0 {
		t.Errorf("95 %% cell: %+v at %v", out, at)
	}
}

// TestChargeLeadCheckClears: the weak cell of TestChargeLeadCheck raised
// at 2340 s; the charge stops at 2400 s and a new one starts at 3000 s in
// which the highest cell leads by 0.12 × the SOC gained, as healthy cells
// may. It is under half the lead's limits (0.75 %, 0.15 ×), so the tenth
// judged minute (m = 83, as in TestChargeGapCheckClears) clears at 5040 s.
func TestChargeLeadCheckClears(t *testing.T) {
	weak, healthy := lagOf(1/0.7-1), lagOf(0.12)
	b := &gapBus{amps: 10, slopeMV: 6, lagMV: lagOf(0), off: func(s int) bool { return s >= 2400 && s < 3000 },
		leadMV: func(s int) float64 { return weak(min(s, 2400)) + healthy(max(0, s-3000)) }}
	c := NewChargeLeadCheck()
	out, at := stepGap(c, b, 5400)
	if len(out) != 2 || at[0] != 2340 || at[1] != 5040 || out[1].Raised || c.Active() {
		t.Fatalf("changes %+v at %v, want raised at 2340 s and cleared at 5040 s", out, at)
	}
}
