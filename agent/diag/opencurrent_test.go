package diag

import (
	"math"
	"testing"
	"time"
)

// openBus is a car that drives with its contactors closed (60 A out of
// the pack, VSS sign) until second 600, then parks with them open: the
// sensor then reads parked(s), its offset (0 when healthy).
type openBus struct {
	parked      func(s int) float64
	noContactor bool // the map has no contactor state
}

func (b *openBus) read(s int) Read {
	conn, current := 1.0, -60.0+b.parked(s)
	if s >= 600 {
		conn, current = 0, b.parked(s)
	}
	vals := []inputValue{{InPackI, current}}
	return func(p string) (float64, bool) {
		if p == PowerConnectedPath {
			return conn, !b.noContactor
		}
		return readInputs(p, vals)
	}
}

// connRead reads the contactor state conn and the readings vals.
func connRead(conn float64, vals []inputValue) Read {
	return func(p string) (float64, bool) {
		if p == PowerConnectedPath {
			return conn, true
		}
		return readInputs(p, vals)
	}
}

func stepOpen(c *OpenCurrentCheck, read func(s int) Read, from, to int) (out []CheckChange, at []int) {
	for s := from; s <= to; s++ {
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), read(s)); ch != nil {
			out = append(out, *ch)
			at = append(at, s)
		}
	}
	return out, at
}

// TestOpenCurrentCheck: the sensor reads 8 A off its zero, towards
// discharge or towards charge (or 3.5 A, just over the limit), until
// second 1200. Worked by hand: blocks
// run [0,30), [30,60), ...; the contactors read open from 600 s, so
// seconds count from 610 s (openSettle); [600,630) holds 20 of them
// (610..629, openMinSecs) reading 8 A, the first block over 3 A, and the
// third, [660,690), raises at 690 s since 600 s. From 1200 s the reading
// is 0: the fifth calm block, [1320,1350), clears at 1350 s.
func TestOpenCurrentCheck(t *testing.T) {
	for _, off := range []float64{-8, 8, 3.5} {
		b := &openBus{parked: func(s int) float64 {
			if s < 1200 {
				return off
			}
			return 0
		}}
		c := NewOpenCurrentCheck()
		out, at := stepOpen(c, b.read, 0, 2400)
		if len(out) != 2 || at[0] != 690 || at[1] != 1350 {
			t.Fatalf("offset %v: changes %+v at %v, want a raise at 690 s and a clear at 1350 s", off, out, at)
		}
		r := out[0]
		if !r.Raised || r.Check != "pack_current_contactors_open" || r.Fault != "sensor_fault" || !r.Since.Equal(t0.Add(600*time.Second)) {
			t.Errorf("offset %v: raise %+v", off, r)
		}
		if got := r.Evidence["current_contactors_open_a"]; math.Abs(got-off) > 1e-9 {
			t.Errorf("current with the contactors open %v, want %v", got, off)
		}
		if got := r.Evidence["open_seconds"]; got != 30 {
			t.Errorf("open seconds %v, want 30", got)
		}
		if out[1].Raised || c.Active() {
			t.Errorf("offset %v: not cleared: %+v", off, out[1])
		}
	}
}

// TestOpenCurrentCheckHealthy: what a healthy pack reads with its
// contactors open raises nothing: a zero with noise and a small offset,
// a current message that still carries the drive's current for 5 s after
// the contactors opened, 3 s pulses of 12 A; nor does an offset the check
// cannot judge (no contactor state in the map), or a reading that is not
// a current.
func TestOpenCurrentCheckHealthy(t *testing.T) {
	for name, b := range map[string]*openBus{
		"zero with noise":     {parked: func(s int) float64 { return 0.5 * float64(s%3-1) }},
		"small offset":        {parked: func(int) float64 { return -2.5 }},
		"offset at the limit": {parked: func(int) float64 { return 2.9 }},
		"late message": {parked: func(s int) float64 {
			if s >= 600 && s < 605 {
				return -60
			}
			return 0
		}},
		"short pulses": {parked: func(s int) float64 {
			if s%600 < 3 {
				return 12
			}
			return 0
		}},
		"no contactor state": {parked: func(int) float64 { return -8 }, noContactor: true},
		"not a current":      {parked: func(int) float64 { return 1e6 }},
	} {
		c := NewOpenCurrentCheck()
		if out, at := stepOpen(c, b.read, 0, 3600); len(out) != 0 {
			t.Errorf("%s: changes %+v at %v", name, out, at)
		}
	}
}

// TestOpenCurrentCheckGap: the 8 A offset, with no data from 660 s to
// 760 s. Blocks [600,630) and [630,660) are over the limit (20 and 30
// counted seconds); the block under way when the data stops ends at the
// first second after the gap. The contactors may have closed in the gap,
// so the settle starts again at 760 s: [760,790) counts 770..789, 20
// seconds (30 if the gap were taken as open), and raises at 790 s.
func TestOpenCurrentCheckGap(t *testing.T) {
	b := &openBus{parked: func(int) float64 { return -8 }}
	c := NewOpenCurrentCheck()
	out, at := stepOpen(c, b.read, 0, 659)
	more, at2 := stepOpen(c, b.read, 760, 900)
	out, at = append(out, more...), append(at, at2...)
	if len(out) != 1 || at[0] != 790 || !out[0].Since.Equal(t0.Add(600*time.Second)) {
		t.Fatalf("changes %+v at %v, want a raise at 790 s since 600 s", out, at)
	}
	if got := out[0].Evidence["open_seconds"]; got != 20 {
		t.Errorf("open seconds %v, want 20 (the settle after the gap)", got)
	}
}

// TestOpenCurrentCheckStops: a car that parks for 60 s at a time with the
// contactors open and an 8 A offset: each stop, from 600 s past a period,
// has two judged blocks ([600,630) with 20 counted seconds, [630,660)
// with 30). Stops an hour or 40 min apart never make three blocks within
// openHitGap (the next stop's first block starts 39 min after the last
// data second of the one before): nothing is raised. Stops 10 min apart do: the second
// stop's first block, [1200,1230), is the third and raises at 1230 s.
func TestOpenCurrentCheckStops(t *testing.T) {
	for _, c := range []struct {
		period int
		want   int // second of the raise, 0: none
	}{{3600, 0}, {2400, 0}, {600, 1230}} {
		chk := NewOpenCurrentCheck()
		read := func(s int) Read {
			conn, current := 1.0, -60.0
			if p := s % c.period; s >= 600 && p >= 600%c.period && p < 600%c.period+60 {
				conn, current = 0, -8
			}
			return connRead(conn, []inputValue{{InPackI, current}})
		}
		out, at := stepOpen(chk, read, 0, 3*3600)
		switch {
		case c.want == 0 && len(out) != 0:
			t.Errorf("stops every %d s: changes %+v at %v", c.period, out, at)
		case c.want != 0 && (len(out) == 0 || at[0] != c.want || out[0].Evidence["open_seconds"] != 20):
			// 20: the second stop's first block counts from 10 s after
			// the contactors opened again.
			t.Errorf("stops every %d s: changes %+v at %v, want a raise at %d s with 20 open seconds", c.period, out, at, c.want)
		}
	}
}

// TestOpenCurrentCheckNotInARow: blocks of 8 A and 0 A by turns (each
// judged: the contactors are open from 600 s) are never three over the
// limit in a row: nothing is raised.
func TestOpenCurrentCheckNotInARow(t *testing.T) {
	b := &openBus{parked: func(s int) float64 { return 8 * float64(s/30%2) }}
	if out, at := stepOpen(NewOpenCurrentCheck(), b.read, 0, 3600); len(out) != 0 {
		t.Errorf("changes %+v at %v", out, at)
	}
}

// TestOpenCurrentCheckAfterClear: TestOpenCurrentCheck's −8 A offset
// raises at 690 s and clears at 1350 s; one more 30 s block at −8 A right
// after, [1350,1380), is one block, not a run: cleared means counted from
// zero.
func TestOpenCurrentCheckAfterClear(t *testing.T) {
	b := &openBus{parked: func(s int) float64 {
		if s < 1200 || (s >= 1350 && s < 1380) {
			return -8
		}
		return 0
	}}
	out, at := stepOpen(NewOpenCurrentCheck(), b.read, 0, 2400)
	if len(out) != 2 || at[0] != 690 || at[1] != 1350 {
		t.Errorf("changes %+v at %v, want a raise at 690 s and a clear at 1350 s only", out, at)
	}
}

// TestOpenCurrentCheckShortSpells: the contactors open for 25 s in every
// 30 s block (closed for its first 5 s): 15 counted seconds a block,
// fewer than openMinSecs, so no block is judged and the 8 A offset
// raises nothing.
func TestOpenCurrentCheckShortSpells(t *testing.T) {
	c := NewOpenCurrentCheck()
	read := func(s int) Read {
		if s < 600 || s%30 < 5 {
			return connRead(1, []inputValue{{InPackI, -60}})
		}
		return connRead(0, []inputValue{{InPackI, -8}})
	}
	if out, at := stepOpen(c, read, 0, 3600); len(out) != 0 {
		t.Errorf("changes %+v at %v", out, at)
	}
}

// TestOpenCurrentCheckTrust: a contactor state that never reads closed
// is not trusted (it may not be the contactors), and seconds in which
// the car moves, gives torque or charges are not open whatever it
// reads: the 8 A offset of TestOpenCurrentCheck raises nothing.
func TestOpenCurrentCheckTrust(t *testing.T) {
	for name, extra := range map[string][]inputValue{
		"never closed": nil,
		"moving":       {{InSpeed, 30}},
		"torque":       {{InTorque, 40}},
		"charging":     {{InCharging, 1}},
	} {
		c := NewOpenCurrentCheck()
		for s := 0; s <= 3600; s++ {
			conn := 0.0
			if name != "never closed" && s < 600 {
				conn = 1
			}
			vals := append([]inputValue{{InPackI, -8}}, extra...)
			if name != "never closed" && s < 600 {
				vals = []inputValue{{InPackI, -60}}
			}
			if ch := c.Step(t0.Add(time.Duration(s)*time.Second), connRead(conn, vals)); ch != nil {
				t.Fatalf("%s: change %+v at %d s", name, ch, s)
			}
		}
	}
}

// TestOpenCurrentCheckSleep: a park of 60 s with the 8 A offset (two
// blocks over the limit), then the bus sleeps from 660 s; 12 h later the
// car drives 20 min and parks 60 s again (two more). The block under way
// at the sleep is judged at the first second after it, but its data ended
// at 659 s: the next park's blocks are 12 h after it, not 20 min, and do
// not make a run of three with it.
func TestOpenCurrentCheckSleep(t *testing.T) {
	wake := 12 * 3600
	read := func(s int) Read {
		conn, current := 1.0, -60.0
		if (s >= 600 && s < 660) || s >= wake+1200 {
			conn, current = 0, -8
		}
		return connRead(conn, []inputValue{{InPackI, current}})
	}
	c := NewOpenCurrentCheck()
	out, at := stepOpen(c, read, 0, 659)
	more, at2 := stepOpen(c, read, wake, wake+1259)
	if out, at = append(out, more...), append(at, at2...); len(out) != 0 {
		t.Errorf("changes %+v at %v", out, at)
	}
}

// TestOpenCurrentCheckClockBack: a raised check whose data time goes
// back (another log) starts over: the same parked car raises again at
// the same times.
func TestOpenCurrentCheckClockBack(t *testing.T) {
	b := &openBus{parked: func(int) float64 { return -8 }}
	c := NewOpenCurrentCheck()
	for range 2 {
		out, at := stepOpen(c, b.read, 0, 900)
		if len(out) != 1 || at[0] != 690 {
			t.Fatalf("changes %+v at %v, want a raise at 690 s", out, at)
		}
	}
}

// TestOpenCurrentCheckNoAlloc: a second's step allocates nothing.
func TestOpenCurrentCheckNoAlloc(t *testing.T) {
	b := &openBus{parked: func(s int) float64 { return 0.5 * float64(s%3-1) }}
	reads := make([]Read, 3002)
	for i := range reads {
		reads[i] = b.read(i)
	}
	noAllocSteps(t, NewOpenCurrentCheck(), reads)
}

// FuzzOpenCurrentCheck: any readings, a current moving at any rate, and
// any step in time: no panic and no evidence that is not a number.
func FuzzOpenCurrentCheck(f *testing.F) {
	f.Add(0.0, -8.0, 0.0, int64(1))
	f.Add(math.NaN(), 1e300, math.Inf(-1), int64(-7))
	f.Fuzz(func(t *testing.T, conn, i, di float64, dt int64) {
		c := NewOpenCurrentCheck()
		now := t0
		for k := range 3000 {
			vals := []inputValue{{InPackI, i + float64(k)*di}}
			finiteEvidence(t, c.Step(now, connRead(conn, vals)))
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkOpenCurrentCheckStep: one second of data time for the check
// on a parked car with its contactors open (five reads: the state, the
// three busy signals the bus lacks, the current; a block's decision
// every 30th).
func BenchmarkOpenCurrentCheckStep(b *testing.B) {
	bus := &openBus{parked: func(int) float64 { return 0.3 }}
	read := bus.read(3600)
	c := NewOpenCurrentCheck()
	c.Step(t0, bus.read(0)) // the contactors read closed once: the check trusts the state
	b.ReportAllocs()
	for i := 1; b.Loop(); i++ {
		if c.Step(t0.Add(time.Duration(i)*time.Second), read) != nil {
			b.Fatal("a change on a healthy parked car")
		}
	}
}
