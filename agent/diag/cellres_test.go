package diag

import (
	"math"
	"testing"
	"time"
)

// resBus is a pack whose discharge current alternates between 20 A and
// 80 A every 5 s (mean 50 A, standard deviation 30 A in every minute).
// The average cell is 3.7 V less 1 mΩ times the current; the lowest cell
// sits 5 mV under it plus extra(s) Ω times the current.
type resBus struct {
	extra   func(s int) float64 // the lowest cell's extra resistance, Ω
	current func(s int) float64 // discharge current, A (nil: the 20/80 A pattern)
	drift   func(s int) float64 // more gap, V, not with the current (nil: none)
	avg     func(s int) float64 // the average cell's reading, V (nil: 3.7 V − 1 mΩ × d)
	tSpread float64             // hottest − coolest module, K (0: the map has no temperatures)
}

func (b *resBus) read(s int) Read {
	d := 20.0
	if s/5%2 == 1 {
		d = 80
	}
	if b.current != nil {
		d = b.current(s)
	}
	avg := 3.7 - 0.001*d
	low := avg - 0.005 - b.extra(s)*d
	if b.avg != nil {
		avg = b.avg(s)
	}
	if b.drift != nil {
		low -= b.drift(s)
	}
	vals := []inputValue{{InPackI, -d}, {InCellAvg, avg}, {InCellMin, low}}
	if b.tSpread > 0 {
		vals = append(vals, inputValue{InTempMax, 20 + b.tSpread}, inputValue{InTempMin, 20})
	}
	return func(p string) (float64, bool) { return readInputs(p, vals) }
}

func stepRes(c *CellResistanceCheck, b *resBus, from, to int) (out []CheckChange, at []int) {
	for s := from; s <= to; s++ {
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), b.read(s)); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	return out, at
}

// TestCellResistanceCheck: the lowest cell has 1.5 mΩ of extra
// resistance, 1.5 times the average cell's 1 mΩ, until second 1200.
// Worked by hand: every minute [60k, 60k+60) is judged (60 discharge
// seconds, spread 30 A); within it the gap's covariance with the current
// is 0.0015·900 and the average's −0.001·900, so ΔR/R = 1.5 once five
// minutes are pooled: at the end of [240,300) (300 s), then 360 s and
// 420 s, the third in a row, which raises at 420 s since 240 s. From
// 1200 s the extra resistance is 0: the pool holds 4, 3, 2, 1 faulty
// minutes of 5 at 1260, 1320, 1380 and 1440 s (ΔR/R 1.2, 0.9, 0.6,
// 0.3), so the first calm minute (under 0.5) ends at 1440 s and the
// tenth at 1980 s, which clears.
func TestCellResistanceCheck(t *testing.T) {
	b := &resBus{extra: func(s int) float64 {
		if s < 1200 {
			return 0.0015
		}
		return 0
	}}
	c := NewCellResistanceCheck()
	out, at := stepRes(c, b, 0, 2400)
	if len(out) != 2 || at[0] != 420 || at[1] != 1980 {
		t.Fatalf("changes %+v at %v, want a raise at 420 s and a clear at 1980 s", out, at)
	}
	r := out[0]
	if !r.Raised || r.Check != "cell_resistance" || r.Fault != "cell_capacity_outlier" || !r.Since.Equal(t0.Add(240*time.Second)) {
		t.Errorf("raise %+v", r)
	}
	for key, want := range map[string]float64{"extra_resistance_ratio": 1.5, "cell_resistance_mohm": 1, "weakest_extra_mohm": 1.5, "current_spread_a": 30} {
		if got := r.Evidence[key]; math.Abs(got-want) > 1e-6*math.Max(1, want) {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if out[1].Raised || c.Active() {
		t.Errorf("not cleared: %+v", out[1])
	}
}

// TestCellResistanceCheckHealthy: what a healthy pack does, or readings
// that cannot measure a resistance, raise nothing: an average reading
// that does not move (no R to compare with: the lowest cell's 0.3 mΩ
// would read as ΔR/R of 10¹² from rounding), the weak cell with the
// modules 10 K apart (a cold corner, not judged), a lowest reading that
// jumps ±15 mV unlike the current, cells alike, the coldest cell 40 % more resistive (ΔR/R 0.4),
// a steady current (nothing judged, also when 1 A of ripple moves the
// readings by a millivolt in step with it), a charge (no discharge seconds), a
// gap that grows 0.5 mV a minute with time but not with the current (a
// lowest cell running out of charge first; against the 20/80 A pattern
// its covariance is 0.0005/60·75, ΔR/R 0.0007), and readings that are
// not a current.
func TestCellResistanceCheckHealthy(t *testing.T) {
	for name, b := range map[string]*resBus{
		"cells alike":    {extra: func(int) float64 { return 0 }},
		"cold cell":      {extra: func(int) float64 { return 0.0004 }},
		"steady current": {extra: func(int) float64 { return 0.0015 }, current: func(int) float64 { return 50 }},
		"steady current, a reading's last step": {extra: func(int) float64 { return 0.001 }, current: func(s int) float64 {
			return 49.5 + float64(s/5%2) // 0.5 A of spread: ΔR/R 1 from ±0.5 mV, not judged
		}},
		"charging": {extra: func(int) float64 { return 0.0015 }, current: func(s int) float64 {
			return -20 - 60*float64(s/5%2)
		}},
		"gap grows with time": {extra: func(int) float64 { return 0 }, drift: func(s int) float64 { return 0.0005 * float64(s) / 60 }},
		"not a current":       {extra: func(int) float64 { return 0.0015 }, current: func(s int) float64 { return 1e6 * float64(1+s/5%2) }},
		"frozen average":      {extra: func(int) float64 { return 0.0003 }, avg: func(int) float64 { return 3.812 }},
		"modules 10 K apart":  {extra: func(int) float64 { return 0.0015 }, tSpread: 10},
		"frozen average, irregular current": {extra: func(int) float64 { return 0.0003 }, avg: func(int) float64 { return 3.812 },
			current: func(s int) float64 { return 10 + 150*math.Mod(float64(s)*0.6180339887, 1) }},
		"gap follows the current under noise": {extra: func(int) float64 { return 0.0015 }, drift: func(s int) float64 {
			return 0.1 * float64((s*7919/13)%3-1)
		}},
		"gap jumps not with the current": {extra: func(int) float64 { return 0 }, drift: func(s int) float64 {
			return 0.015 * float64((s*7919/13)%3-1) // −15, 0 or +15 mV, a pattern unrelated to the current's
		}},
	} {
		c := NewCellResistanceCheck()
		if out, at := stepRes(c, b, 0, 3600); len(out) != 0 {
			t.Errorf("%s: changes %+v at %v", name, out, at)
		}
	}
}

// TestCellResistanceCheckHoldBreaks: the weak cell of
// TestCellResistanceCheck, but in the minute [360,420) the lowest
// reading is 3.3 V + 3 mΩ times the current (it rises with the load, as
// when another cell's reading takes the lowest place): that minute's gap
// covariance is −0.004·900, so every pool holding it sums to 4·1.5 − 4
// = 2 mΩ of extra over 5 mΩ, ΔR/R 0.4. Worked by hand: the judged
// minutes ending 300 and 360 s are over the limit, the one ending 420 s
// is not and starts the count over; the odd minute stays in the pools
// until 660 s, and the minutes ending 720, 780 and 840 s (ΔR/R 1.5)
// raise at 840 s since 660 s.
func TestCellResistanceCheckHoldBreaks(t *testing.T) {
	c := NewCellResistanceCheck()
	b := &resBus{extra: func(int) float64 { return 0.0015 }}
	var out []CheckChange
	var at []int
	for s := 0; s <= 1200; s++ {
		read := b.read(s)
		if s >= 360 && s < 420 {
			d := 20 + 60*float64(s/5%2)
			vals := []inputValue{{InPackI, -d}, {InCellAvg, 3.7 - 0.001*d}, {InCellMin, 3.3 + 0.003*d}}
			read = func(p string) (float64, bool) { return readInputs(p, vals) }
		}
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), read); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	if len(out) != 1 || at[0] != 840 || !out[0].Since.Equal(t0.Add(660*time.Second)) {
		t.Fatalf("changes %+v at %v, want a raise at 840 s since 660 s", out, at)
	}
}

// TestCellResistanceCheckOneMinute: one minute, [300,360), swings the
// current between 20 and 320 A (150 A of spread against the others' 30)
// with its lowest reading 3 mΩ more resistive, every other minute none.
// The pools holding it read ΔR/R = 0.003·22500 / (0.001·(22500 +
// 4·900)) = 2.59, five pools in a row, but the median of their minutes'
// own ratios is 0: one minute does not carry them, nothing is raised.
func TestCellResistanceCheckOneMinute(t *testing.T) {
	b := &resBus{
		extra: func(s int) float64 {
			if s >= 300 && s < 360 {
				return 0.003
			}
			return 0
		},
		current: func(s int) float64 {
			if s >= 300 && s < 360 {
				return 20 + 300*float64(s/5%2)
			}
			return 20 + 60*float64(s/5%2)
		},
	}
	if out, at := stepRes(NewCellResistanceCheck(), b, 0, 1200); len(out) != 0 {
		t.Errorf("changes %+v at %v", out, at)
	}
}

// TestCellResistanceCheckWarmPack: the weak cell with the modules 5 K
// apart (under resMaxTempSpreadK) raises as in TestCellResistanceCheck,
// at 420 s.
func TestCellResistanceCheckWarmPack(t *testing.T) {
	b := &resBus{extra: func(int) float64 { return 0.0015 }, tSpread: 5}
	if out, at := stepRes(NewCellResistanceCheck(), b, 0, 600); len(out) != 1 || at[0] != 420 {
		t.Errorf("changes %+v at %v, want a raise at 420 s", out, at)
	}
}

// TestCellResistanceCheckGapAndClock: a gap of 10 s in the data at
// [200,210) drops the minute under way ([180,240) becomes [210,270) and
// the minutes after shift by 30 s: the pool fills at 330 s, the third
// counted pool raises at 450 s); a clock going back starts over and
// raises again at 420 s.
func TestCellResistanceCheckGapAndClock(t *testing.T) {
	b := &resBus{extra: func(int) float64 { return 0.0015 }}
	c := NewCellResistanceCheck()
	out, at := stepRes(c, b, 0, 199)
	more, at2 := stepRes(c, b, 210, 600)
	if out, at = append(out, more...), append(at, at2...); len(out) != 1 || at[0] != 450 {
		t.Fatalf("changes %+v at %v, want a raise at 450 s", out, at)
	}
	if out, at := stepRes(c, b, 0, 600); len(out) != 1 || at[0] != 420 {
		t.Errorf("after the clock went back: changes %+v at %v, want a raise at 420 s", out, at)
	}
}

// TestCellResistanceCheckNoAlloc: a second's step allocates nothing.
func TestCellResistanceCheckNoAlloc(t *testing.T) {
	b := &resBus{extra: func(int) float64 { return 0 }}
	reads := make([]Read, 3002)
	for i := range reads {
		reads[i] = b.read(i)
	}
	noAllocSteps(t, NewCellResistanceCheck(), reads)
}

// FuzzCellResistanceCheck: any readings moving at any rate, and any step
// in time: no panic and no evidence that is not a number.
func FuzzCellResistanceCheck(f *testing.F) {
	f.Add(50.0, 30.0, 3.7, 0.001, 0.0015, int64(1))
	f.Add(math.NaN(), 1e300, math.Inf(-1), 1e-300, -5.0, int64(-7))
	f.Fuzz(func(t *testing.T, d, swing, v0, r, extra float64, dt int64) {
		c := NewCellResistanceCheck()
		now := t0
		for k := range 3000 {
			i := d + swing*float64(k/5%2)
			avg := v0 - r*i
			vals := []inputValue{{InPackI, -i}, {InCellAvg, avg}, {InCellMin, avg - extra*i}}
			finiteEvidence(t, c.Step(now, func(p string) (float64, bool) { return readInputs(p, vals) }))
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkCellResistanceCheckStep: one second of data time for the check
// during a drive (three reads; a minute's regression every 60th).
func BenchmarkCellResistanceCheckStep(b *testing.B) {
	bus := &resBus{extra: func(int) float64 { return 0 }}
	reads := [2]Read{bus.read(0), bus.read(5)}
	c := NewCellResistanceCheck()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), reads[i/5%2]) != nil {
			b.Fatal("a change on a healthy pack")
		}
	}
}
