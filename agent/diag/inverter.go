package diag

import (
	"math"
	"time"
)

// DriveCoolantPath is the VSS path of the drive unit's coolant temperature
// (the loop that cools the motor and its inverter). It is not a model
// input; InverterCoolingCheck needs it and does nothing without it.
const DriveCoolantPath = "Vehicle.Powertrain.ElectricMotor.CoolantTemperature"

// DrivePumpPath is the VSS path of the drive loop's coolant pump duty
// (percent commanded). VSS has no leaf for it. InverterCoolingCheck needs
// it: the inverter's conductance to its coolant follows the flow.
const DrivePumpPath = "Vehicle.Private.EvedgeSim.DriveCoolantPumpDuty"

// InverterCoolingCheck looks for an inverter that has lost its cooling (a
// power module lifting off its cold plate, dried thermal paste, a blocked
// channel): it runs much hotter over its coolant than it did for the same
// load and coolant flow. The inverter's lead over the drive loop's coolant
// is its losses over its conductance to the cold plate; its losses grow
// with the power it converts and its conductance with the flow, so the
// check learns from the car, per 10 % band of the drive pump's duty, a
// line of the lead against the load (|torque| × speed, each minute's mean,
// through a first-order lag of invLagMinutes as the power modules' heat
// takes that long to reach the sensor) and reports when the lead is
// several times what the line predicts.
//
// A minute counts when at least invMinSeconds of its seconds have the
// inverter and coolant temperatures, the pump duty, the torque and the
// speed, the car moved at invMinSpeed km/h or more on average and the
// pump stayed within invDutySpread, in the same band as the minute before
// (after a change of band the inverter has not settled). A band's line is
// fitted (least squares, its slope at least 0) to its first invLearn
// counted minutes and then follows, forgetting with a time constant of
// invForget minutes; a band not yet learnt, or whose loads learnt do not
// cover the minute's, is judged against the nearest learnt band of less
// flow that covers them (more flow cools better, so that band's lead
// bounds its own). Each counted minute is judged on the last invPool
// counted minutes: their mean lead against their mean prediction, only
// when all their loads lie within the ranges learnt (widened by a tenth)
// or above them up to invCarry times the highest load learnt; there the
// line is carried up in proportion to the load (predictCarried). Never
// below the loads learnt: a line carried down may understate the lead
// (idle losses, a flat start). A pool at least
// invRatio times the prediction (at least 1 K) and invExcess K over it is
// deviating; invHold in a row raise the fault, and invClear judged pools
// in a row under invClearRatio times the prediction clear it. Only pools
// under invLearnRatio are learnt (a fault that grows over tens of minutes
// is not followed), and minutes not judged (the pool filling after
// learning or a gap, loads out of range) only when under invClearRatio
// times the prediction. A gap of over invMaxGap in the data drops the
// minute under way, the lag, the pool and the last band; readings outside
// −60..200 °C, 0..100 %, ±5,000 N·m or 0..400 km/h are missing.
type InverterCoolingCheck struct {
	clock  minuteClock
	n      int
	sumInv float64
	sumCol float64
	sumL   float64
	sumV   float64

	sumD float64
	dLo  float64
	dHi  float64

	lag      float64 // the lagged load
	haveL    bool
	lastBand int // the last full minute's pump band, -1 none
	band     [10]invLine
	pool     [invPool]struct {
		lead, pred, load float64
		band             int
	}
	np     int // minutes in the pool, at most invPool
	next   int // where the next minute goes
	hits   int
	calm   int
	from   time.Time
	active bool
}

const (
	invMinSeconds  = 50
	invMinSpeed    = 20.0 // km/h, the minute's mean
	invLagMinutes  = 2.0
	invLearn       = 10    // minutes per pump band
	invDutySpread  = 5.0   // % within the minute
	invForget      = 600.0 // minutes
	invPool        = 10
	invRatio       = 3.0
	invExcess      = 8.0 // K
	invHold        = 3
	invClearRatio  = 1.5
	invLearnRatio  = 1.2 // pools learnt: a fault that grows slowly is not followed
	invClear       = 10
	invMaxGap      = 5 * time.Second
	invMaxTorque   = 5000.0 // N·m
	invMaxSpeed    = 400.0  // km/h
	invRangeWiden  = 0.1
	invMinPredLead = 1.0 // K: the smallest prediction a ratio is taken against
	invCarry       = 2.0 // loads judged up to this many times the highest learnt
)

// invLine is one pump band's line of the inverter's lead against the load.
type invLine struct {
	n, x, y, xx, xy float64
	lo, hi          float64 // the loads learnt
}

// NewInverterCoolingCheck returns an inverter cooling check.
func NewInverterCoolingCheck() *InverterCoolingCheck { return &InverterCoolingCheck{lastBand: -1} }

// Name is "inverter_cooling".
func (c *InverterCoolingCheck) Name() string { return "inverter_cooling" }

// Fault is "motor_inverter_overheating".
func (c *InverterCoolingCheck) Fault() string { return "motor_inverter_overheating" }

// Active reports whether the fault is raised.
func (c *InverterCoolingCheck) Active() bool { return c.active }

// Step reads the inverter and drive coolant temperatures, the torque and
// the speed at now (once a second of data time) and returns a change at
// the end of a minute, or nil. It does not allocate unless it returns a
// change.
func (c *InverterCoolingCheck) Step(now time.Time, read Read) *CheckChange {
	if c.clock.wentBack(now) {
		*c = InverterCoolingCheck{lastBand: -1}
	}
	if !c.clock.last.IsZero() && now.Sub(c.clock.last) > invMaxGap {
		c.n, c.sumInv, c.sumCol, c.sumL, c.sumV, c.sumD = 0, 0, 0, 0, 0, 0
		c.haveL, c.np, c.next, c.hits, c.calm, c.lastBand = false, 0, 0, 0, 0, -1
		c.clock.next(now)
	}
	var out *CheckChange
	if c.clock.tick(now) >= time.Minute {
		out = c.endMinute(now)
		c.clock.next(now)
		c.n, c.sumInv, c.sumCol, c.sumL, c.sumV, c.sumD = 0, 0, 0, 0, 0, 0
	}
	inv, okI := read(ModelInputPaths[InInverterTemp])
	col, okC := read(DriveCoolantPath)
	d, okD := read(DrivePumpPath)
	tq, okT := read(ModelInputPaths[InTorque])
	v, okV := read(ModelInputPaths[InSpeed])
	if !okI || !okC || !okD || !okT || !okV || !coolTemp(inv) || !coolTemp(col) || !(d >= 0 && d <= 100) ||
		!(math.Abs(tq) <= invMaxTorque) || !(v >= 0 && v <= invMaxSpeed) {
		return out
	}
	if c.n == 0 || d < c.dLo {
		c.dLo = d
	}
	if c.n == 0 || d > c.dHi {
		c.dHi = d
	}
	c.sumD += d
	c.n++
	c.sumInv += inv
	c.sumCol += col
	c.sumL += math.Abs(tq) * v / 1000
	c.sumV += v
	return out
}

func (c *InverterCoolingCheck) endMinute(now time.Time) *CheckChange {
	if c.n < invMinSeconds {
		c.lastBand = -1
		return nil
	}
	k := float64(c.n)
	lead, load, speed, duty := (c.sumInv-c.sumCol)/k, c.sumL/k, c.sumV/k, c.sumD/k
	if c.haveL {
		c.lag += (load - c.lag) * (1 - math.Exp(-1/invLagMinutes))
	} else {
		c.lag, c.haveL = load, true
	}
	bi := min(int(duty/10), len(c.band)-1)
	steady := c.dHi-c.dLo <= invDutySpread && bi == c.lastBand
	c.lastBand = bi
	if c.dHi-c.dLo > invDutySpread {
		c.lastBand = -1
	}
	if speed < invMinSpeed || !steady {
		return nil // the pump just changed band: the inverter has not settled
	}
	x, b := c.lag, &c.band[bi]
	// The band's own line once learnt and when it covers the load; else
	// the nearest learnt band of less flow that covers it (more flow
	// cools better: its lead is an upper bound); else the nearest learnt
	// band, and the minute's pool is not judged.
	ref, near := -1, -1
	for j := bi; j >= 0; j-- {
		if c.band[j].n >= invLearn {
			if near < 0 {
				near = j
			}
			if c.band[j].covers(x) {
				ref = j
				break
			}
		}
	}
	if near < 0 {
		b.learn(x, lead)
		return nil
	}
	if ref < 0 {
		ref = near
	}
	pred := c.band[ref].predictCarried(x)
	c.pool[c.next] = struct {
		lead, pred, load float64
		band             int
	}{lead, pred, x, ref}
	c.next = (c.next + 1) % invPool
	c.np = min(c.np+1, invPool)
	// Not judged (the pool filling after learning or a gap, loads out of
	// the band's range): learnt when the band's line predicts the minute.
	fits := lead < invClearRatio*max(pred, invMinPredLead)
	if c.np < invPool {
		if fits {
			b.learn(x, lead)
		}
		return nil
	}
	var obs, exp float64
	inRange := true
	for _, p := range c.pool {
		obs += p.lead
		exp += p.pred
		inRange = inRange && c.band[p.band].covers(p.load)
	}
	obs /= invPool
	exp /= invPool
	if !inRange {
		if fits {
			b.learn(x, lead)
		}
		return nil
	}
	ratio := obs / max(exp, invMinPredLead)
	if ratio >= invRatio && obs-exp >= invExcess {
		c.calm = 0
		if c.hits == 0 {
			c.from = c.clock.start
		}
		c.hits++
		if c.active || c.hits < invHold {
			return nil
		}
		c.active = true
		return &CheckChange{Check: c.Name(), Fault: c.Fault(), Raised: true, Since: c.from, Time: now,
			Evidence: c.evidence(obs, exp, ratio, x, duty)}
	}
	c.hits = 0
	if ratio >= invClearRatio {
		c.calm = 0 // in between: neither learnt nor calm
		return nil
	}
	if ratio < invLearnRatio {
		b.learn(x, lead)
	}
	if !c.active {
		return nil
	}
	c.calm++
	if c.calm < invClear {
		return nil
	}
	c.active, c.calm = false, 0
	return &CheckChange{Check: c.Name(), Fault: c.Fault(), Since: now, Time: now,
		Evidence: c.evidence(obs, exp, ratio, x, duty)}
}

// learn adds one minute to the line, forgetting old minutes once
// invForget of them are in.
func (l *invLine) learn(x, y float64) {
	if l.n >= invForget {
		d := 1 - 1/invForget
		l.n, l.x, l.y, l.xx, l.xy = l.n*d, l.x*d, l.y*d, l.xx*d, l.xy*d
	}
	l.n++
	l.x += x
	l.y += y
	l.xx += x * x
	l.xy += x * y
	if l.n <= 1 {
		l.lo, l.hi = x, x
	} else {
		l.lo, l.hi = min(l.lo, x), max(l.hi, x)
	}
}

// covers reports whether the line judges load x: within the loads learnt
// (widened by invRangeWiden) or above them up to invCarry times the
// highest.
func (l *invLine) covers(x float64) bool {
	widen := invRangeWiden * (l.hi - l.lo)
	return x >= l.lo-widen && x <= max(l.hi+widen, invCarry*l.hi)
}

// predictCarried is the line's lead at load x within the loads learnt
// (widened by invRangeWiden). Above them it is the larger of the line and
// the lead at the highest load learnt scaled in proportion to the load:
// an inverter whose lead grew with the square of its load would then run
// at most invCarry times the prediction up to invCarry times that load,
// under invRatio.
func (l *invLine) predictCarried(x float64) float64 {
	p := l.predict(x)
	if top := l.hi + invRangeWiden*(l.hi-l.lo); x > top && l.hi > 0 {
		p = max(p, l.predict(l.hi)*x/l.hi)
	}
	return p
}

// predict is the line's lead at load x: least squares, slope at least 0.
func (l *invLine) predict(x float64) float64 {
	mx, my := l.x/l.n, l.y/l.n
	vx := l.xx/l.n - mx*mx
	b := 0.0
	if vx > 1e-9 {
		b = max(0, (l.xy/l.n-mx*my)/vx)
	}
	return my + b*(x-mx)
}

func (c *InverterCoolingCheck) evidence(obs, exp, ratio, load, duty float64) map[string]float64 {
	return map[string]float64{"inverter_over_coolant_k": obs, "expected_k": exp, "ratio": ratio,
		"limit_ratio": invRatio, "load": load, "pump_duty_pct": duty}
}
