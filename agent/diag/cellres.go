package diag

import (
	"math"
	"time"
)

// CellResistanceCheck finds a cell (or its connection: a loose busbar, a
// failing weld) whose resistance has grown well past the others'. Every
// cell in a series string carries the same current, so when the
// discharge current swings, the average cell's voltage moves by the
// average cell's resistance R times the swing, and the lowest cell's by
// its own. Within a minute the open-circuit voltages hardly move, so a
// regression of the gap (average − lowest cell) on the discharge current
// measures the lowest cell's extra resistance ΔR, and one of the average
// on the current measures −R: their ratio ΔR/R is the weak cell's extra
// resistance in units of the pack's own, whatever the cell size, the
// temperature or the SOC.
//
// A minute is judged when it has at least resMinSecs seconds of
// discharge over resMinA with a current spread (standard deviation) of
// at least resMinSpreadA; the covariances of the last resPool judged
// minutes are pooled. resHold judged minutes in a row with ΔR/R at least
// resRatio raise it (reported as the model's class for a weak cell,
// cell_capacity_outlier); resClear judged minutes under half of it clear
// it. Minutes that are not judged neither count nor break the run. A gap
// in the data of over resMaxGap drops the minute under way; a current
// over resMaxAbsA or a cell voltage outside 0..6 V is missing.
//
// It reads the pack current (VSS: positive into the battery) and the
// average and lowest cell voltages.
type CellResistanceCheck struct {
	clock                     minuteClock
	n                         int
	sd, sdd, sg, sdg, sa, sda float64
	pool                      [resPool]struct{ cg, ca, vd float64 }
	pooled                    int // judged minutes in pool (up to resPool)
	next                      int // pool slot of the next judged minute
	hits                      int
	calm                      int
	first                     time.Time
	active                    bool
}

const (
	resMinA       = 5.0  // A of discharge
	resMinSecs    = 30   // discharge seconds in a judged minute
	resMinSpreadA = 10.0 // A, standard deviation of the current in the minute
	resPool       = 5
	resRatio      = 1.0 // ΔR/R: the weak cell's resistance at least twice the average's
	resHold       = 3
	resClear      = 10
	resMaxGap     = 5 * time.Second
	resMaxAbsA    = 2000.0
)

// NewCellResistanceCheck returns a weak-cell resistance check.
func NewCellResistanceCheck() *CellResistanceCheck { return &CellResistanceCheck{} }

// Name is "cell_resistance".
func (c *CellResistanceCheck) Name() string { return "cell_resistance" }

// Fault is "cell_capacity_outlier": the weak-cell class.
func (c *CellResistanceCheck) Fault() string { return "cell_capacity_outlier" }

// Active reports whether the fault is raised.
func (c *CellResistanceCheck) Active() bool { return c.active }

// Step reads the inputs at now (once a second of data time, in order) and
// returns a change at the end of a minute, or nil. It does not allocate
// unless it returns a change.
func (c *CellResistanceCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = CellResistanceCheck{}
	}
	if !c.clock.last.IsZero() && now.Sub(c.clock.last) > resMaxGap {
		c.clear()
		c.clock.next(now)
	}
	var out *CheckChange
	if c.clock.tick(now) >= time.Minute {
		out = c.endMinute(now)
		c.clock.next(now)
		c.clear()
	}
	i, okI := read(ModelInputPaths[InPackI])
	avg, okA := read(ModelInputPaths[InCellAvg])
	low, okL := read(ModelInputPaths[InCellMin])
	if !okI || !okA || !okL || !finite(i) || math.Abs(i) > resMaxAbsA || !cellVolts(avg) || !cellVolts(low) {
		return out
	}
	d := -i // discharge, A
	if d < resMinA {
		return out
	}
	g := avg - low
	c.n++
	c.sd += d
	c.sdd += d * d
	c.sg += g
	c.sdg += d * g
	c.sa += avg
	c.sda += d * avg
	return out
}

// cellVolts reports whether v is a cell voltage a BMS can read, V.
func cellVolts(v float64) bool { return v > 0 && v < 6 }

func (c *CellResistanceCheck) clear() {
	c.n, c.sd, c.sdd, c.sg, c.sdg, c.sa, c.sda = 0, 0, 0, 0, 0, 0, 0
}

func (c *CellResistanceCheck) endMinute(now time.Time) *CheckChange {
	if c.n < resMinSecs {
		return nil
	}
	k := float64(c.n)
	md := c.sd / k
	vd := c.sdd/k - md*md
	if !(vd >= resMinSpreadA*resMinSpreadA) {
		return nil
	}
	p := &c.pool[c.next]
	p.cg, p.ca, p.vd = c.sdg-md*c.sg, c.sda-md*c.sa, vd*k
	c.next = (c.next + 1) % resPool
	c.pooled = min(c.pooled+1, resPool)
	if c.pooled < resPool {
		return nil
	}
	var cg, ca, v float64
	for _, x := range c.pool {
		cg += x.cg
		ca += x.ca
		v += x.vd
	}
	if !(ca < 0) {
		return nil // the average cell does not sag under load: no R to compare with
	}
	ratio := cg / -ca
	ev := func() map[string]float64 {
		return map[string]float64{"extra_resistance_ratio": ratio, "limit_ratio": resRatio,
			"cell_resistance_mohm": -ca / v * 1000, "weakest_extra_mohm": cg / v * 1000,
			"current_spread_a": math.Sqrt(vd)}
	}
	if c.active {
		if ratio < resRatio/2 {
			c.calm++
		} else {
			c.calm = 0
		}
		if c.calm >= resClear {
			c.active, c.hits, c.calm = false, 0, 0
			return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now, Evidence: ev()}
		}
		return nil
	}
	if !(ratio >= resRatio) {
		c.hits = 0
		return nil
	}
	if c.hits == 0 {
		c.first = c.clock.start
	}
	c.hits++
	if c.hits < resHold {
		return nil
	}
	c.active, c.calm = true, 0
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: c.first, Time: now, Evidence: ev()}
}
