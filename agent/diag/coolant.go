package diag

import (
	"math"
	"time"
)

// CoolantFlowCheck looks for a battery coolant loop that delivers less
// flow than its pump is commanded to (a failing pump, a blocked or kinked
// line, air in the loop). The coolant's temperature rise through the pack
// against the pack's lead over the coolant, ε = (outlet − inlet) /
// (pack − inlet), is the cold plate's effectiveness UA/(ṁ·c_p): the heat
// the coolant picks up over the flow that carries it. It does not depend
// on the load, the weather or the charger, only on the flow ṁ for a given
// pump duty, so the check learns ε per band of pump duty from the car
// itself and reports when the coolant warms much more than it did at the
// same duty: the same heat carried by less coolant.
//
// A minute counts when the pump ran at a steady duty (at least
// coolMinDuty %, within coolDutySpread), the pack (the mean of its hottest
// and coolest module) was at least coolMinLead K over the inlet, and the
// inlet moved coolMaxInletSlope K or less since the minute before (the
// outlet lags the inlet by the loop's transit, so a changing inlet,
// as when the chiller starts, skews ε). Each 10 % band of duty learns the
// mean ε of its first coolLearn minutes, then follows it slowly (a
// 30-minute mean over minutes within coolClearRatio of it). A band still
// learning is judged against the nearest learnt band of less flow (more
// flow lowers ε, so that band's ε bounds its own: a pump that speeds up
// as a failing loop heats the pack does not learn the fault in its new
// band); a minute deviating from it is not learnt. It reports when coolHold
// counted minutes in a row, each judged against a learnt band, have ε at
// least coolRatio times that band's (at least coolMinEps) and coolMinExcess over it, with
// the coolant rising coolMinExcessK more than the band's ε predicts; it
// clears after coolClear counted minutes within coolClearRatio of it. A
// gap of over coolMaxGap in the data drops the minute under way and
// starts the count of minutes in a row over; readings outside −60..200 °C
// or 0..100 % are missing.
type CoolantFlowCheck struct {
	clock  minuteClock
	n      int
	sumIn  float64
	sumOut float64
	sumMid float64
	sumD   float64
	dLo    float64
	dHi    float64
	lastIn float64 // the last full minute's inlet mean
	haveIn bool
	band   [10]struct {
		eps float64
		n   int
	}
	hits   int
	calm   int
	from   time.Time
	active bool
}

const (
	coolMinDuty       = 10.0 // %
	coolDutySpread    = 5.0  // % within the minute
	coolMinLead       = 6.0  // K pack over inlet
	coolMaxInletSlope = 0.3  // K/min
	coolLearn         = 5    // minutes per band
	coolFollow        = 30   // minutes, the band's mean once learnt
	coolRatio         = 1.4
	coolMinExcess     = 0.08
	coolMinEps        = 0.05 // the smallest learnt ε the ratio is taken against
	coolMinExcessK    = 1.5  // K of coolant rise over what the band's ε predicts
	coolMaxGap        = 5 * time.Second
	coolHold          = 5
	coolClearRatio    = 1.2
	coolClear         = 10
)

// NewCoolantFlowCheck returns a coolant flow check.
func NewCoolantFlowCheck() *CoolantFlowCheck { return &CoolantFlowCheck{} }

// Name is "coolant_flow".
func (c *CoolantFlowCheck) Name() string { return "coolant_flow" }

// Fault is "cooling_loss".
func (c *CoolantFlowCheck) Fault() string { return "cooling_loss" }

// Active reports whether the fault is raised.
func (c *CoolantFlowCheck) Active() bool { return c.active }

// Step reads the coolant inlet and outlet, the pump duty and the hottest
// and coolest module at now (once a second of data time) and returns a
// change at the end of a minute, or nil. It does not allocate unless it
// returns a change.
func (c *CoolantFlowCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = CoolantFlowCheck{}
	}
	if !c.clock.last.IsZero() && now.Sub(c.clock.last) > coolMaxGap {
		// A gap in the data: the minute under way is dropped, and no
		// minute counts "in a row" or as a slope across the gap.
		c.n, c.sumIn, c.sumOut, c.sumMid, c.sumD = 0, 0, 0, 0, 0
		c.haveIn, c.hits, c.calm = false, 0, 0
		c.clock.next(now)
	}
	var out *CheckChange
	if c.clock.tick(now) >= time.Minute {
		out = c.endMinute(now)
		c.clock.next(now)
		c.n, c.sumIn, c.sumOut, c.sumMid, c.sumD = 0, 0, 0, 0, 0
	}
	in, okI := read(ModelInputPaths[InCoolantIn])
	o, okO := read(ModelInputPaths[InCoolantOut])
	d, okD := read(ModelInputPaths[InPumpDuty])
	hot, okH := read(ModelInputPaths[InTempMax])
	cold, okC := read(ModelInputPaths[InTempMin])
	if !okI || !okO || !okD || !okH || !okC || !coolTemp(in) || !coolTemp(o) || !coolTemp(hot) || !coolTemp(cold) ||
		!(d >= 0 && d <= 100) {
		return out
	}
	if c.n == 0 || d < c.dLo {
		c.dLo = d
	}
	if c.n == 0 || d > c.dHi {
		c.dHi = d
	}
	c.n++
	c.sumIn += in
	c.sumOut += o
	c.sumMid += (hot + cold) / 2
	c.sumD += d
	return out
}

// coolTemp reports whether t is a temperature a coolant loop or a
// module can read, °C.
func coolTemp(t float64) bool { return t >= -60 && t <= 200 }

func (c *CoolantFlowCheck) endMinute(now time.Time) *CheckChange {
	if c.n < 50 {
		c.haveIn = false
		return nil
	}
	k := float64(c.n)
	in, o, mid, d := c.sumIn/k, c.sumOut/k, c.sumMid/k, c.sumD/k
	steadyIn := c.haveIn && math.Abs(in-c.lastIn) <= coolMaxInletSlope
	c.lastIn, c.haveIn = in, true
	if d < coolMinDuty || c.dHi-c.dLo > coolDutySpread || mid-in < coolMinLead || !steadyIn {
		return nil
	}
	eps := (o - in) / (mid - in)
	bi := min(int(d/10), len(c.band)-1)
	b := &c.band[bi]
	// Deviating from a learnt ε: well over it, and the coolant's rise
	// well over what it predicts in kelvin too (with whole-degree sensors
	// a band can learn ε = 0 and one degree of rise doubles nothing).
	deviates := func(ref float64) bool {
		return eps >= coolRatio*max(ref, coolMinEps) && eps-ref >= coolMinExcess && (o-in)-ref*(mid-in) >= coolMinExcessK
	}
	ref, refBand := b.eps, bi
	if b.n < coolLearn {
		// A band still learning is judged against the nearest learnt
		// band of less flow: more flow lowers ε, so that band's ε bounds
		// its own. A minute that deviates from it is not learnt.
		lower := -1
		for j := bi - 1; j >= 0; j-- {
			if c.band[j].n >= coolLearn {
				lower = j
				break
			}
		}
		if lower < 0 || !deviates(c.band[lower].eps) {
			if lower >= 0 {
				c.hits = 0
			}
			b.n++
			b.eps += (eps - b.eps) / float64(b.n)
			return nil
		}
		ref, refBand = c.band[lower].eps, lower
	}
	if deviates(ref) {
		c.calm = 0
		if c.hits == 0 {
			c.from = c.clock.start
		}
		c.hits++
		if c.active || c.hits < coolHold {
			return nil
		}
		c.active = true
		return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: c.from, Time: now,
			Evidence: map[string]float64{"effectiveness": eps, "effectiveness_learnt": ref, "learnt_band_pct": float64(refBand * 10),
				"pump_duty_pct": d, "coolant_rise_k": o - in, "pack_over_inlet_k": mid - in}}
	}
	c.hits = 0
	if eps > coolClearRatio*b.eps {
		c.calm = 0 // in between: neither learnt nor calm
		return nil
	}
	b.n = min(b.n+1, coolFollow)
	b.eps += (eps - b.eps) / float64(b.n)
	if !c.active {
		c.calm = 0
		return nil
	}
	c.calm++
	if c.calm < coolClear {
		return nil
	}
	c.active, c.calm = false, 0
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now,
		Evidence: map[string]float64{"effectiveness": eps, "effectiveness_learnt": b.eps, "pump_duty_pct": d}}
}
