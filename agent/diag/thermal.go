package diag

import (
	"math"
	"time"
)

// ThermalCheck looks for a thermal runaway precursor: one module heating
// by itself. Exothermic side reactions or an internal short in a cell
// heat its module while little current flows, so that the hottest
// module pulls away from the coolest one and from the coolant, something
// load, weather and the thermal system do not do to one module alone.
//
// Every minute it summarises the hottest and coolest module, the coolant
// inlet (when the map has it) and the RMS pack current. Between a minute
// and the one thermalSpan minutes before it, without a gap, it reports when
//   - the RMS current stayed under thermalMaxCurrent every minute (the
//     Joule heat of the cells is then a few W per module);
//   - the spread hottest − coolest grew by thermalSpreadRise or more and
//     is at least thermalMinSpread now;
//   - the hottest module warmed by thermalHotRise or more;
//   - the coolant is not warmer than the hottest module (a heated loop
//     warms the pack unevenly too);
//
// for thermalHold minute-ends in a row. It clears after thermalClear
// minutes with the spread under thermalMinSpread.
type ThermalCheck struct {
	clock  minuteClock
	n      int
	sumHot float64
	sumCol float64
	sumCo  float64
	nCo    int
	sumI2  float64
	ring   [thermalSpan + 1]thermalMinute // the span's first and last minute and those between
	nr     int                            // minutes in the ring (consecutive)
	hits   int
	calm   int
	active bool
}

type thermalMinute struct {
	hot, cold, coolant, irms float64
	haveCoolant              bool
}

const (
	thermalSpan       = 20 // minutes
	thermalMaxCurrent = 30.0
	thermalSpreadRise = 1.5 // K over the span
	thermalHotRise    = 1.0 // K over the span
	thermalMinSpread  = 3.0 // K
	thermalHold       = 2
	thermalClear      = 10
)

// NewThermalCheck returns a thermal runaway precursor check.
func NewThermalCheck() *ThermalCheck { return &ThermalCheck{} }

// Name is "module_self_heating".
func (c *ThermalCheck) Name() string { return "module_self_heating" }

// Fault is "thermal_runaway_precursor".
func (c *ThermalCheck) Fault() string { return "thermal_runaway_precursor" }

// Active reports whether the fault is raised.
func (c *ThermalCheck) Active() bool { return c.active }

// Step reads the module temperatures, coolant inlet and pack current at
// now and returns a change at the end of a minute, or nil. It does not
// allocate unless it returns a change.
func (c *ThermalCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = ThermalCheck{}
	}
	var out *CheckChange
	if d := c.clock.tick(now); d >= time.Minute {
		if d >= 2*time.Minute {
			c.nr = 0 // a gap in the data
		}
		out = c.endMinute(now)
		c.clock.next(now)
		c.n, c.sumHot, c.sumCol, c.sumCo, c.nCo, c.sumI2 = 0, 0, 0, 0, 0, 0
	}
	hot, okH := read(ModelInputPaths[InTempMax])
	cold, okC := read(ModelInputPaths[InTempMin])
	i, okI := read(ModelInputPaths[InPackI])
	if !okH || !okC || !okI || !finite(hot) || !finite(cold) || !finite(i) {
		return out
	}
	c.n++
	c.sumHot += hot
	c.sumCol += cold
	c.sumI2 += i * i
	if co, ok := read(ModelInputPaths[InCoolantIn]); ok && finite(co) {
		c.sumCo += co
		c.nCo++
	}
	return out
}

func (c *ThermalCheck) endMinute(now time.Time) *CheckChange {
	if c.n < 40 {
		c.nr = 0
		return nil
	}
	m := thermalMinute{hot: c.sumHot / float64(c.n), cold: c.sumCol / float64(c.n), irms: math.Sqrt(c.sumI2 / float64(c.n))}
	if c.nCo > 0 {
		m.coolant, m.haveCoolant = c.sumCo/float64(c.nCo), true
	}
	copy(c.ring[:], c.ring[1:])
	c.ring[thermalSpan] = m
	c.nr = min(c.nr+1, thermalSpan+1)
	spread := m.hot - m.cold
	if c.active {
		if spread < thermalMinSpread {
			c.calm++
		} else {
			c.calm = 0
		}
		if c.calm >= thermalClear {
			c.active, c.hits, c.calm = false, 0, 0
			return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now, Evidence: map[string]float64{"spread_k": spread}}
		}
		return nil
	}
	if c.nr <= thermalSpan {
		c.hits = 0
		return nil
	}
	first := c.ring[0]
	maxI := 0.0
	for _, x := range c.ring {
		maxI = max(maxI, x.irms)
	}
	spreadRise, hotRise := spread-(first.hot-first.cold), m.hot-first.hot
	coolantOK := !m.haveCoolant || m.coolant <= m.hot
	if maxI < thermalMaxCurrent && spreadRise >= thermalSpreadRise && spread >= thermalMinSpread && hotRise >= thermalHotRise && coolantOK {
		c.hits++
	} else {
		c.hits = 0
	}
	if c.hits < thermalHold {
		return nil
	}
	c.active, c.calm = true, 0
	ev := map[string]float64{"temp_max_c": m.hot, "temp_min_c": m.cold, "spread_k": spread, "spread_rise_k_20min": spreadRise,
		"temp_max_rise_k_20min": hotRise, "current_rms_a": maxI}
	if m.haveCoolant {
		ev["coolant_in_c"] = m.coolant
	}
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: now.Add(-thermalSpan * time.Minute), Time: now, Evidence: ev}
}
