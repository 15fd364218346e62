package sim

import (
	"math"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

// commandMessages are the DBC's head-unit requests that the body obeys.
var commandMessages = []string{"HVAC_Cmd", "BCM_WindowCmd", "SeatHeatCmd", "LightCmd"}

// isCommand reports a message the sim receives rather than sends.
func isCommand(m *signals.Message) bool { return m.Transmitter == "EVEDGE" }

// bodyExpected gives, per "Message.Signal" of the body's status messages,
// the State value the signal carries in DBC units (see expected).
var bodyExpected = map[string]func(st *State) float64{
	"VCU_GearStatus.SelectedGear":   func(st *State) float64 { return float64(st.Body.SelectedGear) },
	"HVAC_Status.CabinTemp":         func(st *State) float64 { return st.Body.CabinTemp },
	"HVAC_Status.SetpointTemp":      func(st *State) float64 { return st.Body.Setpoint },
	"HVAC_Status.HVACOn":            func(st *State) float64 { return b2f(st.Body.HVACOn) },
	"HVAC_Status.FanSpeed":          func(st *State) float64 { return st.Body.FanSpeed },
	"HVAC_Status.SeatHeatDriver":    func(st *State) float64 { return float64(st.Body.SeatHeat[SeatDriver]) },
	"HVAC_Status.SeatHeatPassenger": func(st *State) float64 { return float64(st.Body.SeatHeat[SeatPassenger]) },
	"HVAC_Status.SeatHeatRearLeft":  func(st *State) float64 { return float64(st.Body.SeatHeat[SeatRearLeft]) },
	"HVAC_Status.SeatHeatRearRight": func(st *State) float64 { return float64(st.Body.SeatHeat[SeatRearRight]) },
	"BCM_Windows.WindowPosFL":       func(st *State) float64 { return st.Body.Windows[FrontLeft] },
	"BCM_Windows.WindowPosFR":       func(st *State) float64 { return st.Body.Windows[FrontRight] },
	"BCM_Windows.WindowPosRL":       func(st *State) float64 { return st.Body.Windows[RearLeft] },
	"BCM_Windows.WindowPosRR":       func(st *State) float64 { return st.Body.Windows[RearRight] },
	"BCM_Windows.ChildLockRL":       func(st *State) float64 { return b2f(st.Body.ChildLock[0]) },
	"BCM_Windows.ChildLockRR":       func(st *State) float64 { return b2f(st.Body.ChildLock[1]) },
	"BCM_Windows.WindowLock":        func(st *State) float64 { return b2f(st.Body.WindowLock) },
	"BCM_Lights.LowBeam":            func(st *State) float64 { return b2f(st.Body.LowBeam) },
	"BCM_Lights.FogFront":           func(st *State) float64 { return b2f(st.Body.FogFront) },
	"BCM_Lights.DomeLight":          func(st *State) float64 { return b2f(st.Body.DomeLight) },
	"BCM_Lights.AmbientLight":       func(st *State) float64 { return b2f(st.Body.AmbientLight) },
	"BCM_Lights.ReverseLight":       func(st *State) float64 { return b2f(st.Body.ReverseLight) },
	"TPMS_Pressure.TyrePressFL":     func(st *State) float64 { return st.Body.TyrePressure[FrontLeft] },
	"TPMS_Pressure.TyrePressFR":     func(st *State) float64 { return st.Body.TyrePressure[FrontRight] },
	"TPMS_Pressure.TyrePressRL":     func(st *State) float64 { return st.Body.TyrePressure[RearLeft] },
	"TPMS_Pressure.TyrePressRR":     func(st *State) float64 { return st.Body.TyrePressure[RearRight] },
	"TPMS_Temperature.TyreTempFL":   func(st *State) float64 { return st.Body.TyreTemp[FrontLeft] },
	"TPMS_Temperature.TyreTempFR":   func(st *State) float64 { return st.Body.TyreTemp[FrontRight] },
	"TPMS_Temperature.TyreTempRL":   func(st *State) float64 { return st.Body.TyreTemp[RearLeft] },
	"TPMS_Temperature.TyreTempRR":   func(st *State) float64 { return st.Body.TyreTemp[RearRight] },
}

// cmdFrame builds a command frame with every signal at its NoChange (or
// NoAction) value, then sets the named signals to raw values.
func cmdFrame(t testing.TB, db *signals.Database, msg string, raw map[string]uint64) can.Frame {
	t.Helper()
	m := db.Message(msg)
	if m == nil {
		t.Fatalf("no message %s", msg)
	}
	f := m.NewFrame()
	for _, sig := range m.Signals {
		for v, l := range sig.Labels {
			if l == "NoChange" || l == "NoAction" {
				sig.EncodeRaw(&f, uint64(v))
			}
		}
	}
	for name, v := range raw {
		sig := m.Signal(name)
		if sig == nil {
			t.Fatalf("no signal %s.%s", msg, name)
		}
		sig.EncodeRaw(&f, v)
	}
	return f
}

// TestBodyDBC checks the command messages and their value tables: the raw
// values the body code uses are the ones the DBC documents.
func TestBodyDBC(t *testing.T) {
	db, err := loadDBC()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range commandMessages {
		m := db.Message(name)
		if m == nil || !isCommand(m) {
			t.Fatalf("%s: missing or not sent by EVEDGE", name)
		}
	}
	labels := []struct {
		sig  string
		raw  int64
		want string
	}{
		{"HVAC_Cmd.SetpointReq", cmdSetpointRaw, "NoChange"},
		{"HVAC_Cmd.HVACOnReq", cmdOff, "Off"}, {"HVAC_Cmd.HVACOnReq", cmdOn, "On"}, {"HVAC_Cmd.HVACOnReq", 3, "NoChange"},
		{"BCM_WindowCmd.WindowCmdRL", 0, "NoAction"}, {"BCM_WindowCmd.WindowCmdRL", cmdWindowOpen, "Open"},
		{"BCM_WindowCmd.WindowCmdRL", cmdWindowClose, "Close"}, {"BCM_WindowCmd.WindowCmdRL", cmdWindowStop, "Stop"},
		{"SeatHeatCmd.SeatHeatRearRightReq", 7, "NoChange"}, {"SeatHeatCmd.SeatHeatRearRightReq", 3, "Level3"},
		{"LightCmd.FogFrontReq", cmdOn, "On"}, {"LightCmd.FogFrontReq", 3, "NoChange"},
		{"VCU_GearStatus.SelectedGear", -1, "R"}, {"VCU_GearStatus.SelectedGear", 126, "P"},
	}
	for _, l := range labels {
		var msg, sig string
		for i := range l.sig {
			if l.sig[i] == '.' {
				msg, sig = l.sig[:i], l.sig[i+1:]
			}
		}
		s := db.Signal(msg, sig)
		if s == nil || s.Labels[l.raw] != l.want {
			t.Errorf("%s raw %d: label %q, want %q", l.sig, l.raw, s.Labels[l.raw], l.want)
		}
	}
	for _, cs := range commandSignals {
		if db.Signal(cs.msg, cs.sig) == nil {
			t.Errorf("command signal %s.%s not in the DBC", cs.msg, cs.sig)
		}
	}
}

// TestBodyCommands drives every command and checks the body's response:
// windows travel at 25 %/s and stop on request, NoChange leaves settings
// alone, out-of-table values are ignored, set points are limited.
func TestBodyCommands(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Scenario = "park" })
	db := s.Config().DBC
	send := func(msg string, raw map[string]uint64) {
		t.Helper()
		if !s.Command(cmdFrame(t, db, msg, raw)) {
			t.Fatalf("%s %v not handled", msg, raw)
		}
	}
	s.Step(time.Second)
	st := s.State().Body
	if st.Windows != [4]float64{} || st.SeatHeat != [4]int{} || st.LowBeam || st.FogFront || st.DomeLight || st.AmbientLight {
		t.Fatalf("initial body %+v: want windows closed, heaters and lights off", st)
	}
	if !st.HVACOn || st.Setpoint != 21 || st.ChildLock[0] || st.WindowLock {
		t.Fatalf("initial body %+v: want HVAC on at 21 °C, child locks off", st)
	}

	send("BCM_WindowCmd", map[string]uint64{"WindowCmdRL": cmdWindowOpen, "WindowCmdFR": cmdWindowOpen})
	s.Step(2 * time.Second)
	if w := s.State().Body.Windows; math.Abs(w[RearLeft]-50) > 1e-9 || math.Abs(w[FrontRight]-50) > 1e-9 || w[FrontLeft] != 0 {
		t.Fatalf("after 2 s opening: windows %v, want RL and FR at 50 %%", w)
	}
	send("BCM_WindowCmd", map[string]uint64{"WindowCmdFR": cmdWindowStop})
	s.Step(3 * time.Second)
	if w := s.State().Body.Windows; w[RearLeft] != 100 || math.Abs(w[FrontRight]-50) > 1e-9 {
		t.Fatalf("after stop: windows %v, want RL 100, FR stopped at 50", w)
	}
	send("BCM_WindowCmd", map[string]uint64{"WindowCmdRL": cmdWindowClose, "WindowCmdFR": cmdWindowClose})
	s.Step(5 * time.Second)
	if w := s.State().Body.Windows; w != [4]float64{} {
		t.Fatalf("after closing: windows %v", w)
	}

	send("SeatHeatCmd", map[string]uint64{"SeatHeatDriverReq": 3, "SeatHeatRearRightReq": 1})
	send("SeatHeatCmd", map[string]uint64{"SeatHeatPassengerReq": 5}) // not in the table: ignored
	send("LightCmd", map[string]uint64{"LowBeamReq": cmdOn, "DomeLightReq": cmdOn, "FogFrontReq": 2})
	send("HVAC_Cmd", map[string]uint64{"SetpointReq": 47}) // 23.5 °C
	s.Step(time.Second)
	st = s.State().Body
	if st.SeatHeat != [4]int{3, 0, 0, 1} {
		t.Errorf("seat heat %v, want [3 0 0 1]", st.SeatHeat)
	}
	if !st.LowBeam || !st.DomeLight || st.FogFront || st.AmbientLight {
		t.Errorf("lights %+v: want low beam and dome on, fog (invalid request) and ambient off", st)
	}
	if st.Setpoint != 23.5 || !st.HVACOn {
		t.Errorf("set point %v on %v, want 23.5 on", st.Setpoint, st.HVACOn)
	}
	send("HVAC_Cmd", map[string]uint64{"SetpointReq": 80, "HVACOnReq": cmdOff}) // 40 °C: limited to 28
	send("LightCmd", map[string]uint64{"LowBeamReq": cmdOff})
	send("SeatHeatCmd", map[string]uint64{"SeatHeatDriverReq": 0})
	st = s.State().Body
	if st.Setpoint != 28 || st.HVACOn || st.LowBeam || !st.DomeLight || st.SeatHeat[SeatDriver] != 0 {
		t.Errorf("after second requests: %+v", st)
	}

	// Frames that are not commands are left alone.
	vcu := db.Message("VCU_Drive").NewFrame()
	if s.Command(vcu) {
		t.Error("VCU_Drive frame handled as a command")
	}
	if s.Command(can.Frame{ID: 0x7FF, Len: 8}) {
		t.Error("unknown frame handled")
	}
	rtr := cmdFrame(t, db, "LightCmd", map[string]uint64{"LowBeamReq": cmdOn})
	rtr.Flags |= can.Remote
	if s.Command(rtr) || s.State().Body.LowBeam {
		t.Error("remote frame obeyed")
	}
}

// TestBodyCabinTemperature: with the high-voltage system on, the HVAC
// brings the cabin to its set point at a limited rate; switched off, the
// cabin drifts to ambient, faster with the windows open.
func TestBodyCabinTemperature(t *testing.T) {
	cold := newSim(t, func(c *Config) { c.Scenario, c.Ambient, c.IdleTime = "idle", -5, time.Hour })
	cold.Step(time.Minute)
	t1 := cold.State().Body.CabinTemp
	cold.Step(10 * time.Minute)
	st := cold.State().Body
	if !st.HVACActive || st.FanSpeed < 30 {
		t.Fatalf("idle with HVAC on: %+v, want active with the fan running", st)
	}
	if rate := (st.CabinTemp - t1) / 600; rate <= 0 || rate > cabinHVACMax+1e-9 {
		t.Errorf("heating at %.4f °C/s from %.1f to %.1f, want 0..%v", rate, t1, st.CabinTemp, cabinHVACMax)
	}
	cold.Step(30 * time.Minute)
	if st := cold.State().Body; math.Abs(st.CabinTemp-21) > 0.2 {
		t.Errorf("after 40 min of heating: cabin %.2f °C, want 21", st.CabinTemp)
	}

	// HVAC off while parked: towards ambient; open windows speed it up.
	drift := func(open bool) float64 {
		s := newSim(t, func(c *Config) { c.Scenario, c.Ambient = "park", 30 })
		db := s.Config().DBC
		s.Command(cmdFrame(t, db, "HVAC_Cmd", map[string]uint64{"HVACOnReq": cmdOff}))
		if open {
			s.Command(cmdFrame(t, db, "BCM_WindowCmd", map[string]uint64{"WindowCmdFL": 1, "WindowCmdFR": 1, "WindowCmdRL": 1, "WindowCmdRR": 1}))
		}
		start := s.State().Body.CabinTemp
		s.Step(5 * time.Minute)
		st := s.State().Body
		if st.HVACActive || st.FanSpeed != 0 {
			t.Fatalf("HVAC off: %+v", st)
		}
		return st.CabinTemp - start
	}
	closed, open := drift(false), drift(true)
	if closed <= 0 || open <= closed*2 {
		t.Errorf("5 min at 30 °C ambient: cabin warmed %.2f °C closed, %.2f °C open: want open much faster", closed, open)
	}
}

// TestBodyTyresAndGear: tyre pressures follow the tyre air temperature
// (constant volume), which rises with speed; the body reports reverse
// (urban starts by reversing out of a space) in VSS numbering with the
// backup light.
func TestBodyTyresAndGear(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Scenario = "urban" })
	sawReverse := false
	for s.Elapsed() < 30*time.Second {
		s.Step(100 * time.Millisecond)
		st := s.State()
		want := map[Gear]int{GearP: 126, GearR: -1, GearN: 0, GearD: 127}[st.Gear]
		if st.Body.SelectedGear != want || st.Body.ReverseLight != (st.Gear == GearR) {
			t.Fatalf("%v: gear %d: body says %d, backup light %v", st.Elapsed, st.Gear, st.Body.SelectedGear, st.Body.ReverseLight)
		}
		sawReverse = sawReverse || st.Body.SelectedGear == -1
	}
	if !sawReverse {
		t.Error("urban never reversed")
	}

	hw := newSim(t, func(c *Config) { c.Scenario = "highway" })
	start := hw.State().Body
	for i, p := range start.TyrePressure {
		if p < 235 || p > 265 || start.TyreTemp[i] != 20 {
			t.Errorf("tyre %d at start: %.1f kPa %.1f °C, want 250±15 kPa at ambient", i, p, start.TyreTemp[i])
		}
	}
	hw.Step(20 * time.Minute)
	end := hw.State().Body
	for i := range end.TyrePressure {
		dT := end.TyreTemp[i] - start.TyreTemp[i]
		// Gay-Lussac: absolute pressure proportional to absolute temperature.
		want := (start.TyrePressure[i]+101.325)*(end.TyreTemp[i]+273.15)/(start.TyreTemp[i]+273.15) - 101.325
		if dT < 5 || math.Abs(end.TyrePressure[i]-want) > 1e-6 || end.TyrePressure[i]-start.TyrePressure[i] < 5 {
			t.Errorf("tyre %d after 20 min at 120 km/h: +%.1f °C, %.1f -> %.1f kPa (gas law %.1f)", i, dT, start.TyrePressure[i], end.TyrePressure[i], want)
		}
	}
}

// TestBodySeedAndChildLock: the body's spread follows the seed, from a
// source of its own; Config.ChildLock engages the child locks.
func TestBodySeedAndChildLock(t *testing.T) {
	a := newSim(t, nil).State().Body
	b := newSim(t, nil).State().Body
	c := newSim(t, func(c *Config) { c.Seed = 2; c.ChildLock = true }).State().Body
	if a != b {
		t.Errorf("same seed, different bodies:\n%+v\n%+v", a, b)
	}
	if a.TyrePressure == c.TyrePressure || a.CabinTemp == c.CabinTemp {
		t.Errorf("seeds 1 and 2 give the same tyres and cabin: %v %v", a.TyrePressure, c.TyrePressure)
	}
	if a.ChildLock != [2]bool{} || a.WindowLock || c.ChildLock != [2]bool{true, true} || !c.WindowLock {
		t.Errorf("child locks: default %v %v, ChildLock %v %v", a.ChildLock, a.WindowLock, c.ChildLock, c.WindowLock)
	}
}

// TestBodyVSS decodes the body's frames through board/sim/sim-ev.toml and
// reads the VSS paths back against the body state.
func TestBodyVSS(t *testing.T) {
	mp, err := signals.LoadMap(mapPath)
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := LoadDBC(dbcPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(mp); err != nil {
		t.Fatal(err)
	}
	s := newSim(t, func(c *Config) { c.DBC = db; c.Scenario = "urban"; c.ChildLock = true })
	s.Command(cmdFrame(t, db, "SeatHeatCmd", map[string]uint64{"SeatHeatPassengerReq": 2}))
	s.Command(cmdFrame(t, db, "BCM_WindowCmd", map[string]uint64{"WindowCmdRR": cmdWindowOpen}))
	s.Command(cmdFrame(t, db, "LightCmd", map[string]uint64{"AmbientLightReq": cmdOn}))
	table := signals.NewTable(db)
	var frames []can.Frame
	var vals []signals.Value
	for s.Elapsed() < 8*time.Second {
		s.Step(100 * time.Millisecond)
		frames = s.Frames(s.Now().UnixNano(), frames[:0])
		for i := range frames {
			if m := db.Lookup(&frames[i]); m != nil {
				vals = m.Decode(&frames[i], vals[:0])
				table.Update(vals, frames[i].Time)
			}
		}
	}
	// The slowest body message is sent every second: compare with the state
	// right after one.
	st := s.State()
	for _, c := range []struct {
		path string
		want float64
		tol  float64
	}{
		{"Vehicle.Powertrain.Transmission.SelectedGear", float64(st.Body.SelectedGear), 0},
		{"Vehicle.Cabin.Seat.Row1.PassengerSide.HeatingCooling", 200.0 / 3, 1e-9},
		{"Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", 0, 0},
		{"Vehicle.Cabin.Door.Row2.PassengerSide.Window.Position", 100, 0},
		{"Vehicle.Cabin.Door.Row1.DriverSide.Window.Position", 0, 0},
		{"Vehicle.Cabin.Door.Row2.DriverSide.IsChildLockActive", 1, 0},
		{"Vehicle.Cabin.IsWindowChildLockEngaged", 1, 0},
		{"Vehicle.Private.EvedgeSim.AmbientLightOn", 1, 0},
		{"Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature", 21, 0},
		{"Vehicle.Cabin.HVAC.AmbientAirTemperature", st.Body.CabinTemp, 0.1},
		{"Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Pressure", st.Body.TyrePressure[RearRight], 0.1},
		{"Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Temperature", st.Body.TyreTemp[FrontLeft], 1},
	} {
		smp, ok := table.Get(c.path)
		if !ok {
			t.Errorf("%s: no value", c.path)
			continue
		}
		if math.Abs(smp.Value-c.want) > c.tol {
			t.Errorf("%s = %v, want %v", c.path, smp.Value, c.want)
		}
	}
}

// TestBodyNoAllocs: the physics step with the body and command handling
// allocate nothing.
func TestBodyNoAllocs(t *testing.T) {
	s := newSim(t, nil)
	db := s.Config().DBC
	f := cmdFrame(t, db, "BCM_WindowCmd", map[string]uint64{"WindowCmdFL": cmdWindowOpen})
	s.Step(time.Second)
	if n := testing.AllocsPerRun(200, func() { s.Step(100 * time.Millisecond) }); n != 0 {
		t.Errorf("Step: %v allocations", n)
	}
	if n := testing.AllocsPerRun(200, func() { s.Command(f) }); n != 0 {
		t.Errorf("Command: %v allocations", n)
	}
}

// FuzzCommand feeds arbitrary frames to Command: it must never panic, and
// the body must stay within its physical ranges.
func FuzzCommand(f *testing.F) {
	db, err := loadDBC()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint32(0x351), []byte{0x55, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint32(0x350), []byte{0xFF, 0xFF})
	f.Add(uint32(0x352), []byte{0xFF, 0xFF, 0xFF})
	f.Add(uint32(0x353), []byte{})
	f.Fuzz(func(t *testing.T, id uint32, data []byte) {
		s := newSim(t, func(c *Config) { c.DBC = db; c.Scenario = "park" })
		fr := can.Frame{ID: id & 0x7FF, Len: uint8(min(len(data), 8))}
		copy(fr.Data[:], data)
		s.Command(fr)
		s.Step(10 * time.Second)
		st := s.State().Body
		if st.Setpoint < setpointMin || st.Setpoint > setpointMax {
			t.Fatalf("set point %v", st.Setpoint)
		}
		for i := range st.Windows {
			if st.Windows[i] < 0 || st.Windows[i] > 100 || st.SeatHeat[i] < 0 || st.SeatHeat[i] > 3 {
				t.Fatalf("body %+v", st)
			}
		}
	})
}
