package sim

import (
	"math"
)

// Physical constants and fixed parameters of the simulated car that are not
// worth a Config field. Thermal masses and conductances are per node.
const (
	gravity  = 9.81
	airRho   = 1.2
	gearEff  = 0.97
	cellVmax = 4.20 // charge voltage limit per cell, V
	cellVmin = 2.90 // discharge voltage limit per cell (10 s pulse), V

	moduleHeatCap = 30e3 // J/K per module (cells, housing)
	moduleToAmb   = 1.5  // W/K per module
	coolHeatCap   = 25e3 // J/K coolant loop
	radiatorUA    = 150.0
	coolToAmb     = 4.0
	chillerGain   = 800.0 // W/K above set point
	chillerMax    = 7000.0
	chillerCOP    = 2.5
	motorToAmb    = 3.0
	invToAmb      = 1.0
	dcdcHeatCap   = 1.5e3
	dcdcToCool    = 12.0
	dcdcToAmb     = 1.0

	motorCuLoss = 0.065 // W/Nm², copper loss coefficient
	motorFeLoss = 0.022 // W/(rad/s)^1.5, iron and friction loss
	invLossFrac = 0.012
	invLossIdle = 60.0 // W while enabled

	lvCapacity       = 60.0  // Ah, 12 V AGM battery
	lvR              = 0.008 // ohm
	dcdcSetV         = 14.1
	dcdcEff          = 0.94
	dcdcMaxI         = 180.0
	lvOffLoad        = 15.0  // W, 12 V loads while parked (telematics, head unit)
	lvWakeLoad       = 300.0 // W for lvWakeTime after a wake-up, before the DC-DC runs
	lvWakeTime       = 1.5
	pumpPower        = 60.0 // W at full duty, 12 V side
	obcEff           = 0.94
	acPhaseV         = 230.0
	prechargeTau     = 0.05 // s
	prechargeTimeout = 0.5  // s
	contactorRetry   = 10.0 // s in Fault before the BMS tries again
)

// cell is one series element (a parallel group of physical cells).
type cell struct {
	soc    float64 // true state of charge, 0..1
	ocv    float64 // OCV(soc), kept current
	vrc    float64 // voltage over the RC pair, V (positive while discharging)
	v      float64 // terminal voltage, V
	cap    float64 // healthy capacity, Ah
	r0, r1 float64 // healthy resistances at 25 °C, ohm
}

// model is the physical state of the car.
type model struct {
	cells []cell
	modT  []float64 // module temperatures, °C
	heat  []float64 // scratch: heat per module this tick, W
	rf    []float64 // scratch: resistance factor per module

	coolT, coolIn, coolOut float64
	motorT, invT, dcdcT    float64
	pumpDuty, flow         float64
	chillerOn              bool
	heaterOn               bool
	qHeat                  float64 // W of heat the coolant heater delivers
	thermalMode            ThermalMode

	// vehicle
	v, a                   float64 // m/s, m/s²
	odo, trip              float64 // km
	motorTorque, motorRPM  float64
	torqueLimit            float64
	accelPedal, brakePedal float64
	gear                   Gear
	ready                  bool
	drivePower             float64 // W at the inverter DC input
	motorLoss, invLoss     float64 // W

	// traction battery
	current, packV         float64 // A (+ discharge), V
	linkV                  float64
	socBMS, capBMS         float64
	soh                    float64
	energy, rangeKm        float64
	consumption            float64 // kWh/km, running estimate
	maxDisI, maxChgI       float64 // A
	maxDisP, maxChgP       float64 // W
	cellMax, cellMin       float64
	cellAvg                float64
	cellMaxIdx, cellMinIdx int
	tMax, tMin, tAvg       float64
	tMaxIdx, tMinIdx       int
	contactor              ContactorState
	pcTime, faultTime      float64
	failures               int
	closedTime             float64
	hvil                   bool
	iso                    float64 // ohm, IMD reading
	isoPhase               float64
	wetPeriod, wetPhase    [2]float64 // s, rad: the humidity's two waves (insulationTarget)
	isoStatus              IsolationStatus

	// 12 V
	lvSOC, lvV, lvI float64
	dcdcState       DCDCState
	dcdcV, dcdcI    float64
	wake            float64 // s of wake-up load left

	// charging
	chargeState          ChargeState
	plugged              bool
	chgV, chgI, acV, acI float64
	ttf                  float64 // minutes
	ttfTimer             float64

	// bookkeeping
	eOut, eIn, ahOut, ahIn float64
}

// relays returns the main positive, main negative and precharge relay states.
func (m *model) relays() (pos, neg, pre bool) {
	switch m.contactor {
	case ContactorPrecharge:
		return false, true, true
	case ContactorClosed:
		return true, true, false
	}
	return false, false, false
}

func (m *model) charging() bool { return m.chgI > 0.5 }

// socDisplayed maps 3..97 % of the BMS SOC onto 0..100 %.
func (m *model) socDisplayed() float64 {
	return clamp((m.socBMS*100-3)/94*100, 0, 100)
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// interp interpolates y(x) in a table of (x, y) points with increasing x.
func interp(tab [][2]float64, x float64) float64 {
	if x <= tab[0][0] {
		return tab[0][1]
	}
	for i := 1; i < len(tab); i++ {
		if x <= tab[i][0] {
			a, b := tab[i-1], tab[i]
			return a[1] + (x-a[0])/(b[0]-a[0])*(b[1]-a[1])
		}
	}
	return tab[len(tab)-1][1]
}

// chargeRate is the BMS charge current limit in C (multiples of the rated
// capacity per hour) by state of charge: the usual fast-charge taper.
var chargeRate = [][2]float64{{0, 2.3}, {0.5, 2.3}, {0.6, 2.0}, {0.7, 1.5}, {0.8, 1.0}, {0.9, 0.5}, {0.95, 0.3}, {1.0, 0}}

// resistanceFactor scales cell resistance with temperature (about x2 at
// 5 °C, x0.7 at 35 °C).
func resistanceFactor(t float64) float64 { return clamp(math.Exp(0.035*(25-t)), 0.5, 8) }

// roadForce is the resistance to motion at v (m/s): rolling and air drag,
// against the direction of motion.
func (s *Sim) roadForce(v float64) float64 {
	if math.Abs(v) < 1e-3 {
		return 0
	}
	f := s.cfg.Mass*gravity*s.cfg.RollingResistance + 0.5*airRho*s.cfg.DragArea*v*v
	return math.Copysign(f, v)
}

// solveCurrent returns the pack current that delivers power p (W, positive
// = discharge) from a source of EMF e and resistance r: p = i*(e - i*r).
func solveCurrent(e, r, p float64) float64 {
	d := e*e - 4*r*p
	if d < 0 {
		return e / (2 * r) // beyond the maximum power point
	}
	return (e - math.Sqrt(d)) / (2 * r)
}

// pack computes the pack EMF (sum of OCV minus RC voltages), the ohmic
// resistance and the BMS limits from the state at the start of a tick.
func (s *Sim) pack() (emf, r0 float64) {
	m := &s.m
	p := &s.plant
	per := s.cfg.Cells / s.cfg.Modules
	for k := range m.modT {
		m.rf[k] = resistanceFactor(m.modT[k])
	}
	disI := 3.5 * s.cfg.CellCapacity // fuse and busbar limit
	chgI := interp(chargeRate, m.socBMS) * s.cfg.CellCapacity
	for i := range m.cells {
		c := &m.cells[i]
		rf := m.rf[i/per] * p.Cells[i].Resistance
		e := c.ocv - c.vrc
		emf += e
		r0 += c.r0 * rf
		// Worst cell: lowest (e - Vmin)/R for discharge, (Vmax - e)/R for charge.
		if d := (e - cellVmin) / ((c.r0 + c.r1) * rf); d < disI {
			disI = d
		}
		if d := (cellVmax - e) / (c.r0 * rf); d < chgI {
			chgI = d
		}
	}
	// Temperature and state-of-charge derating.
	disI *= clamp((m.tMin+30)/20, 0.1, 1) * clamp((60-m.tMax)/5, 0, 1) * clamp(m.socBMS/0.05, 0, 1)
	chgI *= clamp(m.tMin/15, 0.1, 1) * clamp((55-m.tMax)/10, 0, 1)
	m.maxDisI = math.Max(0, disI)
	m.maxChgI = math.Max(0, chgI)
	m.maxDisP = math.Max(0, m.maxDisI*(emf-m.maxDisI*r0))
	m.maxChgP = m.maxChgI * (emf + m.maxChgI*r0)
	return emf, r0
}

// drive moves the car for h seconds towards vref (m/s) when traction is
// available, within the motor's and the battery's limits (auxW of the
// discharge limit goes to the auxiliaries), and sets the motor state and
// the DC power the inverter draws.
func (s *Sim) drive(vref float64, traction bool, auxW float64, h float64) {
	m := &s.m
	c := &s.cfg
	r, g := c.WheelRadius, c.GearRatio
	aReq := clamp((vref-m.v)/h, -8, 8)
	if !traction {
		// Coast, or brake gently to a stop without the motor.
		aReq = clamp(-m.v/h, -3, 3)
	}
	derate := clamp((180-m.motorT)/30, 0, 1) * clamp((115-m.invT)/15, 0, 1)
	m.torqueLimit = c.MotorTorque * derate
	var tm, fAct, vmid, omega float64
	scale := 1.0
	for iter := 0; iter < 2; iter++ {
		a := aReq
		vmid = m.v + 0.5*a*h
		fRoad := s.roadForce(vmid)
		fNeed := c.Mass*a + fRoad
		dir := math.Copysign(1, vmid)
		if math.Abs(vmid) < 1e-3 {
			dir = math.Copysign(1, vref)
		}
		omega = vmid / r * g
		wAbs := math.Max(math.Abs(omega), 1)
		tm, fAct = 0, 0
		if !traction {
			if fNeed*dir < 0 {
				fAct = fNeed // friction brakes
			}
		} else if fNeed*dir > 0 {
			// Motoring.
			tm = fNeed * r / g / gearEff
			lim := math.Min(m.torqueLimit, c.MotorPower*1000/wAbs) * scale
			tm = clamp(tm, -lim, lim)
			fAct = tm * g * gearEff / r
		} else {
			// Braking: regenerate what the motor and battery take, brake
			// the rest with friction.
			treq := fNeed * r / g * gearEff
			fade := clamp((math.Abs(vmid)-1)/2, 0, 1)
			lim := math.Min(c.MotorTorque*0.7*derate, math.Min(c.RegenPower*1000, m.maxChgP+auxW)/wAbs) * fade
			tm = clamp(treq, -lim, lim)
			fAct = fNeed
		}
		pmech := tm * omega
		m.motorLoss = 0
		if traction {
			m.motorLoss = (motorCuLoss*tm*tm + motorFeLoss*math.Abs(omega)*math.Sqrt(math.Abs(omega))) * s.plant.MotorLoss * s.cfg.MotorLossScale
		}
		pel := pmech + m.motorLoss
		m.invLoss = 0
		if traction {
			m.invLoss = (invLossFrac*math.Abs(pel) + invLossIdle) * s.plant.InverterLoss
		}
		m.drivePower = pel + m.invLoss
		// Stay within the BMS discharge limit: scale the torque down once.
		avail := m.maxDisP - auxW
		if iter == 0 && tm*dir > 0 && m.drivePower > avail {
			scale = clamp(avail/m.drivePower, 0, 1)
			continue
		}
		m.a = (fAct - s.roadForce(vmid)) / c.Mass
		break
	}
	vNew := m.v + m.a*h
	if (vref == 0 || !traction) && (vNew*m.v < 0 || math.Abs(vNew) < 1e-3) {
		vNew = 0
	}
	if vNew*m.v < 0 && vref*m.v < 0 {
		vNew = 0 // stop before reversing direction
	}
	m.a = (vNew - m.v) / h
	m.v = vNew
	m.motorTorque = tm
	m.motorRPM = m.v / r * g * 60 / (2 * math.Pi)
	m.accelPedal, m.brakePedal = 0, 0
	if traction && tm*math.Copysign(1, vmid) > 0 {
		m.accelPedal = clamp(100*math.Abs(tm)/c.MotorTorque, 0, 100)
	} else if aReq < -0.3 {
		m.brakePedal = clamp(-aReq/8*100, 0, 100)
	}
	d := math.Abs(m.v) * h / 1000
	m.odo += d
	m.trip += d
}

// thermal integrates the module, coolant, motor, inverter and DC-DC
// temperatures over h seconds.
func (s *Sim) thermal(h, dcdcLoss float64) {
	m := &s.m
	amb := s.cfg.Ambient
	uaMod := s.cfg.ModuleCoolUA * (0.12 + 0.88*m.flow)
	qPack := 0.0
	for k := range m.modT {
		q := uaMod * (m.modT[k] - m.coolT)
		qPack += q
		m.modT[k] += h * (m.heat[k] - q - moduleToAmb*(m.modT[k]-amb)) / moduleHeatCap
	}
	uaMot := s.cfg.MotorCoolUA * (0.08 + 0.92*m.flow) * s.plant.MotorCooling
	qMot := uaMot * (m.motorT - m.coolT)
	m.motorT += h * (m.motorLoss - qMot - motorToAmb*(m.motorT-amb)) / s.cfg.MotorHeatCap
	qInv := s.cfg.InverterCoolUA * (0.1 + 0.9*m.flow) * s.plant.InverterCooling * (m.invT - m.coolT)
	m.invT += h * (m.invLoss - qInv - invToAmb*(m.invT-amb)) / s.cfg.InverterHeatCap
	qDC := dcdcToCool * (0.2 + 0.8*m.flow) * (m.dcdcT - m.coolT)
	m.dcdcT += h * (dcdcLoss - qDC - dcdcToAmb*(m.dcdcT-amb)) / dcdcHeatCap

	qRad := radiatorUA * m.flow * (1 + math.Abs(m.v)/15) * (m.coolT - amb)
	qChill := 0.0
	if m.chillerOn {
		set := s.cfg.ChillerSet
		if m.chargeState == ChargeDC {
			set -= 5
		}
		qChill = clamp(chillerGain*(m.coolT-set), 0, chillerMax) * clamp(m.flow/0.1, 0, 1)
	}
	m.coolT += h * (qPack + qMot + qInv + qDC + m.qHeat - qRad - qChill - coolToAmb*(m.coolT-amb)) / coolHeatCap
	// Inlet and outlet of the pack: the coolant warms by the heat it picks
	// up over the flow (0.25 kg/s at full duty, 3.6 kJ/kg K).
	if mdot := m.flow * 0.25; mdot > 0.01 {
		dt := qPack / (mdot * 3600)
		m.coolIn, m.coolOut = m.coolT-dt/2, m.coolT+dt/2
	} else {
		m.coolIn, m.coolOut = m.coolT, m.coolT
	}
}

// stats computes the BMS min/max/average figures.
func (s *Sim) stats() {
	m := &s.m
	m.cellMax, m.cellMin, m.cellMaxIdx, m.cellMinIdx = math.Inf(-1), math.Inf(1), 0, 0
	sum := 0.0
	for i := range m.cells {
		v := m.cells[i].v
		sum += v
		if v > m.cellMax {
			m.cellMax, m.cellMaxIdx = v, i
		}
		if v < m.cellMin {
			m.cellMin, m.cellMinIdx = v, i
		}
	}
	m.packV = sum
	m.cellAvg = sum / float64(len(m.cells))
	m.tMax, m.tMin, m.tMaxIdx, m.tMinIdx = math.Inf(-1), math.Inf(1), 0, 0
	sum = 0
	for k, t := range m.modT {
		sum += t
		if t > m.tMax {
			m.tMax, m.tMaxIdx = t, k
		}
		if t < m.tMin {
			m.tMin, m.tMinIdx = t, k
		}
	}
	m.tAvg = sum / float64(len(m.modT))
}
