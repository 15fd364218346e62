package diag

import (
	"math"
	"time"
)

// ChargerCheck watches AC-class charging sessions (at most 23 kW into the
// pack) for an on-board charger that delivers far less than it did
// earlier in the same session: a failing power stage or a derating it
// never leaves. Without the charger's own set points on the bus, the
// session's own best minute is the reference, so the check needs no
// configuration. It reports a charger fault when, for chargerHold
// minutes in a row, the power into the pack stays under chargerRatio of
// the session's best minute, or the pack gains no charge at all (under
// 0.5 A) while the charging flag is on.
//
// Minutes count only below 80 % SOC (the taper towards full) with the
// hottest module between 10 and 45 °C (the BMS limits charging outside
// that range, and a cold pack warms with the charge). A session ends when
// the charging flag is off or missing for a minute; a raised fault clears
// then. DC sessions (over 23 kW at some minute) are not judged: their
// power follows the station and the taper.
//
// The pack sees the charger's output less the car's own consumption, so a
// heater or air conditioning switched on mid-session (preconditioning) on
// a small charger looks like a drop; the hold and the 35 % ratio keep the
// usual few kW on a 7 kW or larger charger under the threshold.
type ChargerCheck struct {
	clock   minuteClock
	n       int     // charging seconds in the minute
	sumI    float64 // A into the pack
	sumP    float64 // W into the pack
	soc     float64
	tmax    float64
	haveT   bool
	off     int // seconds without the charging flag
	inSess  bool
	dc      bool
	plateau float64 // best minute's power in the session, W
	low     int     // minutes in a row under the ratio or stalled
	lowFrom time.Time
	active  bool
}

const (
	chargerRatio   = 0.35
	chargerHold    = 15 // minutes
	chargerMinW    = 2000.0
	chargerMaxACW  = 23000.0
	chargerStallA  = 0.5
	chargerMaxSOC  = 80.0
	chargerMinTemp = 10.0
	chargerMaxTemp = 45.0
)

// NewChargerCheck returns a charger check.
func NewChargerCheck() *ChargerCheck { return &ChargerCheck{} }

// Name is "charging".
func (c *ChargerCheck) Name() string { return "charging" }

// Fault is "charger_fault".
func (c *ChargerCheck) Fault() string { return "charger_fault" }

// Active reports whether the fault is raised.
func (c *ChargerCheck) Active() bool { return c.active }

// Step reads the charging flag, pack current and voltage, SOC and hottest
// module at now and returns a change at the end of a minute, or nil. It
// does not allocate unless it returns a change.
func (c *ChargerCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = ChargerCheck{}
	}
	var out *CheckChange
	if c.clock.tick(now) >= time.Minute {
		out = c.endMinute(now)
		c.clock.next(now)
		c.n, c.sumI, c.sumP, c.haveT = 0, 0, 0, false
	}
	flag, okF := read(ModelInputPaths[InCharging])
	if !okF || flag < 0.5 {
		c.off++
		if c.off >= 60 && c.inSess {
			c.inSess, c.dc, c.plateau, c.low = false, false, 0, 0
			if c.active {
				c.active = false
				return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now, Evidence: map[string]float64{"plateau_kw": 0}}
			}
		}
		return out
	}
	c.off = 0
	c.inSess = true
	i, okI := read(ModelInputPaths[InPackI]) // VSS: + into the battery
	v, okV := read(ModelInputPaths[InPackV])
	soc, okS := read(ModelInputPaths[InSOC])
	if !okI || !okV || !okS || !(v > 0) || !finite(i) || !finite(v) || !finite(soc) {
		return out
	}
	c.n++
	c.sumI += i
	c.sumP += i * v
	c.soc = soc
	if t, ok := read(ModelInputPaths[InTempMax]); ok && finite(t) {
		c.tmax, c.haveT = t, true
	}
	return out
}

func (c *ChargerCheck) endMinute(now time.Time) *CheckChange {
	if c.n < 50 || !c.inSess {
		return nil
	}
	ia, pa := c.sumI/float64(c.n), c.sumP/float64(c.n)
	if pa > chargerMaxACW {
		c.dc = true
	}
	if c.dc || c.soc >= chargerMaxSOC || !c.haveT || c.tmax < chargerMinTemp || c.tmax > chargerMaxTemp {
		c.low = 0
		return nil
	}
	c.plateau = max(c.plateau, pa)
	bad := ia < chargerStallA || (c.plateau >= chargerMinW && pa < chargerRatio*c.plateau)
	if !bad {
		c.low = 0
		return nil
	}
	if c.low == 0 {
		c.lowFrom = c.clock.start
	}
	c.low++
	if c.active || c.low < chargerHold {
		return nil
	}
	c.active = true
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: c.lowFrom, Time: now,
		Evidence: map[string]float64{"charge_a": ia, "charge_kw": pa / 1000, "plateau_kw": c.plateau / 1000, "soc_pct": c.soc, "temp_max_c": c.tmax}}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
