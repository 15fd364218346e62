package diag

import (
	"math"
	"time"
)

// RestCurrentCheck finds a pack current sensor that reads charge when
// nothing can charge the battery: the car stands still (under 1 km/h),
// its motor gives no torque and no charger is connected, and has not been
// for restSettle, so neither regeneration nor a charger's ramp-down is
// still flowing. Then the only current is the auxiliaries' draw (out of
// the battery) or none at all with the contactors open, so a minute whose
// mean reads more than restChargeA into the battery is impossible: the
// sensor's zero has moved (an offset, or a reading stuck during a charge).
// BMSs run the same zero check with the contactors open; this one needs
// no contactor signal. Reported as a sensor fault after restHold such
// minutes in a row (minutes that are not at rest neither count nor break
// the run, but two over-limit minutes more than restHitGap apart start it
// over); it clears after restClear rest minutes in a row under half the
// limit. A gap in the data of over restMaxGap starts the settling over;
// a reading over restMaxAbsA is not a current.
//
// It reads speed, pack current (VSS: positive into the battery) and the
// charging flag; torque is used when the map has it. Seconds in which
// the map's contactor state (PowerConnectedPath) reads open are left to
// OpenCurrentCheck, which judges the zero in both directions there. Without the charging
// flag it does nothing: a connected charger could not be told apart. A
// car that tops up its pack from a plugged-in cable with the charging
// flag off would look like an offset; no standard signal says the cable
// is in.
type RestCurrentCheck struct {
	clock   minuteClock
	busy    time.Time // last second the car moved, pulled or charged
	seenOK  bool      // busy is set
	n       int       // rest seconds this minute
	sumI    float64
	hits    int
	calm    int
	active  bool
	first   time.Time // start of the first minute of the hits
	lastHit time.Time // last data second of the last minute over the limit
}

const (
	restSettle    = 2 * time.Minute
	restChargeA   = 3.0 // A into the battery
	restMinSecs   = 40
	restHold      = 3
	restClear     = 10
	restMaxSpeed  = 1.0              // km/h
	restMaxTorque = 5.0              // N·m
	restMaxAbsA   = 2000.0           // A: a larger reading is not a current
	restMaxGap    = 5 * time.Second  // a longer gap in the data restarts the settling
	restHitGap    = 10 * time.Minute // over-limit minutes further apart do not make a run
)

// NewRestCurrentCheck returns a pack current zero check.
func NewRestCurrentCheck() *RestCurrentCheck { return &RestCurrentCheck{} }

// Name is "pack_current_at_rest".
func (c *RestCurrentCheck) Name() string { return "pack_current_at_rest" }

// Fault is "sensor_fault".
func (c *RestCurrentCheck) Fault() string { return "sensor_fault" }

// Active reports whether the fault is raised.
func (c *RestCurrentCheck) Active() bool { return c.active }

// Step reads the inputs at now (once a second of data time, in order) and
// returns a change at the end of a minute, or nil. It does not allocate
// unless it returns a change.
func (c *RestCurrentCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = RestCurrentCheck{}
	}
	var out *CheckChange
	if !c.clock.last.IsZero() && now.Sub(c.clock.last) > restMaxGap {
		// What the car did during a gap in the data is unknown: it may
		// have charged until just now.
		c.seenOK = false
	}
	last := c.clock.last // the minute's last second of data
	if c.clock.tick(now) >= time.Minute {
		out = c.endMinute(now, last)
		c.clock.next(now)
		c.n, c.sumI = 0, 0
	}
	v, okV := read(ModelInputPaths[InSpeed])
	chg, okC := read(ModelInputPaths[InCharging])
	tq, okT := read(ModelInputPaths[InTorque])
	if (okV && finite(v) && math.Abs(v) >= restMaxSpeed) || (okC && finite(chg) && chg >= 0.5) ||
		(okT && finite(tq) && math.Abs(tq) >= restMaxTorque) {
		c.busy, c.seenOK = now, true
		return out
	}
	i, okI := read(ModelInputPaths[InPackI])
	if !okV || !okI || !okC || !finite(v) || !finite(i) || !finite(chg) || math.Abs(i) > restMaxAbsA {
		return out
	}
	if p, ok := read(PowerConnectedPath); ok && finite(p) && p < 0.5 {
		// Contactors open: OpenCurrentCheck judges the zero, both ways.
		return out
	}
	if !c.seenOK || now.Sub(c.busy) < restSettle {
		// The car's state before the data began, or during a gap, is
		// unknown: it may have just stopped charging.
		if !c.seenOK {
			c.busy, c.seenOK = now, true
		}
		return out
	}
	c.n++
	c.sumI += i
	return out
}

func (c *RestCurrentCheck) endMinute(now, last time.Time) *CheckChange {
	if c.n < restMinSecs {
		return nil
	}
	mean := c.sumI / float64(c.n)
	ev := func() map[string]float64 {
		return map[string]float64{"current_at_rest_a": mean, "limit_a": restChargeA, "rest_seconds": float64(c.n)}
	}
	if c.active {
		if mean < restChargeA/2 {
			c.calm++
		} else {
			c.calm = 0
		}
		if c.calm >= restClear {
			c.active, c.hits, c.calm = false, 0, 0
			return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now, Evidence: ev()}
		}
		return nil
	}
	if mean <= restChargeA {
		c.hits = 0
		return nil
	}
	if c.hits > 0 && c.clock.start.Sub(c.lastHit) > restHitGap {
		c.hits = 0 // over-limit minutes far apart are not a run
	}
	if c.hits == 0 {
		c.first = c.clock.start
	}
	c.hits++
	c.lastHit = last
	if c.hits < restHold {
		return nil
	}
	c.active, c.calm = true, 0
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: c.first, Time: now, Evidence: ev()}
}
