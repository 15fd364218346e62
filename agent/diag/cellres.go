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
// at least resMinSpreadA, and the pack's hottest and coolest modules were
// never more than resMaxTempSpreadK apart in it (a cold corner's cells
// are more resistive for their temperature, not from a fault; where the
// map lacks the temperatures this is not checked). The covariances of
// the last resPool judged minutes are pooled; a pool counts when the
// average cell follows the current (r² of its fit at least resMinR2Avg:
// a frozen or slowly refreshed average reading has no R to compare
// with), the gap follows it too (r² at least resMinR2Gap: jumps of the
// lowest reading that do not follow the current are not a resistance)
// and the median of the five minutes' own ratios agrees (one minute with
// a large current spread cannot carry five pools). resHold counted pools
// in a row with ΔR/R at least resRatio raise it (reported as the model's
// class for a weak cell, cell_capacity_outlier); resClear judged minutes
// in a row under half of it clear it. Minutes that are not judged
// neither count nor break the run. A gap in the data of over resMaxGap
// drops the minute under way; a current over resMaxAbsA or a cell
// voltage outside 1..5 V is missing.
//
// It reads the pack current (VSS: positive into the battery) and the
// average and lowest cell voltages, which should come from the same BMS
// message: a lowest reading sampled a second or two before the average
// biases ΔR/R up (by about 0.7 for 1 s, 3 to 4 for 2 s on a drive's
// current).
type CellResistanceCheck struct {
	clock minuteClock
	// This minute's sums over discharge seconds: current d (A), gap g
	// and average a (V, less a0, the minute's first average, against
	// cancellation).
	n                     int
	a0                    float64
	sd, sdd, sg, sdg, sgg float64
	sa, sda, saa          float64
	hot                   bool // the module temperatures spread too far this minute
	pool                  [resPool]resMinute
	pooled                int // judged minutes in pool (up to resPool)
	next                  int // pool slot of the next judged minute
	hits                  int
	calm                  int
	first                 time.Time
	active                bool
}

// resMinute is one judged minute's centred sums (times its seconds).
type resMinute struct{ n, cg, ca, vd, vg, va float64 }

const (
	resMinA           = 5.0  // A of discharge
	resMinSecs        = 30   // discharge seconds in a judged minute
	resMinSpreadA     = 10.0 // A, standard deviation of the current in the minute
	resMaxTempSpreadK = 8.0  // K between the hottest and coolest module
	resPool           = 5
	resMinR2Avg       = 0.5
	resMinR2Gap       = 0.3
	resRatio          = 1.0 // ΔR/R: the weak cell's resistance at least twice the average's
	resHold           = 3
	resClear          = 10
	resMaxGap         = 5 * time.Second
	resMaxAbsA        = 2000.0
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
	if hi, okH := read(ModelInputPaths[InTempMax]); okH && finite(hi) {
		if lo, okL := read(ModelInputPaths[InTempMin]); okL && finite(lo) && hi-lo > resMaxTempSpreadK {
			c.hot = true
		}
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
	if c.n == 0 {
		c.a0 = avg
	}
	g, a := avg-low, avg-c.a0
	c.n++
	c.sd += d
	c.sdd += d * d
	c.sg += g
	c.sdg += d * g
	c.sgg += g * g
	c.sa += a
	c.sda += d * a
	c.saa += a * a
	return out
}

// cellVolts reports whether v is a cell voltage a BMS can read, V.
func cellVolts(v float64) bool { return v >= 1 && v <= 5 }

func (c *CellResistanceCheck) clear() {
	c.n, c.a0, c.sd, c.sdd, c.sg, c.sdg, c.sgg, c.sa, c.sda, c.saa, c.hot = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false
}

func (c *CellResistanceCheck) endMinute(now time.Time) *CheckChange {
	if c.n < resMinSecs || c.hot {
		return nil
	}
	k := float64(c.n)
	md, mg, ma := c.sd/k, c.sg/k, c.sa/k
	vd := c.sdd/k - md*md
	if !(vd >= resMinSpreadA*resMinSpreadA) {
		return nil
	}
	c.pool[c.next] = resMinute{n: k, cg: c.sdg - md*c.sg, ca: c.sda - md*c.sa, vd: vd * k,
		vg: max(0, c.sgg-mg*c.sg), va: max(0, c.saa-ma*c.sa)}
	c.next = (c.next + 1) % resPool
	c.pooled = min(c.pooled+1, resPool)
	if c.pooled < resPool {
		return nil
	}
	var p resMinute
	var own [resPool]float64
	for j, x := range c.pool {
		p.n += x.n
		p.cg += x.cg
		p.ca += x.ca
		p.vd += x.vd
		p.vg += x.vg
		p.va += x.va
		own[j] = math.Inf(-1) // a minute whose average does not sag has no ratio of its own
		if x.ca < 0 {
			own[j] = x.cg / -x.ca
		}
	}
	// The average must follow the current for R to mean anything.
	if !(p.ca < 0) || !(p.va > 0) || !(p.ca*p.ca >= resMinR2Avg*p.vd*p.va) {
		return nil
	}
	ratio := p.cg / -p.ca
	if !finite(ratio) {
		return nil
	}
	// Insertion sort of five: the median of the minutes' own ratios.
	for j := 1; j < resPool; j++ {
		for m := j; m > 0 && own[m] < own[m-1]; m-- {
			own[m], own[m-1] = own[m-1], own[m]
		}
	}
	median := own[resPool/2]
	gapFits := p.cg > 0 && p.cg*p.cg >= resMinR2Gap*p.vd*p.vg
	ev := func() map[string]float64 {
		return map[string]float64{"extra_resistance_ratio": ratio, "limit_ratio": resRatio,
			"cell_resistance_mohm": -p.ca / p.vd * 1000, "weakest_extra_mohm": p.cg / p.vd * 1000,
			"current_spread_a": math.Sqrt(p.vd / p.n), "median_minute_ratio": median}
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
	if !(ratio >= resRatio) || !(median >= resRatio) || !gapFits {
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
