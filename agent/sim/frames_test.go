package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

func TestSimDBC(t *testing.T) {
	db, cycles, err := LoadDBC(dbcPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Warnings) != 0 {
		t.Errorf("DBC warnings: %v", db.Warnings)
	}
	if len(db.Messages) != 19+len(bodySpecs)+len(commandMessages) {
		t.Errorf("%d messages, want 19 powertrain, %d body and %d command messages", len(db.Messages), len(bodySpecs), len(commandMessages))
	}
	for _, m := range db.Messages {
		if m.Extended || m.ID > 0x7FF || m.Size != 8 {
			t.Errorf("message %s: id 0x%X extended %v size %d: expected 8-byte 11-bit frames", m.Name, m.ID, m.Extended, m.Size)
		}
		if isCommand(m) {
			continue // sent by the head unit on request, not cyclic
		}
		if cycles[m.Name] <= 0 {
			t.Errorf("message %s has no GenMsgCycleTime", m.Name)
		}
	}
	if want := DefaultCycles(); !mapsEqual(cycles, want) {
		t.Errorf("DBC cycle times %v\nsim defaults %v", cycles, want)
	}
	// Every signal of the DBC is written by the sim.
	written := map[string]bool{}
	for _, sp := range append(specs[:len(specs):len(specs)], bodySpecs...) {
		for _, n := range sp.sigs {
			written[sp.name+"."+n] = true
		}
	}
	cells, modules := 0, 0
	for _, s := range db.Signals {
		switch s.Message.Name {
		case cellMsgName:
			if s.Multiplexed {
				cells++
				if want := uint64(cells-1) / 4; s.Name != fmt.Sprintf("Cell%02dVoltage", cells) || s.MuxValue != want {
					t.Errorf("%s: mux %d, expected Cell%02dVoltage in group %d", s.FullName(), s.MuxValue, cells, want)
				}
			}
			continue
		case moduleMsgName:
			if s.Multiplexed {
				modules++
			}
			continue
		}
		if isCommand(s.Message) {
			continue // received by the sim (body_test.go checks them)
		}
		if !written[s.FullName()] {
			t.Errorf("DBC signal %s is not written by the sim", s.FullName())
		}
	}
	if cells != 96 || modules != 12 {
		t.Errorf("%d cell voltages and %d module temperatures multiplexed, want 96 and 12", cells, modules)
	}
}

func mapsEqual(a, b map[string]time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCRC8 checks the CRC-8/SAE-J1850 check value for "123456789".
func TestCRC8(t *testing.T) {
	if got := crc8([]byte("123456789")); got != 0x4B {
		t.Fatalf("crc8 = 0x%02X, want 0x4B", got)
	}
}

// expected gives, per "Message.Signal", the State value the signal carries
// in DBC units.
var expected = map[string]func(st *State) float64{
	"VCU_Drive.VehicleSpeed":            func(st *State) float64 { return math.Abs(st.Speed) },
	"VCU_Drive.Gear":                    func(st *State) float64 { return float64(st.Gear) },
	"VCU_Drive.ReadyState":              func(st *State) float64 { return b2f(st.Ready) },
	"VCU_Drive.AccelPedalPos":           func(st *State) float64 { return st.AccelPedal },
	"VCU_Drive.BrakePedalPos":           func(st *State) float64 { return st.BrakePedal },
	"VCU_Drive.LongAccel":               func(st *State) float64 { return st.Accel },
	"MCU_Status.MotorSpeed":             func(st *State) float64 { return st.MotorSpeed },
	"MCU_Status.MotorTorque":            func(st *State) float64 { return st.MotorTorque },
	"MCU_Status.InverterDCVoltage":      func(st *State) float64 { return st.LinkVoltage },
	"BMS_PackStatus.PackVoltage":        func(st *State) float64 { return st.PackVoltage },
	"BMS_PackStatus.PackCurrent":        func(st *State) float64 { return st.PackCurrent },
	"BMS_PackStatus.PackPower":          func(st *State) float64 { return st.PackPower },
	"BMS_SOC.SOC":                       func(st *State) float64 { return st.SOC },
	"BMS_SOC.SOH":                       func(st *State) float64 { return st.SOH },
	"BMS_SOC.RemainingEnergy":           func(st *State) float64 { return st.Energy },
	"BMS_SOC.EstimatedRange":            func(st *State) float64 { return st.Range },
	"BMS_SOC.SOCDisplayed":              func(st *State) float64 { return st.SOCDisplayed },
	"BMS_CellStats.CellVoltageMax":      func(st *State) float64 { return st.CellMax },
	"BMS_CellStats.CellVoltageMin":      func(st *State) float64 { return st.CellMin },
	"BMS_CellStats.CellVoltageMaxIdx":   func(st *State) float64 { return float64(st.CellMaxIndex + 1) },
	"BMS_CellStats.CellVoltageMinIdx":   func(st *State) float64 { return float64(st.CellMinIndex + 1) },
	"BMS_CellStats.CellVoltageAvg":      func(st *State) float64 { return st.CellAvg },
	"BMS_TempStats.CellTempMax":         func(st *State) float64 { return st.TempMax },
	"BMS_TempStats.CellTempMin":         func(st *State) float64 { return st.TempMin },
	"BMS_TempStats.CellTempAvg":         func(st *State) float64 { return st.TempAvg },
	"BMS_TempStats.CellTempMaxIdx":      func(st *State) float64 { return float64(st.TempMaxIndex + 1) },
	"BMS_TempStats.CellTempMinIdx":      func(st *State) float64 { return float64(st.TempMinIndex + 1) },
	"BMS_TempStats.ThermalMode":         func(st *State) float64 { return float64(st.ThermalMode) },
	"BMS_Limits.MaxDischargePower":      func(st *State) float64 { return st.MaxDischarge },
	"BMS_Limits.MaxChargePower":         func(st *State) float64 { return st.MaxCharge },
	"BMS_Limits.MaxDischargeCurrent":    func(st *State) float64 { return st.MaxDischargeI },
	"BMS_Limits.MaxChargeCurrent":       func(st *State) float64 { return st.MaxChargeI },
	"BMS_HVStatus.ContactorState":       func(st *State) float64 { return float64(st.Contactor) },
	"BMS_HVStatus.MainPositiveClosed":   func(st *State) float64 { return b2f(st.MainPositive) },
	"BMS_HVStatus.MainNegativeClosed":   func(st *State) float64 { return b2f(st.MainNegative) },
	"BMS_HVStatus.PrechargeRelayClosed": func(st *State) float64 { return b2f(st.PrechargeRelay) },
	"BMS_HVStatus.HVILStatus":           func(st *State) float64 { return b2f(st.HVIL) },
	"BMS_Thermal.CoolantInletTemp":      func(st *State) float64 { return st.CoolantInlet },
	"BMS_Thermal.CoolantOutletTemp":     func(st *State) float64 { return st.CoolantOutlet },
	"BMS_Thermal.CoolantPumpDuty":       func(st *State) float64 { return st.PumpDuty },
	"BMS_Thermal.ChillerActive":         func(st *State) float64 { return b2f(st.Chiller) },
	"IMD_Status.InsulationResistance":   func(st *State) float64 { return math.Min(st.Insulation/1000, 50000) },
	"IMD_Status.IsolationStatus":        func(st *State) float64 { return float64(st.IsolationStatus) },
	"MCU_Temps.MotorTemp":               func(st *State) float64 { return st.MotorTemp },
	"MCU_Temps.InverterTemp":            func(st *State) float64 { return st.InverterTemp },
	"MCU_Temps.CoolantTemp":             func(st *State) float64 { return st.CoolantInlet },
	"MCU_Temps.CoolantPumpDuty":         func(st *State) float64 { return st.PumpDuty },
	"MCU_Temps.MotorTorqueLimit":        func(st *State) float64 { return st.MotorTorqueLimit },
	"DCDC_Status.DCDCState":             func(st *State) float64 { return float64(st.DCDC) },
	"DCDC_Status.DCDCOutputVoltage":     func(st *State) float64 { return st.DCDCVoltage },
	"DCDC_Status.DCDCOutputCurrent":     func(st *State) float64 { return st.DCDCCurrent },
	"DCDC_Status.DCDCTemp":              func(st *State) float64 { return st.DCDCTemp },
	"IBS_LVBattery.LVBattVoltage":       func(st *State) float64 { return st.LVVoltage },
	"IBS_LVBattery.LVBattCurrent":       func(st *State) float64 { return st.LVCurrent },
	"IBS_LVBattery.LVBattSOC":           func(st *State) float64 { return st.LVSOC },
	"OBC_ChargeStatus.ChargingState":    func(st *State) float64 { return float64(st.Charge) },
	"OBC_ChargeStatus.PlugConnected":    func(st *State) float64 { return b2f(st.Plugged) },
	"OBC_ChargeStatus.ChargingActive":   func(st *State) float64 { return b2f(st.Charging) },
	"OBC_ChargeStatus.ChargeTargetSOC":  func(st *State) float64 { return st.ChargeTarget },
	"OBC_ChargeStatus.TimeToFull":       func(st *State) float64 { return math.Round(st.TimeToFull) },
	"OBC_ChargeStatus.ChargerPower":     func(st *State) float64 { return st.ChargerPower },
	"OBC_ChargeMeas.ChargerVoltage":     func(st *State) float64 { return st.ChargerVoltage },
	"OBC_ChargeMeas.ChargerCurrent":     func(st *State) float64 { return st.ChargerCurrent },
	"OBC_ChargeMeas.ACVoltage":          func(st *State) float64 { return st.ACVoltage },
	"OBC_ChargeMeas.ACCurrent":          func(st *State) float64 { return st.ACCurrent },
	"IC_Odometer.Odometer":              func(st *State) float64 { return st.Odometer },
	"IC_Odometer.TripDistance":          func(st *State) float64 { return st.Trip },
	"BCM_Ambient.AmbientTemp":           func(st *State) float64 { return st.Ambient },
	"MCU_Temps.DeratingActive":          func(st *State) float64 { return b2f(st.MotorTorqueLimit < 350) },
	"MCU_Status.InverterDCCurrent": func(st *State) float64 {
		if st.LinkVoltage <= 50 {
			return 0
		}
		return st.DrivePower * 1000 / st.LinkVoltage
	},
}

// rawRange is the physical range a signal can carry.
func rawRange(s *signals.Signal) (lo, hi float64) {
	n := float64(s.Size)
	if s.Kind == signals.Signed {
		lo, hi = -math.Exp2(n-1), math.Exp2(n-1)-1
	} else {
		lo, hi = 0, math.Exp2(n)-1
	}
	return lo*s.Factor + s.Offset, hi*s.Factor + s.Offset
}

// TestFramesDecode encodes frames through an AC charge, city driving (with
// reversing and regeneration) and a DC charge, decodes each with the DBC
// and compares it with the State it was made from: every value must come
// back within half a raw step (the rounding), unless it saturates.
func TestFramesDecode(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) {
		c.Scenario, c.InitialSOC, c.ChargeTarget, c.ChargeBelow = "ac,urban,dc", 54, 55, 20
		c.ParkTime = 20 * time.Second
	})
	db := s.Config().DBC
	tick := s.Config().Tick
	seen := map[string]int{}
	counters := map[uint32]uint64{}
	var frames []can.Frame
	var vals []signals.Value
	phases := map[string]bool{}
	for s.Elapsed() < 20*time.Minute {
		s.Step(tick)
		st := s.State()
		phases[st.Phase] = true
		frames = s.Frames(st.Time.UnixNano(), frames[:0])
		for i := range frames {
			f := &frames[i]
			m := db.Lookup(f)
			if m == nil {
				t.Fatalf("frame %v: id not in the DBC", f)
			}
			vals = m.Decode(f, vals[:0])
			var group uint64
			for _, v := range vals {
				name := v.Signal.FullName()
				switch {
				case v.Signal.IsMultiplexer:
					group = v.Raw
					continue
				case v.Signal.Name == "AliveCounter":
					if c, ok := counters[f.ID]; ok && v.Raw != (c+1)%16 {
						t.Fatalf("%s: counter %d after %d", m.Name, v.Raw, c)
					}
					counters[f.ID] = v.Raw
					continue
				case v.Signal.Name == "Checksum":
					if want := crc8(f.Data[:7]); v.Raw != uint64(want) {
						t.Fatalf("%s: checksum 0x%02X, CRC of bytes 0..6 is 0x%02X", m.Name, v.Raw, want)
					}
					continue
				case name == "MCU_Status.MotorState":
					continue
				}
				var want float64
				switch m.Name {
				case cellMsgName:
					var n int
					fmt.Sscanf(v.Signal.Name, "Cell%dVoltage", &n)
					if uint64(n-1)/4 != group {
						t.Fatalf("%s in group %d", name, group)
					}
					want = st.Cells[n-1]
				case moduleMsgName:
					var n int
					fmt.Sscanf(v.Signal.Name, "Module%dTemp", &n)
					want = st.ModuleTemps[n-1]
				default:
					fn, ok := expected[name]
					if !ok {
						fn, ok = bodyExpected[name]
					}
					if !ok {
						t.Fatalf("no expectation for %s", name)
					}
					want = fn(&st)
				}
				lo, hi := rawRange(v.Signal)
				want = math.Max(lo, math.Min(hi, want))
				if math.Abs(v.Value-want) > v.Signal.Factor/2+1e-9 {
					t.Fatalf("%v %s (%s): decoded %v, state %v (step %v)", st.Elapsed, name, st.Phase, v.Value, want, v.Signal.Factor)
				}
				if v.Value != 0 {
					seen[name]++
				}
			}
		}
	}
	for _, p := range []string{PhaseAC, PhaseUrban, PhaseDC} {
		if !phases[p] {
			t.Errorf("phase %s not reached", p)
		}
	}
	// Every signal that can be non-zero was, at least once.
	for name := range expected {
		switch name {
		case "BMS_TempStats.CellTempMaxIdx", "BMS_TempStats.CellTempMinIdx", "BMS_CellStats.CellVoltageMaxIdx",
			"BMS_CellStats.CellVoltageMinIdx", "IMD_Status.IsolationStatus", "MCU_Temps.DeratingActive",
			"BMS_TempStats.ThermalMode", "BMS_Thermal.ChillerActive":
			continue // may stay at 0 or 1 on a healthy mild day
		}
		if seen[name] == 0 {
			t.Errorf("%s never carried a non-zero value", name)
		}
	}
}

// TestCycleTimes counts the frames of each message over 10 s of sim time
// and checks the spacing equals the DBC's GenMsgCycleTime.
func TestCycleTimes(t *testing.T) {
	t.Parallel()
	s := newSim(t, nil)
	_, cycles, err := LoadDBC(dbcPath)
	if err != nil {
		t.Fatal(err)
	}
	db := s.Config().DBC
	var frames []can.Frame
	for s.Elapsed() < 10*time.Second {
		s.Step(10 * time.Millisecond)
		frames = s.Frames(s.Now().UnixNano(), frames)
	}
	byID := map[uint32][]int64{}
	groups := map[uint32]map[uint8]int{}
	for i := range frames {
		f := &frames[i]
		if i > 0 && f.Time < frames[i-1].Time {
			t.Fatalf("frame %d out of time order", i)
		}
		byID[f.ID] = append(byID[f.ID], f.Time)
		if groups[f.ID] == nil {
			groups[f.ID] = map[uint8]int{}
		}
		groups[f.ID][f.Data[0]]++
	}
	for _, m := range db.Messages {
		ts := byID[m.ID]
		cycle := cycles[m.Name]
		if isCommand(m) {
			if len(ts) != 0 {
				t.Errorf("%s: the sim sent %d command frames", m.Name, len(ts))
			}
			continue
		}
		if want := int(10 * time.Second / cycle); len(ts) != want {
			t.Errorf("%s: %d frames in 10 s, want %d (cycle %v)", m.Name, len(ts), want, cycle)
		}
		for i := 1; i < len(ts); i++ {
			if d := time.Duration(ts[i] - ts[i-1]); d != cycle {
				t.Fatalf("%s: frames %v apart, cycle %v", m.Name, d, cycle)
			}
		}
	}
	// One cell group per 20 ms frame: each of the 24 groups 500/24 times.
	cell := db.Message(cellMsgName)
	for g, n := range groups[cell.ID] {
		if n < 20 || n > 21 {
			t.Errorf("cell group %d sent %d times in 10 s, want 20 or 21", g, n)
		}
	}
	if len(groups[cell.ID]) != 24 {
		t.Errorf("%d cell groups, want 24", len(groups[cell.ID]))
	}
}

// streamFrames steps s by its Tick for d and collects the frames.
func streamFrames(s *Sim, d time.Duration) []can.Frame {
	var out []can.Frame
	for s.Elapsed() < d {
		s.Step(s.Config().Tick)
		out = s.Frames(s.Now().UnixNano(), out)
	}
	return out
}

var someFaults = []FaultSpec{
	{Kind: FaultCellShort, Target: 40, Severity: 0.7, Start: time.Minute, Ramp: time.Minute},
	{Kind: FaultCoolingLoss, Severity: 1, Start: 2 * time.Minute},
	{Kind: FaultSensorDrift, Signal: "BMS_Thermal.CoolantInletTemp", Severity: 5, Start: 30 * time.Second, Ramp: time.Minute},
	{Kind: FaultSensorStuck, Signal: "BMS_SOC.SOC", Start: 90 * time.Second},
	{Kind: FaultSensorDropout, Signal: "IMD_Status", Start: time.Minute, End: 2 * time.Minute},
}

// TestDeterminism: same seed and faults give the same frames, bit for bit;
// another seed does not. Run (unpaced) writes the same stream as Step and
// Frames.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	mk := func(seed uint64) *Sim {
		s := newSim(t, func(c *Config) { c.Seed = seed })
		for _, f := range someFaults {
			if err := s.Inject(f); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	a := streamFrames(mk(7), 3*time.Minute)
	b := streamFrames(mk(7), 3*time.Minute)
	if len(a) < 60000 || !slices.Equal(a, b) {
		t.Fatalf("same seed: %d and %d frames, equal %v", len(a), len(b), slices.Equal(a, b))
	}
	c := streamFrames(mk(8), 3*time.Minute)
	if slices.Equal(a, c) {
		t.Fatal("seeds 7 and 8 gave the same frames")
	}

	// Run into a bus, as fast as possible.
	s := mk(7)
	s.cfg.Duration = 3 * time.Minute
	bus := can.NewBus(0)
	rx := bus.Subscribe(context.Background(), len(a)+1000)
	if err := s.Run(context.Background(), bus, math.Inf(1)); err != nil {
		t.Fatal(err)
	}
	bus.Close()
	var got []can.Frame
	for rx.Receive() {
		got = append(got, rx.Frame())
	}
	if !slices.Equal(got, a) {
		t.Fatalf("Run wrote %d frames, Step+Frames %d; equal %v", len(got), len(a), slices.Equal(got, a))
	}
}

// fakeClock advances only when slept on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps int
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps++
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// TestRunPaced: at speed 60, two simulated minutes take two seconds of the
// clock, and frames come out stamped with sim time from Config.Start.
func TestRunPaced(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{now: time.Unix(1800000000, 0)}
	s := newSim(t, func(c *Config) { c.Clock = clk; c.Duration = 2 * time.Minute })
	bus := can.NewBus(0)
	rx := bus.Subscribe(context.Background(), 100000)
	if err := s.Run(context.Background(), bus, 60); err != nil {
		t.Fatal(err)
	}
	bus.Close()
	real := clk.Now().Sub(time.Unix(1800000000, 0))
	if real < 1900*time.Millisecond || real > 2*time.Second {
		t.Errorf("2 min at speed 60 took %v of the clock, want about 2 s", real)
	}
	n := 0
	var last int64
	for rx.Receive() {
		f := rx.Frame()
		if f.Time < t0.UnixNano() || f.Time > t0.Add(2*time.Minute).UnixNano() || f.Time < last {
			t.Fatalf("frame time %v outside the sim's two minutes from %v, or out of order", f.Timestamp(), t0)
		}
		last = f.Time
		n++
	}
	if n < 40000 {
		t.Errorf("%d frames in 2 min, expected about 374 a second", n)
	}
	if s.Elapsed() != 2*time.Minute {
		t.Errorf("elapsed %v, want 2m", s.Elapsed())
	}
}

func TestRunStops(t *testing.T) {
	t.Parallel()
	// Cancelled: returns nil.
	s := newSim(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	bus := can.NewBus(0)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, bus, 1) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("cancelled Run: %v", err)
	}
	// Closed bus: the error says so.
	bus.Close()
	if err := newSim(t, nil).Run(context.Background(), bus, 0); err == nil || !errors.Is(err, can.ErrBusClosed) {
		t.Errorf("Run on a closed bus: %v, want ErrBusClosed", err)
	}
}

// TestConcurrentUse reads State and injects faults while Run runs (go test
// -race checks the locking).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Duration = 2 * time.Minute })
	bus := can.NewBus(0)
	rx := bus.Subscribe(context.Background(), 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), bus, 0) }()
	for i := 0; i < 50; i++ {
		_ = s.State()
		if i == 10 {
			if err := s.Inject(FaultSpec{Kind: FaultHVIL, Start: time.Minute}); err != nil {
				t.Error(err)
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	bus.Close()
	for rx.Receive() {
	}
	if rx.Dropped() == 0 {
		t.Error("a one-frame subscriber kept up with an unpaced run: expected drops, not a blocked writer")
	}
}

// TestOtherPackSizes: packs other than 96s run; the DBC carries at most its
// 96 cells, in as many groups as needed.
func TestOtherPackSizes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ cells, modules, groups int }{{48, 6, 12}, {120, 12, 24}, {2, 1, 1}} {
		s := newSim(t, func(cfg *Config) { cfg.Cells, cfg.Modules, cfg.Scenario = c.cells, c.modules, PhaseUrban })
		s.Step(2 * time.Minute)
		st := s.State()
		if len(st.Cells) != c.cells || math.Abs(st.PackVoltage/float64(c.cells)-st.CellAvg) > 1e-9 {
			t.Errorf("%d cells: state has %d cells, pack %.1f V", c.cells, len(st.Cells), st.PackVoltage)
		}
		frames := s.Frames(s.Now().UnixNano(), nil)
		groups := map[uint8]bool{}
		for _, f := range frames {
			if f.ID == 0x1B0 {
				groups[f.Data[0]] = true
			}
		}
		if len(groups) != c.groups {
			t.Errorf("%d cells: %d cell groups on the bus, want %d", c.cells, len(groups), c.groups)
		}
	}
}
