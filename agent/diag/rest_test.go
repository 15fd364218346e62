package diag

import (
	"math"
	"testing"
	"time"
)

// restBus is a car that charges until second 600 (20 A into the pack,
// VSS sign), then stands with the charger's last 30 s of ramp-down at
// 5 A, then draws rest(s) (A into the pack: negative for the
// auxiliaries, 0 with the contactors open, plus any sensor offset).
type restBus struct {
	rest       func(s int) float64
	noCharging bool // the map has no charging flag
	speed      float64
	torque     float64
}

func (b *restBus) read(s int) Read {
	charging, current := 0.0, b.rest(s)
	switch {
	case s < 600:
		charging, current = 1, 20
	case s < 630:
		current = 5
	}
	vals := []inputValue{{InPackI, current}, {InSpeed, b.speed}, {InTorque, b.torque}}
	if !b.noCharging {
		vals = append(vals, inputValue{InCharging, charging})
	}
	return func(p string) (float64, bool) { return readInputs(p, vals) }
}

func stepRest(c *RestCurrentCheck, b *restBus, from, to int) (out []CheckChange, at []int) {
	for s := from; s <= to; s++ {
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), b.read(s)); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	return out, at
}

// TestRestCurrentCheck: after the charge the current sensor reads 16 A
// into the pack (an offset: the contactors are open, nothing flows) until
// second 1500. Worked by hand: minutes run [0,60), [60,120), ...; the
// charging flag was last on at 599 s, so rest seconds start at 719 s
// (restSettle); [720,780) is the first full rest minute over 3 A and the
// third, [840,900), raises at 900 s since 720 s. From 1500 s the reading
// is 0: the tenth calm minute, [2040,2100), clears at 2100 s.
func TestRestCurrentCheck(t *testing.T) {
	b := &restBus{rest: func(s int) float64 {
		if s < 1500 {
			return 16
		}
		return 0
	}}
	c := NewRestCurrentCheck()
	out, at := stepRest(c, b, 0, 2400)
	if len(out) != 2 || at[0] != 900 || at[1] != 2100 {
		t.Fatalf("changes %+v at %v, want a raise at 900 s and a clear at 2100 s", out, at)
	}
	r := out[0]
	if !r.Raised || r.Check != "pack_current_at_rest" || r.Fault != "sensor_fault" || !r.Since.Equal(t0.Add(720*time.Second)) {
		t.Errorf("raise %+v", r)
	}
	if got := r.Evidence["current_at_rest_a"]; math.Abs(got-16) > 1e-9 {
		t.Errorf("current at rest %v, want 16", got)
	}
	if out[1].Raised || c.Active() {
		t.Errorf("not cleared: %+v", out[1])
	}
}

// TestRestCurrentCheckHealthy: what a healthy car does at rest raises
// nothing: the auxiliaries' draw, open contactors (0 A), a charger
// ramping down after its flag went off, regeneration while rolling, and
// an offset the check cannot judge because the map has no charging flag.
func TestRestCurrentCheckHealthy(t *testing.T) {
	for name, b := range map[string]*restBus{
		"auxiliaries":        {rest: func(int) float64 { return -6 }},
		"contactors open":    {rest: func(int) float64 { return 0 }},
		"solar trickle":      {rest: func(int) float64 { return 0.4 }},
		"rolling with regen": {rest: func(int) float64 { return 40 }, speed: 20},
		"no charging flag":   {rest: func(int) float64 { return 16 }, noCharging: true},
		"torque at a stop":   {rest: func(int) float64 { return 16 }, torque: 50},
		"not a current":      {rest: func(int) float64 { return 1e6 }},
	} {
		c := NewRestCurrentCheck()
		if out, at := stepRest(c, b, 0, 3600); len(out) != 0 {
			t.Errorf("%s: changes %+v at %v", name, out, at)
		}
	}
}

// TestRestCurrentCheckContactors: with the map's contactor state reading
// open, the seconds at rest are OpenCurrentCheck's: the 16 A offset of
// TestRestCurrentCheck raises nothing here. Reading closed (a car that
// stands with its high voltage on), it raises at 900 s as there.
func TestRestCurrentCheckContactors(t *testing.T) {
	b := &restBus{rest: func(int) float64 { return 16 }}
	for conn, want := range map[float64]int{0: 0, 1: 900} {
		c := NewRestCurrentCheck()
		var at []int
		for s := 0; s <= 2400; s++ {
			read := b.read(s)
			ch := c.Step(t0.Add(time.Duration(s)*time.Second), func(p string) (float64, bool) {
				if p == PowerConnectedPath {
					return conn, true
				}
				return read(p)
			})
			if ch != nil {
				at = append(at, s)
			}
		}
		if (want == 0 && len(at) != 0) || (want != 0 && (len(at) != 1 || at[0] != want)) {
			t.Errorf("contactor state %v: changes at %v, want a raise at %d s (0: none)", conn, at, want)
		}
	}
}

// TestRestCurrentCheckGap: the charge of TestRestCurrentCheck, then no
// data from 600 s to 1200 s, then the parked car with the 16 A offset.
// What happened in the gap is unknown, so the 2 min settle starts at
// 1200 s: rest seconds from 1320 s, the third full minute over the limit,
// [1440,1500), raises at 1500 s (1380 s if the gap were taken as rest).
func TestRestCurrentCheckGap(t *testing.T) {
	b := &restBus{rest: func(int) float64 { return 16 }}
	c := NewRestCurrentCheck()
	out, at := stepRest(c, b, 0, 599)
	more, at2 := stepRest(c, b, 1200, 1800)
	out, at = append(out, more...), append(at, at2...)
	if len(out) != 1 || at[0] != 1500 || !out[0].Since.Equal(t0.Add(1320*time.Second)) {
		t.Fatalf("changes %+v at %v, want a raise at 1500 s since 1320 s", out, at)
	}
}

// TestRestCurrentCheckApart: three stops of 3 min an hour apart, each
// with one full rest minute reading 16 A into the pack, are not three
// minutes in a row: nothing is raised. (Each stop from 3600k + 960 s:
// settled from 3600k + 1079 s, so [3600k+1080, 3600k+1140) is its one
// full rest minute.)
func TestRestCurrentCheckApart(t *testing.T) {
	c := NewRestCurrentCheck()
	for s := 0; s <= 3*3600; s++ {
		stop := s%3600 >= 960 && s%3600 < 1140
		speed, current := 50.0, -60.0
		if stop {
			speed, current = 0, 16
		}
		vals := []inputValue{{InPackI, current}, {InSpeed, speed}, {InTorque, 0}, {InCharging, 0}}
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), func(p string) (float64, bool) { return readInputs(p, vals) }); ch != nil {
			t.Fatalf("change %+v at %d s", ch, s)
		}
	}
}

// TestRestCurrentCheckNoAlloc: a second's step allocates nothing.
func TestRestCurrentCheckNoAlloc(t *testing.T) {
	b := &restBus{rest: func(int) float64 { return -6 }}
	reads := make([]Read, 3002)
	for i := range reads {
		reads[i] = b.read(i)
	}
	noAllocSteps(t, NewRestCurrentCheck(), reads)
}

// FuzzRestCurrentCheck: any readings, a current moving at any rate, and
// any step in time: no panic and no evidence that is not a number.
func FuzzRestCurrentCheck(f *testing.F) {
	f.Add(0.0, 0.0, 0.0, 16.0, 0.0, int64(1))
	f.Add(math.NaN(), math.Inf(1), -1.0, 1e300, math.Inf(-1), int64(-7))
	f.Fuzz(func(t *testing.T, flag, speed, torque, i, di float64, dt int64) {
		c := NewRestCurrentCheck()
		now := t0
		for k := range 3000 {
			vals := []inputValue{{InCharging, flag}, {InSpeed, speed}, {InTorque, torque}, {InPackI, i + float64(k)*di}}
			finiteEvidence(t, c.Step(now, func(p string) (float64, bool) { return readInputs(p, vals) }))
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkRestCurrentCheckStep: one second of data time for the rest
// current check on a parked car drawing its auxiliaries (four reads; a
// minute's decision every 60th).
func BenchmarkRestCurrentCheckStep(b *testing.B) {
	bus := &restBus{rest: func(int) float64 { return -6 }}
	read := bus.read(3600)
	c := NewRestCurrentCheck()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), read) != nil {
			b.Fatal("a change on a healthy parked car")
		}
	}
}
