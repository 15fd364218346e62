package diag

import (
	"math"
	"time"
)

// FrozenCheck finds a sensor whose reading has stopped following the car:
// a value that stays exactly the same, to the last bit, while a quantity
// it must follow moves well beyond the sensor's resolution (a stuck
// sensor or an ECU that keeps repeating its last value), and a minimum
// above the average or a maximum below it (a drifting or swapped
// reading). Both are reported as a sensor fault naming the input. It
// needs no configuration: the partners and spans below are physics that
// hold for any car.
//
//   - pack current: unchanged for 2 min, not zero, while the car moves
//     all the time (over 5 km/h) and its speed changes by 15 km/h or more (a
//     moving car's pack current changes every sample; it is exactly zero
//     when the contactors open, as when a car runs empty and rolls to a
//     stop);
//   - motor temperature unchanged for 45 min while the inverter's moved
//     over a range of 20 K, and the inverter's while the motor's did
//     (they sit on one drive unit and one coolant loop);
//   - lowest cell above the average by more than 5 mV, highest below it,
//     coolest module above the hottest by more than 1 K, each for 2 min.
//
// Temperatures read in whole degrees hold their value for tens of
// minutes while their neighbours move, so their spans are long and their
// partners' ranges wide: over the 2 001 h of simulated healthy validation
// driving a motor reading held 30 min while the inverter moved 20 K, but
// no reading held 45 min while it moved more than 10 K (shorter spans, 71
// false alarms in 1 002 h when tried). Coolant inlet and outlet are not
// watched: they differ by little more than a whole degree. Nor are the
// hottest and coolest module: one module heating by itself (a thermal
// runaway precursor) moves the hottest while the coolest holds, and a
// heated loop warms the coolest towards a hottest that holds. Cells are
// not watched for holding still: the BMS holds
// the highest cell exactly at its limit while it charges (constant
// voltage on that cell), the lowest at its cut-off when it limits the
// power.
//
// A missing input or a gap of over frozenMaxGap in the data starts a watch
// over, and so does a parked car for the pack current (the speed is its
// partner); the temperature watches go on while the car stands. The fault
// clears only on evidence that the raised input is plausible again: a
// watched input that changed frozenClearChanges times (the pack current
// only while the car moves; a whole-degree temperature takes hours of
// driving to change that often), an ordering that held for frozenClear (a
// parked car or a missing input clears nothing).
type FrozenCheck struct {
	clock   minuteClock
	watches [len(frozenWatches)]frozenWatch
	order   [len(orderRules)]time.Time // when each ordering violation began
	bad     int                        // the input raised (InPackI, ...), -1 none
	active  bool
	// What was raised: a watch or an ordering (indices, -1 none), and the
	// seconds it has been seen plausible since: the watched input
	// changing while the car moves, or the ordering holding.
	raisedWatch, raisedOrder int
	plausible                int
}

// frozenWatch follows one input: its value, since when it has held it,
// and its partner's range since then.
type frozenWatch struct {
	have     bool
	v        float64
	since    time.Time
	pLo, pHi float64
}

type frozenSpec struct {
	in, partner int
	move        float64 // partner range that proves the input should have moved
	span        time.Duration
	partnerMin  float64 // the partner must stay above this all the time
	nonzero     bool    // a value of exactly zero is not watched
}

var frozenWatches = [...]frozenSpec{
	{InPackI, InSpeed, 15, 2 * time.Minute, 5, true},
	{InMotorTemp, InInverterTemp, 20, 45 * time.Minute, -1000, false},
	{InInverterTemp, InMotorTemp, 20, 45 * time.Minute, -1000, false},
}

// orderRules: lo must not exceed hi by more than tol.
var orderRules = [...]struct {
	lo, hi  int
	tol     float64
	suspect int // the input reported
}{
	{InCellMin, InCellAvg, 0.005, InCellMin},
	{InCellAvg, InCellMax, 0.005, InCellMax},
	{InTempMin, InTempMax, 1, InTempMax},
}

const (
	orderSpan          = 2 * time.Minute
	frozenClear        = 10 * time.Minute // an ordering plausible this long clears it
	frozenClearChanges = 120              // a watched input changing this many times while the car moves clears it
	frozenMaxGap       = 5 * time.Second  // a longer gap in the data starts every watch over
	frozenMaxAbs       = 1e6              // readings beyond are not physical: missing
)

// NewFrozenCheck returns a frozen-sensor check.
func NewFrozenCheck() *FrozenCheck { return &FrozenCheck{bad: -1, raisedWatch: -1, raisedOrder: -1} }

// Name is "frozen_sensor".
func (c *FrozenCheck) Name() string { return "frozen_sensor" }

// Fault is "sensor_fault".
func (c *FrozenCheck) Fault() string { return "sensor_fault" }

// Active reports whether the fault is raised.
func (c *FrozenCheck) Active() bool { return c.active }

// Step reads the watched inputs at now (once a second of data time) and
// returns a change when the fault is raised or cleared. It does not
// allocate unless it returns a change.
func (c *FrozenCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = FrozenCheck{bad: -1, raisedWatch: -1, raisedOrder: -1}
	}
	if !c.clock.last.IsZero() && now.Sub(c.clock.last) > frozenMaxGap {
		// A gap in the data: nothing is known to have held across it.
		c.watches = [len(frozenWatches)]frozenWatch{}
		c.order = [len(orderRules)]time.Time{}
	}
	c.clock.tick(now)
	get := func(in int) (float64, bool) {
		v, ok := read(ModelInputPaths[in])
		return v, ok && finite(v) && math.Abs(v) < frozenMaxAbs
	}
	// The first input found implausible, and since when.
	found, partner, from, evV, evP, evR, evKey := -1, -1, time.Time{}, 0.0, 0.0, 0.0, ""
	watchK, orderK := -1, -1
	for k, sp := range frozenWatches {
		w := &c.watches[k]
		v, okV := get(sp.in)
		p, okP := get(sp.partner)
		if !okV || !okP || p <= sp.partnerMin || (sp.nonzero && v == 0) {
			*w = frozenWatch{}
			continue
		}
		if !w.have || v != w.v {
			if c.active && c.raisedWatch == k && w.have {
				c.plausible++ // the raised input moves while the car does
			}
			*w = frozenWatch{have: true, v: v, since: now, pLo: p, pHi: p}
			continue
		}
		w.pLo, w.pHi = math.Min(w.pLo, p), math.Max(w.pHi, p)
		if now.Sub(w.since) >= sp.span && w.pHi-w.pLo >= sp.move && found < 0 {
			found, partner, from, evV, evP, evR, evKey = sp.in, sp.partner, w.since, v, p, w.pHi-w.pLo, "partner_range"
			watchK = k
		}
	}
	for k, r := range orderRules {
		lo, okL := get(r.lo)
		hi, okH := get(r.hi)
		if !okL || !okH {
			c.order[k] = time.Time{}
			continue
		}
		if lo-hi <= r.tol {
			c.order[k] = time.Time{}
			if c.active && c.raisedOrder == k {
				c.plausible++ // the raised ordering holds again
			}
			continue
		}
		if c.active && c.raisedOrder == k {
			c.plausible = 0
		}
		if c.order[k].IsZero() {
			c.order[k] = now
		}
		if now.Sub(c.order[k]) >= orderSpan && found < 0 {
			found, partner, from, evV, evP, evR, evKey = r.suspect, r.lo+r.hi-r.suspect, c.order[k], lo, hi, lo-hi, "excess"
			orderK = k
			if r.suspect == r.hi {
				evV, evP = hi, lo
			}
		}
	}
	if found >= 0 {
		c.plausible = 0
		if c.active {
			return nil
		}
		c.active, c.bad, c.raisedWatch, c.raisedOrder = true, found, watchK, orderK
		// Evidence: the suspect input's path and value, its partner's,
		// and the partner's range while the input held (partner_range)
		// or how far the lower exceeded the higher (excess).
		ev := map[string]float64{ModelInputPaths[found]: evV, ModelInputPaths[partner]: evP, evKey: evR}
		return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: from, Time: now, Evidence: ev}
	}
	if !c.active {
		return nil
	}
	need := frozenClearChanges
	if c.raisedOrder >= 0 {
		need = int(frozenClear / time.Second)
	}
	if c.plausible < need {
		return nil
	}
	c.active, c.bad, c.raisedWatch, c.raisedOrder, c.plausible = false, -1, -1, -1, 0
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now,
		Evidence: map[string]float64{"plausible_s": float64(need)}}
}
