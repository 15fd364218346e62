package diag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// SelfDischargeCheck finds a cell that loses charge by itself (an internal
// short, a growing self-discharge) while the car rests. With no current
// through the pack every healthy cell keeps its charge, so the gap between
// the average and the lowest cell stays where it was, however the pack
// was used before; a cell that drains itself falls away from the others.
// A self-discharge of 1 % of SOC per hour moves a cell's open-circuit
// voltage by about 5 to 10 mV an hour mid-range, so the check compares
// rests an hour or more apart: across the car's sleep, or its BMS's
// wake-ups in a parked car.
//
// A rest second has at most sdMaxRestA through the pack, no motion (under
// 1 km/h, when the map has the speed) and no charger (when it has the
// flag), comes sdSettle after the last second that had any of them (the
// cells' polarisation has decayed) and sdWakeSkip after a gap in the data
// or in its inputs (a BMS's first frames after it wakes may still carry
// the values from before it slept). A minute with at least sdMinSecs rest seconds is a
// rest minute: its mean average and lowest cell. The first rest minute
// after the pack was used is the reference; a later rest minute is judged
// against it when no second between them had current, motion or charge,
// the average cell is within sdAvgTol of the reference's (the same state
// of charge: across a gap in the data, where what the car did is unknown,
// this is the only guard) and at least sdMinSpan and at most
// MaxSleepMemory later. sdHold judged minutes in a row whose gap grew by
// at least sdGrowth and whose lowest cell fell by at least sdDrop raise it
// (fault cell_internal_short); sdClear judged minutes in a row at least
// sdClearSpan after their reference with a growth under a quarter of the
// limit clear it. A cell voltage outside 1..5 V or a current over
// sdMaxAbsA is missing.
//
// It reads the average and lowest cell voltages and the pack current;
// speed and the charging flag when the map has them. It keeps its
// reference across agent restarts (RememberingCheck): the agent saves it
// with the fault model's memory.
type SelfDischargeCheck struct {
	clock  minuteClock
	busy   time.Time // last second with current, motion or charge
	seenOK bool      // busy is set
	wake   time.Time // first second of data after a gap
	lastIn time.Time // last second with the current and cells readable
	n      int       // rest seconds this minute
	sa, sl float64   // their sums of the average and lowest cell, V
	ref    sdMinute
	refOK  bool
	hits   int
	calm   int
	first  time.Time
	active bool
}

// sdMinute is a rest minute: its start and mean average and lowest cell, mV.
type sdMinute struct {
	t        time.Time
	avg, low float64
}

const (
	sdMaxRestA  = 3.0 // A through the pack at rest
	sdSettle    = 2 * time.Minute
	sdWakeSkip  = time.Minute
	sdMinSecs   = 30
	sdAvgTol    = 10.0 // mV of the average cell between the reference and a judged minute
	sdMinSpan   = 30 * time.Minute
	sdGrowth    = 20.0 // mV the gap average − lowest grew
	sdDrop      = 15.0 // mV the lowest cell fell
	sdHold      = 2
	sdClear     = 3
	sdClearSpan = time.Hour
	sdMaxGap    = 5 * time.Second
	sdMaxAbsA   = 2000.0
	sdMaxSpeed  = 1.0 // km/h
)

// NewSelfDischargeCheck returns a cell self-discharge check.
func NewSelfDischargeCheck() *SelfDischargeCheck { return &SelfDischargeCheck{} }

// Name is "cell_self_discharge".
func (c *SelfDischargeCheck) Name() string { return "cell_self_discharge" }

// Fault is "cell_internal_short".
func (c *SelfDischargeCheck) Fault() string { return "cell_internal_short" }

// Active reports whether the fault is raised.
func (c *SelfDischargeCheck) Active() bool { return c.active }

// Step reads the inputs at now (once a second of data time, in order) and
// returns a change at the end of a minute, or nil. It does not allocate
// unless it returns a change.
func (c *SelfDischargeCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = SelfDischargeCheck{}
	}
	var out *CheckChange
	if !c.clock.last.IsZero() && now.Sub(c.clock.last) > sdMaxGap {
		// The minute under way ends with the data; what the car did in
		// the gap is unknown (the average cell decides on the next
		// judged minute).
		out = c.endMinute(c.clock.last)
		c.n, c.sa, c.sl = 0, 0, 0
		c.clock.next(now)
		c.wake = now
	}
	if c.clock.tick(now) >= time.Minute {
		out = c.endMinute(now)
		c.clock.next(now)
		c.n, c.sa, c.sl = 0, 0, 0
	}
	c.step(now, read)
	return out
}

func (c *SelfDischargeCheck) step(now time.Time, read Read) {
	i, okI := read(ModelInputPaths[InPackI])
	a, okA := read(ModelInputPaths[InCellAvg])
	l, okL := read(ModelInputPaths[InCellMin])
	okI = okI && finite(i) && math.Abs(i) <= sdMaxAbsA
	okC := okA && okL && cellVolts(a) && cellVolts(l)
	if okI && okC {
		// A live agent's clock ticks through a BMS's sleep with the
		// inputs missing: their return is a wake-up, as a gap in the
		// data is (and so is the first reading after a start).
		if c.lastIn.IsZero() || now.Sub(c.lastIn) > sdMaxGap {
			c.wake = now
		}
		c.lastIn = now
	}
	if okI && math.Abs(i) > sdMaxRestA {
		c.busy, c.seenOK = now, true
		return
	}
	if v, ok := read(ModelInputPaths[InSpeed]); ok && finite(v) && math.Abs(v) >= sdMaxSpeed {
		c.busy, c.seenOK = now, true
		return
	}
	if chg, ok := read(ModelInputPaths[InCharging]); ok && finite(chg) && chg >= 0.5 {
		c.busy, c.seenOK = now, true
		return
	}
	if !okI || !okC {
		return
	}
	if !c.seenOK {
		// The pack's state before the data began is unknown.
		c.busy, c.seenOK = now, true
		return
	}
	if now.Sub(c.busy) < sdSettle || (!c.wake.IsZero() && now.Sub(c.wake) < sdWakeSkip) {
		return
	}
	c.n++
	c.sa += a
	c.sl += l
}

func (c *SelfDischargeCheck) endMinute(now time.Time) *CheckChange {
	if c.n < sdMinSecs {
		return nil
	}
	m := sdMinute{t: c.clock.start, avg: 1000 * c.sa / float64(c.n), low: 1000 * c.sl / float64(c.n)}
	span := m.t.Sub(c.ref.t)
	if !c.refOK || c.busy.After(c.ref.t) || math.Abs(m.avg-c.ref.avg) > sdAvgTol || span > MaxSleepMemory {
		// The pack was used, or is at another charge: a new reference.
		c.ref, c.refOK, c.hits, c.calm = m, true, 0, 0
		return nil
	}
	if span < sdMinSpan {
		return nil
	}
	growth := (m.avg - m.low) - (c.ref.avg - c.ref.low)
	drop := c.ref.low - m.low
	ev := func() map[string]float64 {
		h := span.Hours()
		return map[string]float64{
			"gap_growth_mv": growth, "lowest_drop_mv": drop, "average_change_mv": m.avg - c.ref.avg,
			"rest_hours": h, "growth_mv_per_h": growth / h, "gap_mv": m.avg - m.low, "limit_mv": sdGrowth,
		}
	}
	if c.active {
		if span >= sdClearSpan && growth < sdGrowth/4 {
			c.calm++
		} else {
			c.calm = 0
		}
		if c.calm >= sdClear {
			c.active, c.calm, c.hits = false, 0, 0
			return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now, Evidence: ev()}
		}
		return nil
	}
	if growth < sdGrowth || drop < sdDrop {
		c.hits = 0
		return nil
	}
	if c.hits == 0 {
		c.first = m.t
	}
	c.hits++
	if c.hits < sdHold {
		return nil
	}
	c.active, c.calm, c.hits = true, 0, 0
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: c.ref.t, Time: now, Evidence: ev()}
}

// The check's memory (RememberingCheck): version 1, flags (bit 0 the
// pack's use seen, bit 1 a reference, bit 2 raised), the last second of
// data, the last busy second, the reference minute's start, the first
// judged minute of a raise (Unix ns, int64; 0 for none), the reference's
// average and lowest cell (mV, float64), the judged minutes over and
// under the limit in a row (uint8 each), little-endian.
const (
	sdMemVersion = 1
	sdMemSize    = 1 + 1 + 4*8 + 2*8 + 2
)

// AppendMemory appends the check's reference and state to b, so that an
// agent restarted at a wake-up compares the woken pack with the rest
// before the sleep.
func (c *SelfDischargeCheck) AppendMemory(b []byte) []byte {
	var flags byte
	if c.seenOK {
		flags |= 1
	}
	if c.refOK {
		flags |= 2
	}
	if c.active {
		flags |= 4
	}
	b = append(b, sdMemVersion, flags)
	for _, t := range [...]time.Time{c.clock.last, c.busy, c.ref.t, c.first} {
		b = binary.LittleEndian.AppendUint64(b, uint64(unixNano(t)))
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.ref.avg))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.ref.low))
	return append(b, byte(c.hits), byte(c.calm))
}

// RestoreMemory sets the check from an AppendMemory encoding: the next
// second of data after more than a few seconds is a wake-up. A record
// that is the wrong size or out of range is refused and leaves the check
// as new.
func (c *SelfDischargeCheck) RestoreMemory(b []byte) error {
	*c = SelfDischargeCheck{}
	if len(b) != sdMemSize {
		return fmt.Errorf("%d bytes, want %d", len(b), sdMemSize)
	}
	if b[0] != sdMemVersion {
		return fmt.Errorf("version %d, this agent reads %d", b[0], sdMemVersion)
	}
	flags := b[1]
	var ts [4]time.Time
	for i := range ts {
		if ns := int64(binary.LittleEndian.Uint64(b[2+8*i:])); ns != 0 {
			ts[i] = time.Unix(0, ns)
		}
	}
	avg := math.Float64frombits(binary.LittleEndian.Uint64(b[34:]))
	low := math.Float64frombits(binary.LittleEndian.Uint64(b[42:]))
	hits, calm := int(b[50]), int(b[51])
	last := ts[0]
	switch {
	case flags&^7 != 0:
		return fmt.Errorf("flags %#x", flags)
	case last.IsZero() && (flags != 0 || hits != 0 || calm != 0):
		return errors.New("state without a last second")
	case last.IsZero():
		return nil // a check that had no data: as new
	case ts[1].After(last) || ts[2].After(last) || ts[3].After(last):
		return errors.New("a time after the last second")
	case flags&2 != 0 && (!cellVolts(avg/1000) || !cellVolts(low/1000) || low > avg || ts[2].IsZero()):
		return fmt.Errorf("reference %v/%v mV at %v", avg, low, ts[2])
	case hits >= sdHold || calm >= sdClear:
		return fmt.Errorf("%d minutes over and %d under in a row", hits, calm)
	case flags&4 != 0 && flags&2 == 0:
		return errors.New("raised without a reference")
	}
	c.clock.last, c.busy, c.first = last, ts[1], ts[3]
	c.seenOK, c.refOK, c.active = flags&1 != 0, flags&2 != 0, flags&4 != 0
	if c.refOK {
		c.ref = sdMinute{t: ts[2], avg: avg, low: low}
	}
	c.hits, c.calm = hits, calm
	return nil
}

// unixNano is t in Unix ns, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
