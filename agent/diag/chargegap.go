package diag

import (
	"math"
	"time"
)

// ChargeGapCheck looks for a cell that loses charge by itself (an internal
// short or heavy self-discharge) while the car charges at a steady, modest
// current (an AC charge). All cells in series take the same current, so
// the lowest cell's lag behind the average, in charge, can only grow by the
// difference between its capacity and theirs, or by charge it loses inside:
//
//   - the average cell follows its open-circuit curve as the SOC climbs
//     (the resistive rise is constant at constant current), so its rise
//     over the session divided by the SOC gained is the curve's slope S,
//     mV per % of SOC, learnt from the car itself;
//   - the growth of the gap average − lowest over the same span, divided
//     by S, is the lowest cell's extra lag D in % of SOC;
//   - a healthy cell with a capacity k times the others' lags by
//     (k − 1)·ΔSOC: cells of one pack differ by a few percent, so D/ΔSOC
//     stays at a few hundredths. A short drains its cell whatever the SOC
//     does: a slow charge makes D/ΔSOC large.
//
// A minute counts when every second of it was charging with the current
// into the battery between chgGapMinA and chgGapMaxA, its mean within
// chgGapStepTol of the minute before and chgGapDriftTol of the session's
// first minute (a constant-power charger's current falls as the pack's
// voltage climbs, by 10–15 % over a charge; the resistive part of the cell
// voltages then moves by a few mV, a few tenths of the limits below at
// most), and the SOC under chgGapMaxSOC (the
// constant-voltage end holds the highest cells). The first chgGapSettle
// minutes of a session are skipped (polarisation settles); the next one is
// the reference. A minute that does not count ends the session. From
// chgGapMinSOC of SOC gained, with S at least chgGapMinSlope (a flat curve,
// as an LFP plateau, hides any lag), a minute is a hit when D reaches
// chgGapMinLag and D/ΔSOC reaches chgGapMinRatio; chgGapHold hits in a row
// raise an internal short. Once raised, chgGapClear judged minutes in a
// row (in this or later sessions) under half both limits clear it. A
// lowest-cell reading that has not changed at all since the reference
// while the average rose chgGapStuckMV is raised as a sensor fault
// instead: current flows through every cell, so a real cell moves.
//
// It reads the charging flag, pack current (VSS: positive into the
// battery), SOC, the cells' average and lowest voltage. Without the
// average cell (not every BMS sends it) it does nothing.
//
// NewChargeLeadCheck returns its mirror for a cell of low capacity: the
// highest cell pulling ahead of the average by D = (1/k − 1)·ΔSOC, raised
// as a capacity outlier at chgLeadMinLead and chgLeadMinRatio (healthy
// highest cells spread wider than lowest ones) and cleared under half of
// those.
type ChargeGapCheck struct {
	high  bool // the highest cell pulling ahead (capacity), not the lowest lagging (short)
	clock minuteClock
	// the minute under way
	n, bad                           int
	sumI, sumSOC, sumAvg, sumLo, sum float64
	// the session
	minutes               int     // counted minutes in the session
	refI, prevI           float64 // the session's first and the last minute's current
	soc0, avg0, lo0, gap0 float64 // the reference minute
	hits, calm            int
	active                bool
	fault                 string // what was raised
	first                 time.Time
	// The extreme cell's reading: the last one, and whether it changed
	// (to the bit) since the reference minute.
	lastX            float64
	haveLast, xMoved bool
}

const (
	chgGapMinA      = 1.0  // A into the battery
	chgGapMaxA      = 60.0 // A: AC charging; DC charges heat cells unevenly
	chgGapStepTol   = 0.05 // relative, against the minute before
	chgGapDriftTol  = 0.3  // relative, against the session's first minute
	chgGapMaxSOC    = 95.0 // %
	chgGapSettle    = 10   // minutes
	chgGapMinSOC    = 2.0  // % gained before judging
	chgGapMinSlope  = 1.0  // mV per % of SOC
	chgGapMinLag    = 1.0  // % of SOC
	chgGapMinRatio  = 0.2
	chgGapHold      = 5
	chgGapClear     = 10
	chgLeadMinLead  = 1.5 // % of SOC: the highest cell's healthy tail is wider
	chgLeadMinRatio = 0.3
	chgGapStuckMV   = 5.0 // mV the average must rise for an unchanged lowest-cell reading to count as stuck
)

// NewChargeGapCheck returns an internal short check for charging sessions.
func NewChargeGapCheck() *ChargeGapCheck { return &ChargeGapCheck{} }

// NewChargeLeadCheck returns a cell capacity check for charging sessions.
func NewChargeLeadCheck() *ChargeGapCheck { return &ChargeGapCheck{high: true} }

// Name is "charge_cell_lag", or "charge_cell_lead" for the highest cell.
func (c *ChargeGapCheck) Name() string {
	if c.high {
		return "charge_cell_lead"
	}
	return "charge_cell_lag"
}

// Fault is "cell_internal_short", or "cell_capacity_outlier" for the
// highest cell; while raised, what was raised ("sensor_fault" for a
// lowest-cell reading that stopped).
func (c *ChargeGapCheck) Fault() string {
	if c.active && c.fault != "" {
		return c.fault
	}
	return c.kind()
}

func (c *ChargeGapCheck) kind() string {
	if c.high {
		return "cell_capacity_outlier"
	}
	return "cell_internal_short"
}

// Active reports whether the fault is raised.
func (c *ChargeGapCheck) Active() bool { return c.active }

// Step reads the inputs at now (once a second of data time, in order) and
// returns a change at the end of a minute, or nil. It does not allocate
// unless it returns a change.
func (c *ChargeGapCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = ChargeGapCheck{high: c.high}
	}
	var out *CheckChange
	if d := c.clock.tick(now); d >= time.Minute {
		out = c.endMinute(now)
		if d >= 2*time.Minute {
			c.minutes = 0 // a gap in the data ends the session
		}
		c.clock.next(now)
		c.n, c.bad, c.sumI, c.sumSOC, c.sumAvg, c.sumLo, c.sum = 0, 0, 0, 0, 0, 0, 0
	}
	chg, ok1 := read(ModelInputPaths[InCharging])
	i, ok2 := read(ModelInputPaths[InPackI])
	soc, ok3 := read(ModelInputPaths[InSOC])
	avg, ok4 := read(ModelInputPaths[InCellAvg])
	ext, gap := InCellMin, 1.0 // the extreme cell, and the sign of its gap
	if c.high {
		ext, gap = InCellMax, -1
	}
	x, ok5 := read(ModelInputPaths[ext])
	gap *= avg - x
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !finite(chg) || !finite(i) || !finite(soc) || !finite(avg) || !finite(x) ||
		chg < 0.5 || i < chgGapMinA || i > chgGapMaxA || soc < 0 || soc > chgGapMaxSOC || avg < 1 || avg > 5 || x < 1 || x > 5 || gap < -0.1 {
		c.bad++
		return out
	}
	c.n++
	c.sumI += i
	c.sumSOC += soc
	c.sumAvg += avg
	c.sumLo += x
	c.sum += gap
	if c.haveLast && x != c.lastX {
		c.xMoved = true
	}
	c.lastX, c.haveLast = x, true
	return out
}

func (c *ChargeGapCheck) endMinute(now time.Time) *CheckChange {
	if c.bad > 0 || c.n < 50 {
		c.minutes = 0
		return nil
	}
	n := float64(c.n)
	i, soc, avg, lo, gap := c.sumI/n, c.sumSOC/n, c.sumAvg/n, c.sumLo/n, c.sum/n
	if c.minutes == 0 {
		c.refI, c.prevI = i, i
	}
	if math.Abs(i-c.prevI) > chgGapStepTol*c.prevI || math.Abs(i-c.refI) > chgGapDriftTol*c.refI {
		c.minutes = 0
		return nil
	}
	c.prevI = i
	c.minutes++
	switch {
	case c.minutes <= chgGapSettle:
		return nil
	case c.minutes == chgGapSettle+1:
		c.soc0, c.avg0, c.lo0, c.gap0 = soc, avg, lo, gap
		c.hits, c.xMoved = 0, false
		return nil
	}
	ds := soc - c.soc0
	if ds < chgGapMinSOC {
		return nil
	}
	slope := (avg - c.avg0) * 1000 / ds // mV per %
	if slope < chgGapMinSlope {
		c.hits = 0
		return nil
	}
	lag := (gap - c.gap0) * 1000 / slope // % of SOC
	ratio := lag / ds
	ev := func() map[string]float64 {
		if c.high {
			return map[string]float64{"lead_pct_soc": lag, "lead_per_soc_gained": ratio, "soc_gained_pct": ds, "ocv_slope_mv_per_pct": slope,
				"gap_mv": gap * 1000, "gap_rise_mv": (gap - c.gap0) * 1000, "highest_rise_mv": (lo - c.lo0) * 1000, "charge_a": i}
		}
		return map[string]float64{"lag_pct_soc": lag, "lag_per_soc_gained": ratio, "soc_gained_pct": ds, "ocv_slope_mv_per_pct": slope,
			"gap_mv": gap * 1000, "gap_rise_mv": (gap - c.gap0) * 1000, "lowest_rise_mv": (lo - c.lo0) * 1000, "charge_a": i}
	}
	minLag, minRatio := chgGapMinLag, chgGapMinRatio
	if c.high {
		minLag, minRatio = chgLeadMinLead, chgLeadMinRatio
	}
	if c.active {
		if lag < minLag/2 && ratio < minRatio/2 {
			c.calm++
		} else {
			c.calm = 0
		}
		if c.calm >= chgGapClear {
			c.active, c.calm = false, 0
			return &CheckChange{Check: c.Name(), Fault: c.fault, Since: now, Time: now, Evidence: ev()}
		}
		return nil
	}
	if lag < minLag || ratio < minRatio {
		c.hits = 0
		return nil
	}
	if c.hits == 0 {
		c.first = c.clock.start
	}
	c.hits++
	if c.hits < chgGapHold {
		return nil
	}
	c.active, c.calm, c.hits = true, 0, 0
	c.fault = c.kind()
	if !c.high && !c.xMoved && (avg-c.avg0)*1000 >= chgGapStuckMV {
		// Charge flows through every cell in series: a lowest-cell
		// reading that has not changed to the bit since the reference
		// while the average rose is a reading that stopped (a stuck or
		// frozen cell-voltage channel), not a cell. A real cell, even
		// one a heavy short holds back or drains, moves by some step.
		c.fault = "sensor_fault"
	}
	return &CheckChange{Check: c.Name(), Fault: c.fault, Raised: true, Since: c.first, Time: now, Evidence: ev()}
}
