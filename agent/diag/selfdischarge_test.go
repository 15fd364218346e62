package diag

import (
	"math"
	"testing"
	"time"
)

// parkBus is a car that drives (40 A out of the pack at 50 km/h) until
// second 600 and then parks: awake at rest until 900 s, asleep (no data)
// until 8100 s, awake again until 8400 s (a BMS wake-up), asleep until
// 12000 s, and from then on as drive2 says. The average cell reads avg(s)
// and the lowest low(s), V.
type parkBus struct {
	avg, low   func(s int) float64
	rest       float64 // A through the pack at rest (VSS: into the pack)
	drive2     func(s int) bool
	noSpeed    bool // the map has neither speed nor charging flag
	staleUntil int  // a woken BMS repeats the values from before its sleep until this second
}

// awake reports whether second s has data.
func (b *parkBus) awake(s int) bool {
	switch {
	case s < 900, s >= 8100 && s < 8400:
		return true
	case s >= 12000:
		return true
	}
	return false
}

func (b *parkBus) driving(s int) bool {
	return s < 600 || (s >= 12000 && b.drive2 != nil && b.drive2(s))
}

func (b *parkBus) read(s int) Read {
	i, v := b.rest, 0.0
	if b.driving(s) {
		i, v = -40, 50
	}
	vs := s
	if s >= 8100 && s < b.staleUntil {
		vs = 899
	}
	vals := []inputValue{{InPackI, i}, {InCellAvg, b.avg(vs)}, {InCellMin, b.low(vs)}}
	if !b.noSpeed {
		vals = append(vals, inputValue{InSpeed, v}, inputValue{InCharging, 0})
	}
	return func(p string) (float64, bool) { return readInputs(p, vals) }
}

func stepPark(c *SelfDischargeCheck, b *parkBus, from, to int) (out []CheckChange, at []int) {
	for s := from; s <= to; s++ {
		if !b.awake(s) {
			continue
		}
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), b.read(s)); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	return out, at
}

// shortLow is a lowest cell 5 mV under an average of 3.800 V that loses
// 20 mV an hour from second 600 (a cell draining about 2-4 % of its
// charge an hour, mid-range) until second stop.
func shortLow(stop int) func(s int) float64 {
	return func(s int) float64 {
		s = min(s, stop)
		if s < 600 {
			return 3.795
		}
		return 3.795 - 0.020*float64(s-600)/3600
	}
}

func flatAvg(int) float64 { return 3.800 }

// TestSelfDischargeCheck, worked by hand. Minutes run [0,60), [60,120),
// ...; the car last moved at 599 s, so rest seconds start at 719 s
// (sdSettle) and [720,780) is the reference: lowest cell mean over
// 720..779 s, 3795 − 20·(749.5 − 600)/3600 = 3794.169 mV. The rest
// minutes up to 900 s are under sdMinSpan from it. The data resumes at
// 8100 s; rest seconds from 8160 s (sdWakeSkip), so [8160,8220) is
// judged: lowest 3795 − 20·(8189.5 − 600)/3600 = 3752.836 mV, 41.33 mV
// under the reference with the average unchanged: a hit; [8220,8280) is
// the second (sdHold) and raises at 8280 s, since the reference's 720 s;
// its evidence is the second judged minute's, 7500 s = 2.083 h after the
// reference.
func TestSelfDischargeCheck(t *testing.T) {
	b := &parkBus{avg: flatAvg, low: shortLow(1 << 30)}
	c := NewSelfDischargeCheck()
	out, at := stepPark(c, b, 0, 8399)
	if len(out) != 1 || at[0] != 8280 {
		t.Fatalf("changes %+v at %v, want one raise at 8280 s", out, at)
	}
	r := out[0]
	if !r.Raised || r.Check != "cell_self_discharge" || r.Fault != "cell_internal_short" || !r.Since.Equal(t0.Add(720*time.Second)) {
		t.Errorf("raise %+v", r)
	}
	// The second judged minute: lowest 3795 − 20·(8249.5 − 600)/3600 = 3752.503 mV.
	want := 3794.169 - 3752.503
	if got := r.Evidence["gap_growth_mv"]; math.Abs(got-want) > 0.01 {
		t.Errorf("gap growth %.3f mV, want %.3f", got, want)
	}
	if got := r.Evidence["lowest_drop_mv"]; math.Abs(got-want) > 0.01 {
		t.Errorf("lowest drop %.3f mV, want %.3f", got, want)
	}
	if got := r.Evidence["rest_hours"]; math.Abs(got-(8220-720)/3600.0) > 1e-9 {
		t.Errorf("rest hours %v, want %v", got, (8220-720)/3600.0)
	}
	if !c.Active() {
		t.Error("not active")
	}
}

// TestSelfDischargeCheckClear: the cell stops draining at 8400 s (raised
// at 8280 s as above). The car drives from 12000 s to 12600 s, so the
// reference starts over at [12720,12780) (settled at 12719 s); the car
// then stays awake at rest. Judged minutes from 12720 + 1800 s have no
// growth; the ones from 12720 + 3600 s = 16320 s (sdClearSpan) are calm,
// and the third, [16440,16500), clears at 16500 s.
func TestSelfDischargeCheckClear(t *testing.T) {
	b := &parkBus{avg: flatAvg, low: shortLow(8400), drive2: func(s int) bool { return s < 12600 }}
	c := NewSelfDischargeCheck()
	out, at := stepPark(c, b, 0, 17000)
	if len(out) != 2 || at[0] != 8280 || at[1] != 16500 || out[1].Raised || c.Active() {
		t.Fatalf("changes %+v at %v, want a raise at 8280 s and a clear at 16500 s", out, at)
	}
}

// TestSelfDischargeCheckHealthy: what a healthy parked pack does raises
// nothing: a steady gap; a whole pack that relaxes (average and lowest
// cell falling together by 8 mV); a gap that moves by 17 mV (under
// sdGrowth); and the same draining cell judged only against a reference
// it cannot be compared with (the auxiliaries drawing 5 A at rest, or the
// average 15 mV lower after the sleep: the car may have been used); a gap
// that grew 21 mV while the lowest cell fell only 12 mV (under sdDrop);
// and a lowest cell 30 mV lower after a drive (12000..12600 s) that left
// the average where it was: the drive started a new reference.
func TestSelfDischargeCheckHealthy(t *testing.T) {
	relax := func(s int) float64 { return 3.800 - 0.008*(1-math.Exp(-float64(max(0, s-600))/3000)) }
	cases := map[string]*parkBus{
		"steady":       {avg: flatAvg, low: func(int) float64 { return 3.795 }},
		"relaxing":     {avg: relax, low: func(s int) float64 { return relax(s) - 0.005 }},
		"small growth": {avg: flatAvg, low: func(s int) float64 { return 3.795 - 0.017*math.Min(1, math.Max(0, float64(s-600))/7000) }},
		"drawing 5 A":  {avg: flatAvg, low: shortLow(1 << 30), rest: -5},
		"lowest fell 12 mV": {avg: func(s int) float64 {
			if s >= 8100 {
				return 3.809
			}
			return 3.800
		}, low: func(s int) float64 {
			if s >= 8100 {
				return 3.783
			}
			return 3.795
		}},
		"used between": {avg: flatAvg, low: func(s int) float64 {
			if s >= 12000 {
				return 3.765
			}
			return 3.795
		}, drive2: func(s int) bool { return s < 12600 }},
		"average moved": {avg: func(s int) float64 {
			if s >= 8100 {
				return 3.785
			}
			return 3.800
		}, low: shortLow(1 << 30)},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			c := NewSelfDischargeCheck()
			end := 14000
			if b.drive2 == nil && b.low(12000) < b.low(8399) {
				// The draining cell is judged against a fresh reference
				// once the car has been awake at rest for 30 min.
				end = 8399
			}
			if out, at := stepPark(c, b, 0, end); len(out) != 0 {
				t.Fatalf("changes %+v at %v", out, at)
			}
		})
	}
}

// TestSelfDischargeCheckWake: a woken BMS that repeats its values from
// before the sleep for the first 30 s (the other simulator's BMS does;
// lowest 3795 − 20·299/3600 = 3793.339 mV). sdWakeSkip leaves out the
// first 60 s, so the raise comes at 8280 s as without the stale values;
// judged, the minute [8100,8160) would have been a hit ((30 × 3793.339 +
// 30 × 3753.086)/60 is 20.96 mV under the reference) and raised at 8220 s.
// Without speed and charging flag in the map the check judges on the
// current alone, the same way.
func TestSelfDischargeCheckWake(t *testing.T) {
	for _, noSpeed := range []bool{false, true} {
		b := &parkBus{avg: flatAvg, low: shortLow(1 << 30), staleUntil: 8130, noSpeed: noSpeed}
		c := NewSelfDischargeCheck()
		out, at := stepPark(c, b, 0, 8399)
		if len(out) != 1 || at[0] != 8280 {
			t.Fatalf("no speed %v: changes %+v at %v, want a raise at 8280 s", noSpeed, out, at)
		}
	}
}

// TestSelfDischargeCheckInputsGap: a live agent's clock ticks through
// the BMS's sleep (900..8100 s) with the inputs missing, and the woken
// BMS repeats its values from before the sleep for 30 s: the inputs'
// return is a wake-up, so the raise comes at 8280 s as after a gap in
// the data (TestSelfDischargeCheckWake); judged, the stale minute
// [8100,8160) would raise at 8220 s.
func TestSelfDischargeCheckInputsGap(t *testing.T) {
	b := &parkBus{avg: flatAvg, low: shortLow(1 << 30), staleUntil: 8130}
	c := NewSelfDischargeCheck()
	none := func(string) (float64, bool) { return 0, false }
	var at []int
	for s := 0; s < 8400; s++ {
		read := none
		if b.awake(s) {
			read = b.read(s)
		}
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), read); ch != nil {
			at = append(at, s)
		}
	}
	if len(at) != 1 || at[0] != 8280 {
		t.Fatalf("changes at %v, want a raise at 8280 s", at)
	}
}

// TestSelfDischargeCheckClockBack: data time going back (another log)
// starts the check over: no reference from the other car.
func TestSelfDischargeCheckClockBack(t *testing.T) {
	b := &parkBus{avg: flatAvg, low: shortLow(1 << 30)}
	c := NewSelfDischargeCheck()
	stepPark(c, b, 0, 899)
	// The other log's car has always rested with a lower cell: its first
	// rest minute is a reference, not a comparison.
	c.Step(t0.Add(-time.Hour), b.read(8100))
	// Judged against the old car's reference (lowest 3794.2 mV at 720 s)
	// this lowest cell would be 44 mV under it from t0 + 2520 s on.
	healthy := &parkBus{avg: flatAvg, low: func(int) float64 { return 3.750 }}
	for s := 1; s < 3600+6000; s++ {
		if ch := c.Step(t0.Add(-time.Hour+time.Duration(s)*time.Second), healthy.read(8100+s%300)); ch != nil {
			t.Fatalf("change %+v at %d s after the clock went back", ch, s)
		}
	}
}

// TestSelfDischargeCheckNoAlloc: a step does not allocate.
func TestSelfDischargeCheckNoAlloc(t *testing.T) {
	b := &parkBus{avg: flatAvg, low: func(int) float64 { return 3.795 }}
	reads := make([]Read, 3002)
	for s := range reads {
		reads[s] = b.read(s)
	}
	noAllocSteps(t, NewSelfDischargeCheck(), reads)
}

func FuzzSelfDischargeCheck(f *testing.F) {
	f.Add(0.0, 0.0, 3.8, 3.79, -1e-5, int64(1))
	f.Add(math.NaN(), math.Inf(1), 1e300, -3.0, math.Inf(-1), int64(-7))
	f.Fuzz(func(t *testing.T, speed, i, avg, low, dl float64, dt int64) {
		c := NewSelfDischargeCheck()
		now := t0
		for k := range 3000 {
			vals := []inputValue{{InSpeed, speed}, {InPackI, i}, {InCellAvg, avg}, {InCellMin, low + float64(k)*dl}}
			finiteEvidence(t, c.Step(now, func(p string) (float64, bool) { return readInputs(p, vals) }))
			now = now.Add(time.Duration(dt%7200) * time.Second)
		}
	})
}

// BenchmarkSelfDischargeCheckStep: one second of data time for the
// self-discharge check on a parked car (five reads; a minute's decision
// every 60th).
func BenchmarkSelfDischargeCheckStep(b *testing.B) {
	bus := &parkBus{avg: flatAvg, low: func(int) float64 { return 3.795 }}
	read := bus.read(3600)
	c := NewSelfDischargeCheck()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), read) != nil {
			b.Fatal("a change on a healthy parked car")
		}
	}
}

// TestSelfDischargeCheckRestart: the agent powers down with the car at
// 900 s and starts again at the BMS wake-up (8100 s) with the checks'
// memory it saved: the raise comes at 8280 s, as for an agent that ran
// through the sleep (TestSelfDischargeCheck). Without the memory the
// restarted agent has no reference and raises nothing; with a reference
// older than MaxSleepMemory (the car stood 8 days) it takes the first
// rest minute after the wake-up as a new reference.
func TestSelfDischargeCheckRestart(t *testing.T) {
	b := &parkBus{avg: flatAvg, low: shortLow(1 << 30)}
	before := NewChecks()
	var sd *SelfDischargeCheck
	for _, c := range before {
		if c, ok := c.(*SelfDischargeCheck); ok {
			sd = c
		}
	}
	if out, _ := stepPark(sd, b, 0, 899); len(out) != 0 {
		t.Fatalf("changes before the sleep: %+v", out)
	}
	mem := AppendCheckMemory(nil, before)

	after := NewChecks()
	if err := RestoreCheckMemory(mem, after); err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, c := range after {
		if c.Name() != "cell_self_discharge" {
			continue
		}
		_, got = stepPark(c.(*SelfDischargeCheck), b, 8100, 8399)
		if !c.Active() {
			t.Error("restored check not active after the wake-up")
		}
	}
	if len(got) != 1 || got[0] != 8280 {
		t.Errorf("restored: changes at %v, want a raise at 8280 s", got)
	}
	if out, at := stepPark(NewSelfDischargeCheck(), b, 8100, 8399); len(out) != 0 {
		t.Errorf("without memory: changes %+v at %v", out, at)
	}

	// Saved while raised (at 8399 s): the restarted agent keeps the
	// fault and clears it as one that ran on (TestSelfDischargeCheckClear:
	// at 16500 s).
	clr := &parkBus{avg: flatAvg, low: shortLow(8400), drive2: func(s int) bool { return s < 12600 }}
	run := NewSelfDischargeCheck()
	if _, at := stepPark(run, clr, 0, 8399); len(at) != 1 || !run.Active() {
		t.Fatalf("changes at %v before the save, want a raise", at)
	}
	again := NewSelfDischargeCheck()
	if err := again.RestoreMemory(run.AppendMemory(nil)); err != nil {
		t.Fatalf("restoring a raised check: %v", err)
	}
	if !again.Active() {
		t.Fatal("restored check not raised")
	}
	if out, at := stepPark(again, clr, 12000, 17000); len(out) != 1 || at[0] != 16500 || out[0].Raised || again.Active() {
		t.Fatalf("restored raised check: changes %+v at %v, want a clear at 16500 s", out, at)
	}

	// The same memory read by an agent after 8 days: stale.
	late := NewSelfDischargeCheck()
	var one []byte
	one = sd.AppendMemory(one)
	if err := late.RestoreMemory(one); err != nil {
		t.Fatal(err)
	}
	week := 8 * 24 * 3600
	for s := 8100; s < 8400; s++ {
		if ch := late.Step(t0.Add(time.Duration(week+s)*time.Second), b.read(s)); ch != nil {
			t.Fatalf("change %+v after an 8-day sleep", ch)
		}
	}
}

// TestCheckMemoryRefused: a damaged record is refused with the reason
// and leaves the checks as new; an entry for a check this agent does not
// have is skipped.
func TestCheckMemoryRefused(t *testing.T) {
	b := &parkBus{avg: flatAvg, low: shortLow(1 << 30)}
	sd := NewSelfDischargeCheck()
	stepPark(sd, b, 0, 899)
	good := AppendCheckMemory(nil, []Check{sd})
	flip := func(i int) []byte {
		c := append([]byte(nil), good...)
		c[i] ^= 0x40
		return c
	}
	// An entry with a valid checksum but a reference of 9 V.
	bad := NewSelfDischargeCheck()
	*bad = *sd
	bad.ref.avg = 9000
	cases := map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"magic":     flip(0),
		"version":   flip(4),
		"checksum":  flip(len(good) - 1),
		"flipped":   flip(30),
		"too long":  make([]byte, MaxCheckMemorySize+1),
		"reference": AppendCheckMemory(nil, []Check{bad}),
	}
	for name, rec := range cases {
		c := NewSelfDischargeCheck()
		err := RestoreCheckMemory(rec, []Check{c})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if *c != (SelfDischargeCheck{}) {
			t.Errorf("%s: check not new after %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	// Another agent's check ("cell_future") and ours: ours is restored.
	other := &namedMemCheck{SelfDischargeCheck: NewSelfDischargeCheck()}
	rec := AppendCheckMemory(nil, []Check{other, sd})
	c := NewSelfDischargeCheck()
	if err := RestoreCheckMemory(rec, []Check{c}); err != nil || !c.refOK || c.ref != sd.ref {
		t.Errorf("restored %+v, %v; want the reference %+v", c.ref, err, sd.ref)
	}
}

// namedMemCheck is a remembering check under another name.
type namedMemCheck struct{ *SelfDischargeCheck }

func (namedMemCheck) Name() string { return "cell_future" }

func FuzzRestoreCheckMemory(f *testing.F) {
	b := &parkBus{avg: flatAvg, low: shortLow(1 << 30)}
	sd := NewSelfDischargeCheck()
	stepPark(sd, b, 0, 899)
	f.Add(AppendCheckMemory(nil, []Check{sd}))
	f.Add(AppendCheckMemory(nil, nil))
	f.Fuzz(func(t *testing.T, rec []byte) {
		c := NewSelfDischargeCheck()
		if err := RestoreCheckMemory(rec, []Check{c}); err != nil {
			return
		}
		// Whatever was accepted steps without a panic and encodes again.
		for s := 8100; s < 8400; s++ {
			finiteEvidence(t, c.Step(t0.Add(time.Duration(s)*time.Second), b.read(s)))
		}
		_ = AppendCheckMemory(nil, []Check{c})
	})
}
