package diag

import (
	"math"
	"time"
)

// Plausibility checks between redundant measurements, the kind a BMS runs
// itself: they catch a drifting sensor that every rule and the model read
// as a real value. PackVoltageCheck compares the pack voltage with the
// cells' average times the number of cells in series, which it learns from
// the car (no configuration): a pack voltage sensor that drifts by more
// than Threshold percent from what the cells add up to is reported as a
// sensor fault.
//
// It learns the ratio pack / cell average over the first learnMinutes (10)
// valid minutes it sees, then follows it very slowly (a 12 h time
// constant, frozen while deviating) so that a slow healthy change of the
// sensors' gains is absorbed and a fault of minutes to hours is not. A
// sensor that is already off when the agent first runs is learnt as
// normal: the check compares the car with itself.
//
// A minute counts when the pack current stayed between 2 and 50 A in at
// least 30 of its seconds (contactors closed, so a pack voltage measured
// on the link side is valid, and little resistive drop between the cell
// taps and the pack terminals) with both voltages present.
type PackVoltageCheck struct {
	// Threshold is the deviation reported, percent (default 1.5); Hold
	// how long it must last, and how long it must stay under half of it
	// to clear (default 5 min).
	Threshold float64
	Hold      time.Duration

	clock     minuteClock
	sumV      float64
	sumC      float64
	n         int
	ratio     float64 // learnt pack / cell average
	learnt    int     // valid minutes learnt
	dev       float64 // last minute's deviation, percent
	over      time.Time
	under     time.Time
	active    bool
	lastV     float64
	lastCells float64
}

const (
	learnMinutes      = 10
	plausMinSeconds   = 30
	plausMaxCurrent   = 50.0 // A
	plausMinCurrent   = 2.0  // A
	plausFollowMinute = 1.0 / 720
)

// CheckChange is a monitor check (PackVoltageCheck, ChargerCheck) raised
// or cleared.
type CheckChange struct {
	Check    string             `json:"check"`    // the check's name
	Fault    string             `json:"fault"`    // knowledge-base id of what it found
	Raised   bool               `json:"raised"`   // false: cleared
	Evidence map[string]float64 `json:"evidence"` // the values it decided on
	Since    time.Time          `json:"since"`    // when the condition began (raised) or ended (cleared)
	Time     time.Time          `json:"time"`     // when it was decided
}

// Check is a monitor of the car's own consistency, stepped once a second
// of data time, in order.
type Check interface {
	Name() string
	Fault() string // the knowledge-base id it reports
	Step(now time.Time, read Read) *CheckChange
	Active() bool
}

// minuteClock cuts data time into minutes for the monitor checks.
type minuteClock struct{ start, last time.Time }

// wentBack reports whether now is before the last tick (another log, or a
// clock set back): the check starts over.
func (m *minuteClock) wentBack(now time.Time) bool { return now.Before(m.last) }

// tick records now and returns how long the current minute has run (the
// first tick starts it).
func (m *minuteClock) tick(now time.Time) time.Duration {
	if m.start.IsZero() {
		m.start = now
	}
	m.last = now
	return now.Sub(m.start)
}

// next starts a new minute at now.
func (m *minuteClock) next(now time.Time) { m.start = now }

// NewChecks returns the monitor checks the agent runs beside the rules.
func NewChecks() []Check {
	return []Check{NewPackVoltageCheck(), NewChargerCheck(), NewThermalCheck(), NewFrozenCheck(), NewCoolantFlowCheck(), NewRestCurrentCheck(), NewChargeGapCheck(), NewChargeLeadCheck(), NewOpenCurrentCheck(), NewCellResistanceCheck(), NewSelfDischargeCheck(), NewInverterCoolingCheck()}
}

// NewPackVoltageCheck returns a check with the default threshold and hold.
func NewPackVoltageCheck() *PackVoltageCheck {
	return &PackVoltageCheck{Threshold: 1.5, Hold: 5 * time.Minute}
}

// Reset forgets the learnt ratio (data time went back: another car's log).
func (c *PackVoltageCheck) Reset() {
	*c = PackVoltageCheck{Threshold: c.Threshold, Hold: c.Hold}
}

// Active reports whether the fault is raised.
func (c *PackVoltageCheck) Active() bool { return c.active }

// Name is "pack_voltage".
func (c *PackVoltageCheck) Name() string { return "pack_voltage" }

// Fault is "sensor_fault".
func (c *PackVoltageCheck) Fault() string { return "sensor_fault" }

// Step reads the pack voltage, cell average and pack current at now (once
// a second of data time, in order) and returns a change at the end of a
// minute that raises or clears the fault, or nil. It does not allocate
// unless it returns a change.
func (c *PackVoltageCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		c.Reset()
	}
	var out *CheckChange
	if c.clock.tick(now) >= time.Minute {
		out = c.endMinute(now)
		c.clock.next(now)
		c.sumV, c.sumC, c.n = 0, 0, 0
	}
	v, okV := read(ModelInputPaths[InPackV])
	a, okA := read(ModelInputPaths[InCellAvg])
	i, okI := read(ModelInputPaths[InPackI])
	if okV && okA && okI && a > 1 && a < 5 && v > 0 && v < 2000 && math.Abs(i) >= plausMinCurrent && math.Abs(i) <= plausMaxCurrent {
		c.sumV += v
		c.sumC += a
		c.n++
	}
	return out
}

func (c *PackVoltageCheck) endMinute(now time.Time) *CheckChange {
	if c.n < plausMinSeconds {
		return nil
	}
	r := c.sumV / c.sumC
	c.lastV, c.lastCells = c.sumV/float64(c.n), c.sumC/float64(c.n)
	if c.learnt < learnMinutes {
		c.learnt++
		c.ratio += (r - c.ratio) / float64(c.learnt)
		return nil
	}
	c.dev = (r/c.ratio - 1) * 100
	change := func(raised bool, since time.Time) *CheckChange {
		c.active = raised
		return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: raised, Since: since, Time: now,
			Evidence: map[string]float64{"pack_v": c.lastV, "cells_v": c.ratio * c.lastCells, "deviation_pct": c.dev, "cells_in_series": c.ratio}}
	}
	switch {
	case math.Abs(c.dev) > c.Threshold:
		c.under = time.Time{}
		if c.over.IsZero() {
			c.over = c.clock.start
		}
		if !c.active && now.Sub(c.over) >= c.Hold {
			return change(true, c.over)
		}
		return nil
	case math.Abs(c.dev) < c.Threshold/2:
		c.over = time.Time{}
		if c.under.IsZero() {
			c.under = c.clock.start
		}
		if c.active && now.Sub(c.under) >= c.Hold {
			return change(false, c.under)
		}
	default:
		c.over, c.under = time.Time{}, time.Time{}
	}
	if !c.active {
		c.ratio += (r - c.ratio) * plausFollowMinute
	}
	return nil
}
