package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

// The body and cabin of the simulated car: climate, windows, seat heaters,
// lights, child locks, the selected gear as body ECUs see it, and tyres.
//
// The body is an add-on to the powertrain and must never change it: it
// reads the powertrain's state (speed, gear, contactors, ambient) but
// writes none of it, draws its randomness from its own source (seeded from
// Config.Seed with other constants, used only in New), and its messages
// come after the powertrain's in the DBC so that those keep their transmit
// timing. TestPowertrainFramesUnchanged pins this. The HVAC's electrical
// load stays inside Config.AuxPower for the same reason.
//
// It obeys the command messages of board/sim/sim-ev.dbc (HVAC_Cmd,
// BCM_WindowCmd, SeatHeatCmd, LightCmd) given to Command, as the body ECUs
// of a car obey the head unit.

// Window and wheel positions, in the order of BodyState's arrays. The car
// is left-hand drive: FrontLeft is the driver's window.
const (
	FrontLeft = iota
	FrontRight
	RearLeft
	RearRight
)

// Seats, in the order of BodyState.SeatHeat.
const (
	SeatDriver = iota
	SeatPassenger
	SeatRearLeft
	SeatRearRight
)

// Body constants.
const (
	windowRate      = 25.0   // %/s: full travel in 4 s
	cabinHVACTau    = 300.0  // s, cabin air towards the set point with the HVAC running
	cabinHVACMax    = 0.05   // °C/s the HVAC can heat or cool the cabin at most
	cabinPassiveTau = 1800.0 // s, cabin towards ambient with the HVAC off
	cabinWindowTau  = 120.0  // s, extra exchange with all windows fully open
	tyreTau         = 900.0  // s, tyre air towards its running temperature
	tyreHeatPerKmh  = 0.15   // °C above ambient per km/h when rolling
	tyreRefTemp     = 20.0   // °C at which the cold pressures are set
	tyreColdKPa     = 250.0  // gauge set pressure, kPa
	atmKPa          = 101.325
	defaultSetpoint = 21.0 // °C
	setpointMin     = 16.0
	setpointMax     = 28.0
	seatLevels      = 3
	bodySeedMix     = 0x6A09E667F3BCC909 // keeps the body's stream apart from the powertrain's
)

// Raw values of the command messages' value tables (VAL_ in the DBC).
const (
	cmdWindowOpen  = 1   // WindowCmd*: 0 NoAction
	cmdWindowClose = 2   //
	cmdWindowStop  = 3   //
	cmdOff         = 0   // HVACOnReq and the light requests: 3 NoChange
	cmdOn          = 1   //
	cmdSetpointRaw = 255 // SetpointReq NoChange; SeatHeat*Req: 7 NoChange
)

// BodyState is a snapshot of the body and cabin (State.Body).
type BodyState struct {
	CabinTemp  float64 // °C
	Setpoint   float64 // HVAC set point, °C
	HVACOn     bool    // climate control switched on
	HVACActive bool    // heating or cooling now (switched on and high voltage on)
	FanSpeed   float64 // percent

	// Windows are the window positions, percent open (0 closed), in
	// FrontLeft..RearRight order.
	Windows [4]float64
	// SeatHeat are the seat heater levels 0..3 (SeatDriver..SeatRearRight).
	SeatHeat [4]int

	LowBeam, FogFront, DomeLight, AmbientLight, ReverseLight bool

	// ChildLock are the rear doors' child locks (left, right); WindowLock
	// disables the rear window switches.
	ChildLock  [2]bool
	WindowLock bool

	// SelectedGear is the gear in VSS numbering: 0 neutral, -1 reverse,
	// 126 park, 127 drive.
	SelectedGear int

	// TyrePressure (gauge, kPa) and TyreTemp (°C), FrontLeft..RearRight.
	TyrePressure [4]float64
	TyreTemp     [4]float64
}

// window is one power window.
type window struct{ pos, target float64 }

// body is the body and cabin model.
type body struct {
	cabinT, setpoint float64
	hvacOn, active   bool
	fan              float64
	win              [4]window
	seat             [4]int
	lowBeam, fog     bool
	dome, ambient    bool
	childLock        [2]bool
	windowLock       bool
	tyreCold         [4]float64 // gauge kPa at tyreRefTemp
	tyreT            [4]float64

	// Command decoding: the command messages' signals and what each sets.
	cmds    map[*signals.Signal]cmdField
	scratch []signals.Value
}

type cmdKind uint8

const (
	cmdSetpoint cmdKind = iota + 1
	cmdHVACOn
	cmdWindow
	cmdSeat
	cmdLowBeam
	cmdFog
	cmdDome
	cmdAmbient
)

type cmdField struct {
	kind cmdKind
	idx  int
}

// commandSignals are the command messages' signals the body obeys.
var commandSignals = []struct {
	msg, sig string
	f        cmdField
}{
	{"HVAC_Cmd", "SetpointReq", cmdField{cmdSetpoint, 0}},
	{"HVAC_Cmd", "HVACOnReq", cmdField{cmdHVACOn, 0}},
	{"BCM_WindowCmd", "WindowCmdFL", cmdField{cmdWindow, FrontLeft}},
	{"BCM_WindowCmd", "WindowCmdFR", cmdField{cmdWindow, FrontRight}},
	{"BCM_WindowCmd", "WindowCmdRL", cmdField{cmdWindow, RearLeft}},
	{"BCM_WindowCmd", "WindowCmdRR", cmdField{cmdWindow, RearRight}},
	{"SeatHeatCmd", "SeatHeatDriverReq", cmdField{cmdSeat, SeatDriver}},
	{"SeatHeatCmd", "SeatHeatPassengerReq", cmdField{cmdSeat, SeatPassenger}},
	{"SeatHeatCmd", "SeatHeatRearLeftReq", cmdField{cmdSeat, SeatRearLeft}},
	{"SeatHeatCmd", "SeatHeatRearRightReq", cmdField{cmdSeat, SeatRearRight}},
	{"LightCmd", "LowBeamReq", cmdField{cmdLowBeam, 0}},
	{"LightCmd", "FogFrontReq", cmdField{cmdFog, 0}},
	{"LightCmd", "DomeLightReq", cmdField{cmdDome, 0}},
	{"LightCmd", "AmbientLightReq", cmdField{cmdAmbient, 0}},
}

// newBody sets the body's initial state from its own random source: a
// parked car whose climate control was left on at 21 °C, windows closed,
// lights and seat heaters off, child locks as Config.ChildLock says, tyres
// at ambient with a small spread of their cold pressures.
func newBody(c *Config) body {
	rng := rand.New(rand.NewPCG(c.Seed^bodySeedMix, c.Seed+bodySeedMix))
	norm := func() float64 { return clamp(rng.NormFloat64(), -3, 3) }
	b := body{
		cabinT:     c.Ambient + 0.5*norm(),
		setpoint:   defaultSetpoint,
		hvacOn:     true,
		childLock:  [2]bool{c.ChildLock, c.ChildLock},
		windowLock: c.ChildLock,
		cmds:       map[*signals.Signal]cmdField{},
	}
	for i := range b.tyreCold {
		b.tyreCold[i] = tyreColdKPa + 4*norm()
		b.tyreT[i] = c.Ambient
	}
	n := 0
	for _, cs := range commandSignals {
		if sig := c.DBC.Signal(cs.msg, cs.sig); sig != nil {
			b.cmds[sig] = cs.f
			n++
		}
	}
	b.scratch = make([]signals.Value, 0, max(n, 1))
	return b
}

// step advances the body by h seconds. It reads the powertrain and writes
// only the body.
func (s *Sim) bodyStep(h float64) {
	b := &s.body
	m := &s.m
	amb := s.cfg.Ambient

	// Windows.
	open := 0.0
	for i := range b.win {
		w := &b.win[i]
		d := clamp(w.target-w.pos, -windowRate*h, windowRate*h)
		w.pos = clamp(w.pos+d, 0, 100)
		open += w.pos / 100 / float64(len(b.win))
	}

	// Cabin air: the HVAC drives it to the set point at a limited rate
	// while the high-voltage system is on; otherwise it drifts to ambient.
	// Open windows exchange air with the outside.
	b.active = b.hvacOn && m.contactor == ContactorClosed
	var rate float64
	if b.active {
		rate = clamp((b.setpoint-b.cabinT)/cabinHVACTau, -cabinHVACMax, cabinHVACMax)
		b.fan = clamp(30+15*math.Abs(b.setpoint-b.cabinT), 30, 100)
	} else {
		rate = (amb - b.cabinT) / cabinPassiveTau
		b.fan = 0
	}
	rate += (amb - b.cabinT) * open / cabinWindowTau
	b.cabinT += rate * h

	// Tyres warm up with speed; the pressure follows the air temperature
	// at constant volume.
	target := amb + tyreHeatPerKmh*math.Abs(m.v)*3.6
	k := 1 - math.Exp(-h/tyreTau)
	for i := range b.tyreT {
		b.tyreT[i] += (target - b.tyreT[i]) * k
	}
}

// tyrePressure is the gauge pressure of tyre i now, kPa.
func (b *body) tyrePressure(i int) float64 {
	return (b.tyreCold[i]+atmKPa)*(b.tyreT[i]+273.15)/(tyreRefTemp+273.15) - atmKPa
}

// selectedGear is the gear in VSS SelectedGear numbering.
func selectedGear(g Gear) int {
	switch g {
	case GearR:
		return -1
	case GearN:
		return 0
	case GearD:
		return 127
	}
	return 126
}

// bodyState returns the body snapshot.
func (s *Sim) bodyState() BodyState {
	b := &s.body
	st := BodyState{
		CabinTemp: b.cabinT, Setpoint: b.setpoint, HVACOn: b.hvacOn, HVACActive: b.active, FanSpeed: b.fan,
		SeatHeat: b.seat, LowBeam: b.lowBeam, FogFront: b.fog, DomeLight: b.dome, AmbientLight: b.ambient,
		ReverseLight: s.m.gear == GearR, ChildLock: b.childLock, WindowLock: b.windowLock,
		SelectedGear: selectedGear(s.m.gear), TyreTemp: b.tyreT,
	}
	for i := range b.win {
		st.Windows[i] = b.win[i].pos
		st.TyrePressure[i] = b.tyrePressure(i)
	}
	return st
}

// Command hands the car a frame from the bus, as its body ECUs would
// receive it. Command messages of the sim DBC (HVAC_Cmd, BCM_WindowCmd,
// SeatHeatCmd, LightCmd) are obeyed and Command returns true; any other
// frame is ignored (false). Signals at their NoChange (or NoAction) value
// leave their setting alone; values outside the value tables are ignored,
// and set points are limited to 16..28 °C, as a real ECU would.
func (s *Sim) Command(f can.Frame) bool {
	if f.Flags&(can.Remote|can.ErrorFrame) != 0 {
		return false
	}
	msg := s.cfg.DBC.Lookup(&f)
	if msg == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.body
	vals := msg.Decode(&f, b.scratch[:0])
	handled := false
	for i := range vals {
		fd, ok := b.cmds[vals[i].Signal]
		if !ok {
			continue
		}
		handled = true
		raw := vals[i].Raw
		switch fd.kind {
		case cmdSetpoint:
			if raw != cmdSetpointRaw {
				b.setpoint = clamp(vals[i].Value, setpointMin, setpointMax)
			}
		case cmdHVACOn:
			if raw == cmdOff || raw == cmdOn {
				b.hvacOn = raw == cmdOn
			}
		case cmdWindow:
			w := &b.win[fd.idx]
			switch raw {
			case cmdWindowOpen:
				w.target = 100
			case cmdWindowClose:
				w.target = 0
			case cmdWindowStop:
				w.target = w.pos
			}
		case cmdSeat:
			if raw <= seatLevels {
				b.seat[fd.idx] = int(raw)
			}
		case cmdLowBeam, cmdFog, cmdDome, cmdAmbient:
			if raw != cmdOff && raw != cmdOn {
				break // NoChange or invalid
			}
			on := raw == cmdOn
			switch fd.kind {
			case cmdLowBeam:
				b.lowBeam = on
			case cmdFog:
				b.fog = on
			case cmdDome:
				b.dome = on
			default:
				b.ambient = on
			}
		}
	}
	b.scratch = vals[:0]
	return handled
}

// bodySpecs are the body's status messages. They are optional: a DBC
// without them (an older sim DBC) leaves the body simulated but unseen.
var bodySpecs = []msgSpec{
	{"VCU_GearStatus", 100 * time.Millisecond,
		[]string{"SelectedGear"},
		func(s *Sim, seq uint64, v []float64) {
			v[0] = float64(selectedGear(s.m.gear))
		}},
	{"HVAC_Status", 500 * time.Millisecond,
		[]string{"CabinTemp", "SetpointTemp", "HVACOn", "FanSpeed", "SeatHeatDriver", "SeatHeatPassenger", "SeatHeatRearLeft", "SeatHeatRearRight"},
		func(s *Sim, seq uint64, v []float64) {
			b := &s.body
			v[0], v[1], v[2], v[3] = b.cabinT, b.setpoint, b2f(b.hvacOn), b.fan
			for i := range b.seat {
				v[4+i] = float64(b.seat[i])
			}
		}},
	{"BCM_Windows", 200 * time.Millisecond,
		[]string{"WindowPosFL", "WindowPosFR", "WindowPosRL", "WindowPosRR", "ChildLockRL", "ChildLockRR", "WindowLock"},
		func(s *Sim, seq uint64, v []float64) {
			b := &s.body
			for i := range b.win {
				v[i] = b.win[i].pos
			}
			v[4], v[5], v[6] = b2f(b.childLock[0]), b2f(b.childLock[1]), b2f(b.windowLock)
		}},
	{"BCM_Lights", 500 * time.Millisecond,
		[]string{"LowBeam", "FogFront", "DomeLight", "AmbientLight", "ReverseLight"},
		func(s *Sim, seq uint64, v []float64) {
			b := &s.body
			v[0], v[1], v[2], v[3], v[4] = b2f(b.lowBeam), b2f(b.fog), b2f(b.dome), b2f(b.ambient), b2f(s.m.gear == GearR)
		}},
	{"TPMS_Pressure", time.Second,
		[]string{"TyrePressFL", "TyrePressFR", "TyrePressRL", "TyrePressRR"},
		func(s *Sim, seq uint64, v []float64) {
			for i := range 4 {
				v[i] = s.body.tyrePressure(i)
			}
		}},
	{"TPMS_Temperature", time.Second,
		[]string{"TyreTempFL", "TyreTempFR", "TyreTempRL", "TyreTempRR"},
		func(s *Sim, seq uint64, v []float64) {
			copy(v, s.body.tyreT[:])
		}},
}
