package sim

import (
	"math"
	"time"
)

const bootTime = 1.0 // s the ECUs run on 12 V before the contactors close

// tick advances the model by one physics step of length d.
func (s *Sim) tick(d time.Duration) {
	h := d.Seconds()
	m := &s.m
	c := &s.cfg
	p := &s.plant

	// Faults set their effects on a healthy plant.
	p.reset()
	for i := range s.faults {
		if l := s.faults[i].level(s.elapsed); l > 0 {
			s.faults[i].f.Apply(p, l)
		}
	}
	m.hvil = !p.HVILOpen

	emf, r0 := s.pack()
	w := s.sc.want(m)
	s.contactors(w.hv, emf, h)
	closed := m.contactor == ContactorClosed

	// Charge port.
	if w.charge == ChargeNotConnected {
		m.plugged, m.chargeState = false, ChargeNotConnected
	} else {
		m.plugged = true
		if m.chargeState == ChargeNotConnected {
			m.chargeState = w.charge
		}
		if m.chargeState == w.charge && m.contactor == ContactorFault {
			m.chargeState = ChargeFault
		}
	}
	chargingNow := closed && m.plugged && m.chargeState == w.charge

	// Thermal management commands.
	m.pumpDuty = 0
	if closed {
		m.pumpDuty = 0.2 + 0.08*math.Max(0, m.tMax-30) + 0.02*math.Max(0, m.motorT-60) + 0.05*math.Max(0, m.invT-50)
		if chargingNow && w.charge == ChargeDC {
			m.pumpDuty = math.Max(m.pumpDuty, 0.6)
		}
		m.pumpDuty = math.Min(m.pumpDuty, 1)
	}
	// Coolant heater: on below HeatBelow, off 3 K above it; never heats
	// the coolant past 45 °C. The pump runs at half duty or more to carry
	// the heat to the pack.
	switch {
	case !closed || c.CoolantHeater <= 0:
		m.heaterOn = false
	case m.tMin < c.HeatBelow:
		m.heaterOn = true
	case m.tMin > c.HeatBelow+3:
		m.heaterOn = false
	}
	m.qHeat = 0
	if m.heaterOn {
		m.qHeat = c.CoolantHeater * clamp((45-m.coolT)/5, 0, 1)
		m.pumpDuty = math.Max(m.pumpDuty, 0.5)
	}
	m.flow = m.pumpDuty * p.PumpFlow
	set := c.ChillerSet
	if chargingNow && w.charge == ChargeDC {
		set -= 5
	}
	switch {
	case !closed:
		m.chillerOn = false
	case m.coolT > set+1:
		m.chillerOn = true
	case m.coolT < set:
		m.chillerOn = false
	}
	chillW := 0.0
	if m.chillerOn {
		chillW = clamp(chillerGain*(m.coolT-set), 0, chillerMax) * clamp(m.flow/0.1, 0, 1) / chillerCOP
	}
	m.thermalMode = ThermalOff
	if m.chillerOn {
		m.thermalMode = ThermalCooling
	} else if m.heaterOn {
		m.thermalMode = ThermalHeating
	} else if m.pumpDuty > 0 {
		m.thermalMode = ThermalCirculating
	}

	// 12 V system and high-voltage auxiliaries.
	dcdcIn, dcdcLoss := s.lowVoltage(w.hv, closed, h)
	auxW := 0.0
	if closed {
		auxW = c.AuxPower + chillW + dcdcIn + m.qHeat/0.95
	}

	// Vehicle.
	drivePhase := w.drive
	m.ready = closed && !m.plugged && (drivePhase || s.sc.phase == PhaseIdle) && !s.sc.parked
	s.drive(w.vref, m.ready && drivePhase, auxW, h)
	switch {
	case !drivePhase:
		m.gear = GearP
	case w.vref < 0 || m.v < -0.01:
		m.gear = GearR
	default:
		m.gear = GearD
	}

	// Battery current.
	var current float64
	m.chgV, m.chgI, m.acV, m.acI = 0, 0, 0, 0
	switch {
	case chargingNow:
		v := math.Max(m.packV, emf)
		var ib float64
		if w.charge == ChargeDC {
			iChg := math.Min(c.DCCurrent, c.DCPower*1000/v)
			ib = math.Min(m.maxChgI, iChg-auxW/v)
		} else {
			ib = math.Min(m.maxChgI, (c.ACPower*1000*obcEff*p.ChargerOutput-auxW)/v)
		}
		// Chargers ramp their current.
		rate := 100.0
		if w.charge == ChargeAC {
			rate = 20
		}
		ib = clamp(ib, -m.current-rate*h, -m.current+rate*h)
		current = -ib
		m.chgV, m.chgI = v, math.Max(0, ib+auxW/v)
		if w.charge == ChargeAC {
			m.acV = acPhaseV
			m.acI = m.chgV * m.chgI / obcEff / (3 * acPhaseV)
		}
		if m.socBMS*100 >= c.ChargeTarget-0.005 || (m.socBMS > 0.9 && m.maxChgI < 0.02*c.CellCapacity) {
			m.chargeState = ChargeComplete
		}
	case closed:
		current = solveCurrent(emf, r0, m.drivePower+auxW)
	}
	m.current = current
	if !closed {
		m.drivePower = 0
	}

	// Cells.
	s.cells(current, h)
	s.stats()
	if closed {
		m.linkV = m.packV
	}

	// Heat.
	s.thermal(h, dcdcLoss)

	// BMS bookkeeping.
	m.socBMS -= current * h / 3600 / m.capBMS
	pw := m.packV * current * h / 3.6e6 // kWh
	if current > 0 {
		m.eOut += pw
		m.ahOut += current * h / 3600
	} else {
		m.eIn -= pw
		m.ahIn -= current * h / 3600
	}
	if drivePhase && m.ready {
		dist := math.Abs(m.v) * h / 1000
		m.consumption += (pw - m.consumption*dist) / 50
		m.consumption = clamp(m.consumption, 0.08, 0.5)
	}
	s.bms()

	// Insulation monitor.
	iso := s.insulationTarget(chargingNow && w.charge == ChargeDC)
	if p.InsulationLeak > 0 {
		iso = 1 / (1/iso + p.InsulationLeak)
	}
	m.iso += (iso - m.iso) * (1 - math.Exp(-h/10))
	switch {
	case m.iso < 100*m.packV:
		m.isoStatus = IsolationFault
	case m.iso < 500*m.packV:
		m.isoStatus = IsolationWarning
	default:
		m.isoStatus = IsolationOK
	}

	// Time to full, once a second.
	m.ttfTimer -= h
	if !chargingNow || m.chargeState != w.charge {
		m.ttf, m.ttfTimer = 0, 0
	} else if m.ttfTimer <= 0 {
		m.ttf = s.timeToFull(w.charge, auxW)
		m.ttfTimer = 1
	}

	s.bodyStep(h) // reads the powertrain, writes only the body
	s.elapsed += d
	s.advanceScenario(h)
}

// cells integrates every cell over h seconds at pack current i.
func (s *Sim) cells(i, h float64) {
	m := &s.m
	p := &s.plant
	if s.decay.h != h {
		s.decay.h, s.decay.v = h, math.Exp(-h/s.cfg.CellTau)
	}
	decay := s.decay.v
	per := s.cfg.Cells / s.cfg.Modules
	clear(m.heat)
	for k := range m.cells {
		c := &m.cells[k]
		eff := &p.Cells[k]
		mod := k / per
		rf := m.rf[mod] * eff.Resistance
		r0, r1 := c.r0*rf, c.r1*rf
		ocv := c.ocv
		ishort := eff.ShortConductance * ocv
		c.soc -= (i + ishort) * h / 3600 / (c.cap * eff.Capacity)
		c.ocv = OCV(c.soc)
		vrc := c.vrc*decay + i*r1*(1-decay)
		vavg := (vrc + c.vrc) / 2
		c.vrc = vrc
		c.v = c.ocv - c.vrc - i*r0
		m.heat[mod] += i*i*r0 + vavg*vavg/r1 + ishort*ocv + eff.SelfHeat
	}
}

// bms derives the state of health, remaining energy and range.
func (s *Sim) bms() {
	m := &s.m
	p := &s.plant
	minCap := math.Inf(1)
	for k := range m.cells {
		if c := m.cells[k].cap * p.Cells[k].Capacity; c < minCap {
			minCap = c
		}
	}
	m.soh = minCap / s.cfg.CellCapacity * 100
	m.energy = float64(s.cfg.Cells) * m.capBMS * ocvIntegral(m.socBMS) / 1000
	m.rangeKm = m.energy / m.consumption
}

// ocvIntegral returns the integral of OCV over state of charge from 0 to
// soc (V, times the capacity in Ah gives Wh).
func ocvIntegral(soc float64) float64 {
	soc = clamp(soc, 0, 1)
	k := min(int(soc*20), 19)
	lo := float64(k) / 20
	return ocvCumulative[k] + (soc-lo)*(ocvTable[k]+OCV(soc))/2
}

// ocvCumulative[k] is the integral of OCV from 0 to k*5 %.
var ocvCumulative = func() (c [21]float64) {
	for k := 1; k <= 20; k++ {
		c[k] = c[k-1] + 0.05*(ocvTable[k-1]+ocvTable[k])/2
	}
	return c
}()

// insulationTarget is the healthy insulation resistance now: the nominal
// value wandering ±25 % over six hours, lower when warm
// (InsulationTempCoef) and in damp weather (InsulationWet), and in
// parallel with a DC charger's own (ChargerInsulation) while dc.
func (s *Sim) insulationTarget(dc bool) float64 {
	t := s.elapsed.Seconds()
	m := &s.m
	r := s.cfg.Insulation * (1 + 0.25*math.Sin(2*math.Pi*t/21600+m.isoPhase)) * math.Exp(-(m.tAvg-25)*s.cfg.InsulationTempCoef)
	if w := s.cfg.InsulationWet; w > 0 {
		h := 1.0
		for k := range 2 {
			h *= 0.5 + 0.5*math.Sin(2*math.Pi*t/m.wetPeriod[k]+m.wetPhase[k])
		}
		r *= 1 - w*h
	}
	if rc := s.cfg.ChargerInsulation; dc && rc > 0 {
		r = r * rc / (r + rc)
	}
	return r
}

// contactors runs the BMS contactor sequence: boot, precharge, close; open
// on request, fault on a failed precharge, an open interlock or a dropped
// contactor, retry after contactorRetry, lock out after three failures.
func (s *Sim) contactors(want bool, emf, h float64) {
	m := &s.m
	p := &s.plant
	fail := func() {
		m.contactor, m.faultTime, m.wake = ContactorFault, 0, 0
		m.failures++
	}
	switch m.contactor {
	case ContactorOpen:
		m.linkV *= math.Exp(-h / 0.5)
		if !want {
			m.wake = 0
			break
		}
		if m.wake < bootTime {
			m.wake += h
			break
		}
		if p.HVILOpen {
			fail()
			break
		}
		m.contactor, m.pcTime = ContactorPrecharge, 0
		fallthrough
	case ContactorPrecharge:
		if !want {
			m.contactor = ContactorOpen
			break
		}
		m.pcTime += h
		m.linkV += (emf - m.linkV) * (1 - math.Exp(-h/(prechargeTau*p.PrechargeSlow)))
		switch {
		case p.HVILOpen:
			fail()
		case m.linkV >= 0.95*emf:
			m.contactor, m.closedTime = ContactorClosed, 0
		case m.pcTime >= prechargeTimeout:
			fail()
		}
	case ContactorClosed:
		m.wake = 0
		m.closedTime += h
		if m.closedTime > 60 {
			m.failures = 0
		}
		switch {
		case p.HVILOpen || p.ContactorDrop:
			fail()
		case !want:
			m.contactor = ContactorOpen
		}
	case ContactorFault:
		m.linkV *= math.Exp(-h / 0.5)
		m.faultTime += h
		healthy := !p.HVILOpen && !p.ContactorDrop && p.PrechargeSlow == 1
		if healthy && m.failures >= 3 {
			m.failures = 0 // the cause is gone: the lockout clears
		}
		if m.faultTime >= contactorRetry && m.failures < 3 {
			m.contactor = ContactorOpen
		}
	}
}

// lowVoltage runs the 12 V battery and the DC-DC converter for h seconds
// and returns the DC-DC's high-voltage input power and its loss (W).
func (s *Sim) lowVoltage(on, closed bool, h float64) (in, loss float64) {
	m := &s.m
	p := &s.plant
	capAh := lvCapacity * p.LVCapacity
	r := lvR * p.LVResistance
	ocv := 11.9 + 0.85*m.lvSOC - p.LVVoltageDrop
	load := lvOffLoad
	if on || m.contactor != ContactorOpen {
		load = s.cfg.LVLoad + pumpPower*m.pumpDuty
	}
	if (on && m.contactor == ContactorOpen) || m.contactor == ContactorPrecharge {
		load += lvWakeLoad
	}
	if closed {
		m.dcdcState = DCDCActive
		imax := dcdcMaxI
		if m.dcdcT > 85 {
			m.dcdcState = DCDCDerating
			imax *= clamp((100-m.dcdcT)/15, 0.2, 1)
		}
		v := dcdcSetV
		iload := load / v
		ib := math.Min(25*clamp((1-m.lvSOC)/0.15, 0.02, 1), math.Max(0, (v-ocv)/r))
		idc := math.Min(iload+ib, imax)
		m.lvV, m.lvI = v, idc-iload
		m.dcdcV, m.dcdcI = v, idc
		out := v * idc
		in = out / dcdcEff
		loss = in - out
	} else {
		m.dcdcState, m.dcdcV, m.dcdcI = DCDCOff, 0, 0
		i := load / ocv
		v := ocv - i*r
		i = load / math.Max(v, 1)
		v = ocv - i*r
		m.lvV, m.lvI = v, -i
	}
	m.lvSOC = clamp(m.lvSOC+m.lvI*h/3600/capAh, 0, 1)
	return in, loss
}

// timeToFull estimates the minutes to reach the charge target with the
// present charger, walking the BMS charge-rate table.
func (s *Sim) timeToFull(kind ChargeState, auxW float64) float64 {
	m := &s.m
	c := &s.cfg
	target := c.ChargeTarget / 100
	derate := clamp(m.tMin/15, 0.1, 1) * clamp((55-m.tMax)/10, 0, 1)
	mins := 0.0
	for x := m.socBMS; x < target; {
		// Steps end on a 1 % grid, 0.1 % in the steep taper above 90 %,
		// so that the estimate does not flicker as the SOC moves.
		g := 0.01
		if x >= 0.9-1e-9 {
			g = 0.001
		}
		step := math.Min((math.Floor(x/g+1e-9)+1)*g-x, target-x)
		mid := x + step/2
		v := float64(c.Cells) * OCV(mid)
		var iChg float64
		if kind == ChargeDC {
			iChg = math.Min(c.DCCurrent, c.DCPower*1000/v) - auxW/v
		} else {
			iChg = (c.ACPower*1000*obcEff - auxW) / v
		}
		i := math.Min(interp(chargeRate, mid)*c.CellCapacity*derate, iChg)
		if i < 0.02*c.CellCapacity {
			break // the charge completes at this taper current
		}
		mins += step * m.capBMS / i * 60
		x += step
	}
	return mins
}
