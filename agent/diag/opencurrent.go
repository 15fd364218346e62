package diag

import (
	"math"
	"time"
)

// PowerConnectedPath is the VSS path of the main contactors' state (true:
// the pack is connected to the high-voltage bus).
const PowerConnectedPath = "Vehicle.Powertrain.TractionBattery.IsPowerConnected"

// OpenCurrentCheck finds a pack current sensor whose zero has moved, in
// either direction, from the one moment its true reading is known: with
// the main contactors open no current flows through the pack, so what the
// sensor reads is its offset (or the value it is stuck at). A BMS makes
// the same zero check; this one also catches an offset towards discharge,
// which the rest-current check cannot tell from the auxiliaries' draw.
//
// It judges blocks of openBlock of data time. A second counts once the
// contactors have read open for openSettle (the current and contactor
// messages are not sent together, and the current falls to zero at the
// opening, not before); a block with at least openMinSecs counted seconds
// is judged on its mean reading. openHold blocks over openLimitA in
// magnitude, none more than openHitGap after the one before (a parked car
// keeps its CAN bus awake only for minutes after key-off and before
// key-on, so blocks of several stops make up a run), raise a sensor
// fault; a judged block under the limit starts the count over. Once
// raised, openClear judged blocks under half the limit clear it. A gap in
// the data of over openMaxGap restarts the settling; a reading over
// openMaxAbsA is not a current.
//
// It reads the contactor state (PowerConnectedPath, 0 or 1) and the pack
// current (VSS: positive into the battery); without the contactor state
// it does nothing, and it judges nothing until the state has read closed
// at least once (a bit that never reads 1 may not mean what the map
// says). Seconds in which the car moves, gives torque or charges
// (restMaxSpeed, restMaxTorque, the charging flag, where the map has
// them) are not open whatever the bit reads.
type OpenCurrentCheck struct {
	clock    minuteClock
	openFrom time.Time // first second of the contactors' current open spell
	open     bool      // openFrom is set
	// closedSeen: the contactor state has read closed in this data; until
	// it has, the check does not judge.
	closedSeen bool
	n          int // counted seconds this block
	sumI       float64
	hits       int
	calm       int
	active     bool
	first      time.Time // start of the first block of the hits
	lastHit    time.Time // last data second of the last block over the limit
}

const (
	openBlock   = 30 * time.Second
	openSettle  = 10 * time.Second
	openMinSecs = 20
	openLimitA  = 3.0 // A either way
	openHold    = 3
	openClear   = 5
	openMaxAbsA = 2000.0
	openMaxGap  = 5 * time.Second
	openHitGap  = 30 * time.Minute
)

// NewOpenCurrentCheck returns a pack current zero check with the
// contactors open.
func NewOpenCurrentCheck() *OpenCurrentCheck { return &OpenCurrentCheck{} }

// Name is "pack_current_contactors_open".
func (c *OpenCurrentCheck) Name() string { return "pack_current_contactors_open" }

// Fault is "sensor_fault".
func (c *OpenCurrentCheck) Fault() string { return "sensor_fault" }

// Active reports whether the fault is raised.
func (c *OpenCurrentCheck) Active() bool { return c.active }

// Step reads the inputs at now (once a second of data time, in order) and
// returns a change at the end of a block, or nil. It does not allocate
// unless it returns a change.
func (c *OpenCurrentCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = OpenCurrentCheck{}
	}
	if !c.clock.last.IsZero() && now.Sub(c.clock.last) > openMaxGap {
		c.open = false // the contactors may have closed during the gap
	}
	var out *CheckChange
	last := c.clock.last // the block's last second of data
	if c.clock.tick(now) >= openBlock {
		out = c.endBlock(now, last)
		c.clock.next(now)
		c.n, c.sumI = 0, 0
	}
	p, okP := read(PowerConnectedPath)
	if !okP || !finite(p) || p >= 0.5 {
		c.open = false
		c.closedSeen = c.closedSeen || (okP && finite(p))
		return out
	}
	if !c.closedSeen || c.busy(read) {
		// A state never seen closed may be a bit that does not mean what
		// the map says; a car that moves or charges has its contactors
		// closed whatever the bit reads.
		c.open = false
		return out
	}
	if !c.open {
		c.openFrom, c.open = now, true
	}
	if now.Sub(c.openFrom) < openSettle {
		return out
	}
	i, okI := read(ModelInputPaths[InPackI])
	if !okI || !finite(i) || math.Abs(i) > openMaxAbsA {
		return out
	}
	c.n++
	c.sumI += i
	return out
}

// busy reports whether a reading says the high-voltage bus is in use:
// the car moves (1 km/h or more), its motor gives torque (5 N·m or
// more) or it charges; readings the map lacks say nothing.
func (c *OpenCurrentCheck) busy(read Read) bool {
	v, okV := read(ModelInputPaths[InSpeed])
	tq, okT := read(ModelInputPaths[InTorque])
	chg, okC := read(ModelInputPaths[InCharging])
	return (okV && finite(v) && math.Abs(v) >= restMaxSpeed) || (okT && finite(tq) && math.Abs(tq) >= restMaxTorque) ||
		(okC && finite(chg) && chg >= 0.5)
}

func (c *OpenCurrentCheck) endBlock(now, last time.Time) *CheckChange {
	if c.n < openMinSecs {
		return nil
	}
	mean := c.sumI / float64(c.n)
	ev := func() map[string]float64 {
		return map[string]float64{"current_contactors_open_a": mean, "limit_a": openLimitA, "open_seconds": float64(c.n)}
	}
	if c.active {
		if math.Abs(mean) < openLimitA/2 {
			c.calm++
		} else {
			c.calm = 0
		}
		if c.calm >= openClear {
			c.active, c.hits, c.calm = false, 0, 0
			return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now, Evidence: ev()}
		}
		return nil
	}
	if math.Abs(mean) <= openLimitA {
		c.hits = 0
		return nil
	}
	if c.hits > 0 && c.clock.start.Sub(c.lastHit) > openHitGap {
		c.hits = 0 // over-limit blocks far apart are not a run
	}
	if c.hits == 0 {
		c.first = c.clock.start
	}
	c.hits++
	c.lastHit = last
	if c.hits < openHold {
		return nil
	}
	c.active, c.calm = true, 0
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: c.first, Time: now, Evidence: ev()}
}
