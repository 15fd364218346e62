package sim

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// faulty builds a sim with the scenario edits and the faults injected.
func faulty(t *testing.T, edit func(*Config), faults ...FaultSpec) *Sim {
	t.Helper()
	s := newSim(t, edit)
	for _, f := range faults {
		if err := s.Inject(f); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func median(xs []float64) float64 {
	c := slices.Clone(xs)
	slices.Sort(c)
	return c[len(c)/2]
}

// TestFaultCellShort: a 1 ohm soft short on cell 17 of a parked car
// drains about 3.8 A (3.8 V / 1 ohm); in 3 h that is 11.4 Ah of 175 Ah,
// 6.5 % of charge. At 80 % the curve falls 0.8 V per unit of SOC between
// 70 and 80 % (3.915 -> 3.995 V), so the cell should sit 40..65 mV below
// the others, drifting further every hour, while the BMS SOC (which only
// sees the pack current) does not move.
func TestFaultCellShort(t *testing.T) {
	t.Parallel()
	edit := func(c *Config) { c.Scenario, c.ParkTime = PhasePark, 4*time.Hour }
	s := faulty(t, edit, FaultSpec{Kind: FaultCellShort, Target: 17, Severity: 1})
	healthy := newSim(t, edit)
	soc0 := s.State().SOC
	var gaps []float64
	for h := 1; h <= 3; h++ {
		s.Step(time.Hour)
		st := s.State()
		gaps = append(gaps, median(st.Cells)-st.Cells[17])
		if h == 3 {
			if st.CellMinIndex != 17 {
				t.Errorf("lowest cell %d, want the shorted cell 17", st.CellMinIndex)
			}
			if gaps[2] < 0.040 || gaps[2] > 0.065 {
				t.Errorf("after 3 h cell 17 is %.1f mV below the median, expected 40..65 mV", gaps[2]*1e3)
			}
			if st.SOC != soc0 {
				t.Errorf("BMS SOC moved to %.2f %% while parked", st.SOC)
			}
			// The bus says so too.
			frames := s.Frames(st.Time.UnixNano(), nil)
			db := s.Config().DBC
			for i := range frames {
				if frames[i].ID == db.Message("BMS_CellStats").ID {
					vals := db.Message("BMS_CellStats").Decode(&frames[i], nil)
					for _, v := range vals {
						if v.Signal.Name == "CellVoltageMinIdx" && v.Value != 18 {
							t.Errorf("CellVoltageMinIdx %v on the bus, want 18 (1-based)", v.Value)
						}
					}
				}
			}
		}
	}
	if !(gaps[0] < gaps[1] && gaps[1] < gaps[2]) {
		t.Errorf("gap of cell 17 below the median by hour: %.1f, %.1f, %.1f mV: expected to grow", gaps[0]*1e3, gaps[1]*1e3, gaps[2]*1e3)
	}
	healthy.Step(3 * time.Hour)
	hs := healthy.State()
	// Initial imbalance 0.3 % (one sigma): the 96 cells span about 5 sigma,
	// 1.5 % of charge, 12 mV at 0.8 V per unit of SOC.
	if spread := hs.CellMax - hs.CellMin; spread > 0.016 {
		t.Errorf("healthy parked pack spreads %.1f mV, expected under 16 mV", spread*1e3)
	}
}

// TestFaultCellCapacity: cell 5 with 70 % of its capacity (Severity 0.6)
// swings 1/0.7 = 1.43 times as far as the others over a highway run, ends
// lowest, and the SOH (weakest cell) drops to about 0.7 * 97 %.
func TestFaultCellCapacity(t *testing.T) {
	t.Parallel()
	s := faulty(t, func(c *Config) { c.Scenario, c.ParkTime = PhaseHighway, -1 },
		FaultSpec{Kind: FaultCellCapacity, Target: 5, Severity: 0.6})
	st0 := s.State()
	s.Step(25 * time.Minute)
	st := s.State()
	weak := st0.CellSOC[5] - st.CellSOC[5]
	others := 0.0
	for i := range st.CellSOC {
		if i != 5 {
			others += (st0.CellSOC[i] - st.CellSOC[i]) / float64(len(st.CellSOC)-1)
		}
	}
	if r := weak / others; math.Abs(r-1/0.7) > 0.03 {
		t.Errorf("weak cell swung %.3f times the others, want 1/0.7 = 1.429", r)
	}
	if st.CellMinIndex != 5 {
		t.Errorf("lowest cell %d, want 5", st.CellMinIndex)
	}
	if math.Abs(st.SOH-0.7*97) > 1.5 {
		t.Errorf("SOH %.1f %%, expected about %.1f %%", st.SOH, 0.7*97)
	}
}

// TestFaultCellResistance: cell 3 at five times the resistance sags four
// extra I*(R0+R1) under steady 120 km/h load.
func TestFaultCellResistance(t *testing.T) {
	t.Parallel()
	s := faulty(t, func(c *Config) { c.Scenario, c.ResistanceSpread = PhaseHighway, 0 },
		FaultSpec{Kind: FaultCellResistance, Target: 3, Severity: 1})
	s.Step(400 * time.Second)
	st := s.State()
	if st.CellMinIndex != 3 {
		t.Fatalf("lowest cell %d, want 3", st.CellMinIndex)
	}
	rf := math.Exp(0.035 * (25 - st.TempAvg))
	want := 4 * st.PackCurrent * (0.00022 + 0.00012) * rf
	if gap := median(st.Cells) - st.Cells[3]; math.Abs(gap-want) > 0.15*want {
		t.Errorf("cell 3 sags %.1f mV more than the median, expected 4*I*(R0+R1) = %.1f mV", gap*1e3, want*1e3)
	}
}

// TestFaultCoolingLoss: with the pump dead the chiller cannot pull heat
// out: under fast-charge load the coolant climbs while a healthy car holds
// it near the chiller's 25 °C; on the highway the inverter overheats.
func TestFaultCoolingLoss(t *testing.T) {
	t.Parallel()
	dc := func(c *Config) { c.Scenario, c.ParkTime, c.InitialSOC, c.ChargeTarget = PhaseDC, -1, 10, 90 }
	s := faulty(t, dc, FaultSpec{Kind: FaultCoolingLoss, Severity: 1})
	h := newSim(t, dc)
	s.Step(25 * time.Minute)
	h.Step(25 * time.Minute)
	st, hs := s.State(), h.State()
	if st.CoolantInlet < 20+8 || st.CoolantInlet < hs.CoolantInlet+5 {
		t.Errorf("coolant %.1f °C with a dead pump, %.1f °C healthy, from 20 °C: expected a rise of 8 K and 5 K above healthy", st.CoolantInlet, hs.CoolantInlet)
	}
	if st.PumpDuty < hs.PumpDuty {
		t.Errorf("pump commanded %.0f %% (healthy %.0f %%): the BMS should still ask for flow", st.PumpDuty, hs.PumpDuty)
	}
	hw := func(c *Config) { c.Scenario, c.ParkTime = PhaseHighway, -1 }
	s = faulty(t, hw, FaultSpec{Kind: FaultCoolingLoss, Severity: 1, Start: 2 * time.Minute, Ramp: time.Minute})
	h = newSim(t, hw)
	s.Step(30 * time.Minute)
	h.Step(30 * time.Minute)
	st, hs = s.State(), h.State()
	if st.InverterTemp < hs.InverterTemp+30 {
		t.Errorf("inverter %.1f °C with a dead pump, %.1f °C healthy: expected 30 K hotter", st.InverterTemp, hs.InverterTemp)
	}
}

// TestFaultInsulation: a 10 kohm leak (Severity 1) in parallel with
// several megaohm reads about 10 kohm: far below 500 ohm/V (and 100
// ohm/V) of a 380 V pack, so the IMD reports a fault. Healthy stays in
// the megaohms.
func TestFaultInsulation(t *testing.T) {
	t.Parallel()
	idle := func(c *Config) { c.Scenario = PhaseIdle }
	s := faulty(t, idle, FaultSpec{Kind: FaultInsulation, Severity: 1, Start: time.Minute, Ramp: 5 * time.Minute})
	h := newSim(t, idle)
	s.Step(time.Minute)
	if st := s.State(); st.Insulation < 1e6 || st.IsolationStatus != IsolationOK {
		t.Fatalf("before the fault: %.0f ohm, status %d", st.Insulation, st.IsolationStatus)
	}
	s.Step(10 * time.Minute)
	h.Step(11 * time.Minute)
	st, hs := s.State(), h.State()
	if st.Insulation > 500*st.PackVoltage || st.Insulation < 9e3 || st.Insulation > 11e3 {
		t.Errorf("insulation %.0f ohm at %.0f V: expected about 10 kohm, below 500 ohm/V = %.0f ohm", st.Insulation, st.PackVoltage, 500*st.PackVoltage)
	}
	if st.IsolationStatus != IsolationFault {
		t.Errorf("IMD status %d, want fault", st.IsolationStatus)
	}
	if hs.Insulation < 3e6 || hs.IsolationStatus != IsolationOK {
		t.Errorf("healthy insulation %.0f ohm, status %d", hs.Insulation, hs.IsolationStatus)
	}
}

// TestFaultWeak12V: the weak battery rests lower when parked and dips deep
// when the ECUs wake (650 W of 12 V load before the DC-DC runs). Healthy:
// 12.62 V open circuit less 51 A * 8 mohm = 12.2 V. Weak: 12.12 V and
// 48 mohm, where 650 W pulls it to about 8.4 V.
func TestFaultWeak12V(t *testing.T) {
	t.Parallel()
	urban := func(c *Config) { c.Scenario = PhaseUrban }
	measure := func(s *Sim) (minV, restV float64) {
		minV, restV = 99, 0
		runUntil(s, 100*time.Millisecond, 16*time.Minute, func(st *State) bool {
			minV = math.Min(minV, st.LVVoltage)
			if st.Parked && st.Contactor == ContactorOpen && st.LVCurrent < 0 && st.LVCurrent > -2 {
				restV = st.LVVoltage
			}
			return false
		})
		return minV, restV
	}
	hMin, hRest := measure(newSim(t, urban))
	wMin, wRest := measure(faulty(t, urban, FaultSpec{Kind: FaultWeak12V, Severity: 1}))
	if hMin < 12.0 || hRest < 12.5 {
		t.Errorf("healthy 12 V: lowest %.2f V, parked %.2f V; expected above 12.0 and 12.5", hMin, hRest)
	}
	if wMin > 9 || wMin < 7.5 {
		t.Errorf("weak 12 V at wake-up: %.2f V, expected about 8.4 V", wMin)
	}
	if wRest > hRest-0.4 {
		t.Errorf("weak 12 V parked at %.2f V, healthy %.2f V: expected 0.4 V lower", wRest, hRest)
	}
}

// TestFaultPrecharge: a slow precharge never reaches 95 % of the pack
// voltage within 0.5 s: the BMS reports a fault, the car does not move,
// the BMS locks out after three tries; once the fault clears it drives.
func TestFaultPrecharge(t *testing.T) {
	t.Parallel()
	s := faulty(t, func(c *Config) { c.Scenario = PhaseWLTP },
		FaultSpec{Kind: FaultPrecharge, Severity: 1, End: 3 * time.Minute})
	tries, prev := 0, ContactorOpen
	var faultSeen bool
	runUntil(s, 100*time.Millisecond, 3*time.Minute, func(st *State) bool {
		if st.Contactor == ContactorPrecharge && prev != ContactorPrecharge {
			tries++
			if !st.PrechargeRelay || !st.MainNegative || st.MainPositive {
				t.Errorf("precharging with relays +%v -%v pre %v", st.MainPositive, st.MainNegative, st.PrechargeRelay)
			}
		}
		if st.Contactor == ContactorPrecharge && st.LinkVoltage >= 0.95*st.PackVoltage {
			t.Errorf("link reached %.0f of %.0f V with a failed precharge", st.LinkVoltage, st.PackVoltage)
		}
		prev = st.Contactor
		faultSeen = faultSeen || st.Contactor == ContactorFault
		if st.Contactor == ContactorClosed || st.Speed != 0 || st.Ready {
			t.Fatalf("at %v: contactor %d, speed %.1f, ready %v with a failed precharge", st.Elapsed, st.Contactor, st.Speed, st.Ready)
		}
		return false
	})
	if !faultSeen || tries != 3 {
		t.Errorf("fault seen %v after %d precharge attempts, want a fault and a lockout after 3", faultSeen, tries)
	}
	if !runUntil(s, time.Second, 5*time.Minute, func(st *State) bool { return st.Speed > 5 }) {
		t.Error("the car did not drive after the fault cleared")
	}
}

// TestFaultContactor: the main contactor drops out at speed: no current,
// the car rolls to a stop; it recovers after the fault ends.
func TestFaultContactor(t *testing.T) {
	t.Parallel()
	s := faulty(t, func(c *Config) { c.Scenario = PhaseWLTP },
		FaultSpec{Kind: FaultContactor, Start: 25 * time.Minute, End: 27 * time.Minute})
	s.Step(25 * time.Minute)
	if st := s.State(); st.Speed < 50 || st.Contactor != ContactorClosed {
		t.Fatalf("at 25 min: %.1f km/h, contactor %d: expected driving", st.Speed, st.Contactor)
	}
	s.Step(200 * time.Millisecond)
	st := s.State()
	if st.Contactor != ContactorFault || st.PackCurrent != 0 || st.MainPositive || st.Ready {
		t.Errorf("after the drop-out: contactor %d, current %.1f A, positive %v, ready %v", st.Contactor, st.PackCurrent, st.MainPositive, st.Ready)
	}
	if !runUntil(s, time.Second, 26*time.Minute+30*time.Second, func(st *State) bool { return st.Speed == 0 }) {
		t.Error("the car did not stop after losing high voltage")
	}
	if !runUntil(s, time.Second, 30*time.Minute, func(st *State) bool { return st.Contactor == ContactorClosed }) {
		t.Error("the contactors did not close again after the fault ended")
	}
}

func TestFaultHVIL(t *testing.T) {
	t.Parallel()
	s := faulty(t, func(c *Config) { c.Scenario = PhaseIdle }, FaultSpec{Kind: FaultHVIL, Start: time.Minute})
	s.Step(time.Minute)
	if st := s.State(); !st.HVIL || st.Contactor != ContactorClosed {
		t.Fatalf("before: HVIL %v, contactor %d", st.HVIL, st.Contactor)
	}
	s.Step(time.Second)
	if st := s.State(); st.HVIL || st.Contactor != ContactorFault || st.MainPositive {
		t.Errorf("interlock open: HVIL %v, contactor %d, positive %v", st.HVIL, st.Contactor, st.MainPositive)
	}
}

// highwayPair puts a car with fault kind at severity 1 and its healthy
// twin on the motorway; each call of the result steps both by d and
// returns their states.
func highwayPair(t *testing.T, kind FaultKind) func(d time.Duration) (State, State) {
	hw := func(c *Config) { c.Scenario, c.ParkTime = PhaseHighway, -1 }
	s := faulty(t, hw, FaultSpec{Kind: kind, Severity: 1})
	h := newSim(t, hw)
	return func(d time.Duration) (State, State) {
		s.Step(d)
		h.Step(d)
		return s.State(), h.State()
	}
}

// TestFaultMotorOverheat: on the highway the motor runs far hotter than a
// healthy one and derates within half an hour, slowing the car.
func TestFaultMotorOverheat(t *testing.T) {
	t.Parallel()
	step := highwayPair(t, FaultMotorOverheat)
	if st, hs := step(15 * time.Minute); st.MotorTemp < hs.MotorTemp+50 {
		t.Errorf("motor %.0f °C, healthy %.0f °C: expected 50 K hotter", st.MotorTemp, hs.MotorTemp)
	}
	st, hs := step(15 * time.Minute)
	if st.MotorTorqueLimit >= 350 || st.MotorTemp < 150 {
		t.Errorf("after 30 min: motor %.0f °C, torque limit %.0f Nm: expected derating above 150 °C", st.MotorTemp, st.MotorTorqueLimit)
	}
	if st.Trip > hs.Trip-1 {
		t.Errorf("derated car covered %.1f km, healthy %.1f km: expected it to fall behind", st.Trip, hs.Trip)
	}
}

// TestFaultInverterOverheat: on a motorway (about 25 kW, 0.012·P + 60 W
// = 360 W of inverter losses) a healthy inverter sits 15..50 K over its
// coolant (UA 25·(0.1 + 0.9·flow) W/K, the pump speeding up as it warms).
// At severity 1 the losses double and the cold plate passes a tenth of
// that: at most 2.5 W/K plus 1 W/K to the air, a steady state of
// hundreds of K over the coolant reached with a time constant of
// 2500/3.5 s ≈ 12 min, so within 15 min the inverter is 40 K or more
// hotter than its healthy twin, and it derates above 100 °C.
func TestFaultInverterOverheat(t *testing.T) {
	t.Parallel()
	step := highwayPair(t, FaultInverterOverheat)
	st, hs := step(15 * time.Minute)
	t.Logf("15 min: inverter %.0f °C, healthy %.0f °C (coolant %.0f)", st.InverterTemp, hs.InverterTemp, hs.CoolantInlet)
	if st.InverterTemp < hs.InverterTemp+40 {
		t.Errorf("inverter %.0f °C, healthy %.0f °C: expected 40 K hotter", st.InverterTemp, hs.InverterTemp)
	}
	if d := hs.InverterTemp - hs.CoolantInlet; d < 5 || d > 50 {
		t.Errorf("healthy inverter %.0f K over its coolant, expected 5..50", d)
	}
	if st.MotorTemp > hs.MotorTemp+15 {
		t.Errorf("motor %.0f °C, healthy %.0f °C: the inverter's fault heats the motor", st.MotorTemp, hs.MotorTemp)
	}
	st, hs = step(15 * time.Minute)
	if st.MotorTorqueLimit >= 350 || st.InverterTemp < 100 {
		t.Errorf("after 30 min: inverter %.0f °C, torque limit %.0f Nm: expected derating above 100 °C", st.InverterTemp, st.MotorTorqueLimit)
	}
	if st.Trip > hs.Trip-1 {
		t.Errorf("derated car covered %.1f km, healthy %.1f km: expected it to fall behind", st.Trip, hs.Trip)
	}
}

// decodeAll returns the values of signal msg.sig in frames, with times.
func decodeAll(s *Sim, frames []can.Frame, msg, sig string) (ts []int64, vs []float64) {
	m := s.Config().DBC.Message(msg)
	for i := range frames {
		if frames[i].ID != m.ID {
			continue
		}
		for _, v := range m.Decode(&frames[i], nil) {
			if v.Signal.Name == sig {
				ts, vs = append(ts, frames[i].Time), append(vs, v.Value)
			}
		}
	}
	return ts, vs
}

func TestFaultSensors(t *testing.T) {
	t.Parallel()
	s := faulty(t, func(c *Config) { c.Scenario = PhaseWLTP },
		FaultSpec{Kind: FaultSensorStuck, Signal: "BMS_SOC.SOC", Start: 2 * time.Minute},
		FaultSpec{Kind: FaultSensorDrift, Signal: "BMS_Thermal.CoolantInletTemp", Severity: 10, Start: time.Minute, Ramp: 4 * time.Minute},
		FaultSpec{Kind: FaultSensorDropout, Signal: "BMS_PackStatus.PackCurrent", Start: time.Minute, End: 2 * time.Minute},
	)
	var frames []can.Frame
	var drift3, drift6 float64
	for s.Elapsed() < 10*time.Minute {
		s.Step(100 * time.Millisecond)
		st := s.State()
		n := len(frames)
		frames = s.Frames(st.Time.UnixNano(), frames)
		_, v := decodeAll(s, frames[n:], "BMS_Thermal", "CoolantInletTemp")
		if len(v) > 0 {
			switch st.Elapsed {
			case 3 * time.Minute:
				drift3 = v[len(v)-1] - st.CoolantInlet
			case 6 * time.Minute:
				drift6 = v[len(v)-1] - st.CoolantInlet
			}
		}
	}
	start := t0.UnixNano()
	// Stuck: the SOC on the bus freezes at 2 min while the car drives on.
	ts, soc := decodeAll(s, frames, "BMS_SOC", "SOC")
	var frozen []float64
	for i := range ts {
		if ts[i] >= start+int64(2*time.Minute+time.Second) {
			frozen = append(frozen, soc[i])
		}
	}
	if len(frozen) < 400 || slices.Min(frozen) != slices.Max(frozen) {
		t.Errorf("stuck SOC: %d frames after 2 min, range %v..%v: expected one value", len(frozen), slices.Min(frozen), slices.Max(frozen))
	}
	if st := s.State(); frozen[0]-st.SOC < 0.5 {
		t.Errorf("SOC froze at %.2f %%, the car is at %.2f %%: expected the truth to move on", frozen[0], st.SOC)
	}
	// Drift: half the 10 K offset after half the ramp, all of it after.
	if math.Abs(drift3-5) > 0.06 || math.Abs(drift6-10) > 0.06 {
		t.Errorf("coolant inlet reads %.2f K high at 3 min and %.2f K at 6 min, want 5 and 10", drift3, drift6)
	}
	// Dropout: no BMS_PackStatus frames from 1 to 2 min, then back.
	ts, _ = decodeAll(s, frames, "BMS_PackStatus", "PackCurrent")
	var in, after int
	for _, x := range ts {
		switch {
		case x >= start+int64(time.Minute) && x < start+int64(2*time.Minute):
			in++
		case x >= start+int64(2*time.Minute):
			after++
		}
	}
	if in != 0 || after < 20000 {
		t.Errorf("BMS_PackStatus: %d frames during the dropout, %d after", in, after)
	}
	// Active faults are listed with their levels.
	st := s.State()
	if len(st.Faults) != 2 || st.Faults[0].Name != "sensor_stuck" || st.Faults[1].Level != 1 {
		t.Errorf("active faults %+v", st.Faults)
	}
}

// rampProbe records the levels Apply sees and halves the pump flow.
type rampProbe struct{ levels []float64 }

func (r *rampProbe) Name() string { return "probe" }
func (r *rampProbe) Apply(p *Plant, level float64) {
	r.levels = append(r.levels, level)
	p.PumpFlow *= 0.5
	if e := p.Sensor("BMS_SOC.SOH"); e != nil {
		e.Mode, e.Offset = SensorDrift, -3
	}
}

func TestCustomFault(t *testing.T) {
	s := newSim(t, func(c *Config) { c.Scenario = PhaseIdle })
	probe := &rampProbe{}
	if err := s.InjectFault(probe, time.Second, 10*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	s.Step(6 * time.Second)
	// Ticks at 1.1 .. 5.9 s see levels 0.01 .. 0.49 (at 1.0 s the level is 0).
	if len(probe.levels) != 49 || math.Abs(probe.levels[0]-0.01) > 1e-9 || math.Abs(probe.levels[48]-0.49) > 1e-9 {
		t.Errorf("levels %v: expected 49 ticks ramping 0.01..0.49", probe.levels)
	}
	if s.plant.PumpFlow != 0.5 {
		t.Errorf("pump flow %v, want 0.5", s.plant.PumpFlow)
	}
	st := s.State()
	_, soh := decodeAll(s, s.Frames(st.Time.UnixNano(), nil), "BMS_SOC", "SOH")
	if len(soh) == 0 || math.Abs(soh[len(soh)-1]-(st.SOH-3)) > 0.051 {
		t.Errorf("SOH on the bus %v, state %.2f: expected 3 lower", soh, st.SOH)
	}
	if err := s.InjectFault(nil, 0, 0, 0); err == nil {
		t.Error("nil fault accepted")
	}
}

func TestInjectErrors(t *testing.T) {
	s := newSim(t, nil)
	for _, c := range []struct {
		spec FaultSpec
		want string
	}{
		{FaultSpec{Kind: "melt"}, `sim: fault Kind "melt": expected one of cell_short,`},
		{FaultSpec{Kind: FaultCellShort, Target: 96, Severity: 1}, "sim: fault cell_short: Target 96: expected a cell index 0..95"},
		{FaultSpec{Kind: FaultCellCapacity, Target: -1, Severity: 1}, "Target -1"},
		{FaultSpec{Kind: FaultCoolingLoss, Severity: 1.5}, "sim: fault cooling_loss: Severity 1.5: expected 0..1"},
		{FaultSpec{Kind: FaultSensorStuck, Signal: "BMS_SOC.Nope"}, `Signal "BMS_SOC.Nope": message BMS_SOC has no signal Nope`},
		{FaultSpec{Kind: FaultSensorStuck, Signal: "BMS_SOC"}, `a whole message can only drop out`},
		{FaultSpec{Kind: FaultSensorDropout, Signal: ""}, `Signal "": expected "Message.Signal"`},
		{FaultSpec{Kind: FaultSensorDrift, Signal: "BMS_SOC.SOC", Severity: math.Inf(1)}, "expected a finite offset"},
		{FaultSpec{Kind: FaultHVIL, Start: time.Minute, End: time.Second}, "End 0 or after Start"},
	} {
		err := s.Inject(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.spec, err, c.want)
		}
	}
}

// TestInsulationVariation: a healthy car's insulation reading in damp
// weather is its dry twin's (same seed, same temperatures) times
// 1 - Wet·h with the humidity h in 0..1, so between 0.4 and 1 of it for
// Wet 0.6; and while DC charging a 2 MΩ charger in parallel with the
// car's R reads R·2 MΩ/(R + 2 MΩ).
func TestInsulationVariation(t *testing.T) {
	t.Parallel()
	idle := func(c *Config) { c.Scenario, c.IdleTime = PhaseIdle, 10*time.Hour }
	wet := newSim(t, func(c *Config) { idle(c); c.InsulationWet = 0.6 })
	dry := newSim(t, idle)
	lo, hi := 2.0, 0.0
	for range 8 * 60 {
		wet.Step(time.Minute)
		dry.Step(time.Minute)
		r := wet.State().Insulation / dry.State().Insulation
		lo, hi = min(lo, r), max(hi, r)
	}
	if lo < 0.4-0.01 || hi > 1+0.01 {
		t.Errorf("damp/dry reading between %.3f and %.3f over 8 h, want within 0.4..1", lo, hi)
	}
	if lo > 0.75 {
		t.Errorf("damp/dry reading never below %.3f over 8 h: the humidity never came", lo)
	}
	dc := func(c *Config) { c.Scenario, c.ParkTime, c.InitialSOC, c.ChargeTarget = PhaseDC, -1, 10, 90 }
	ch := newSim(t, func(c *Config) { dc(c); c.ChargerInsulation = 2e6 })
	plain := newSim(t, dc)
	charged := false
	for range 20 {
		ch.Step(time.Minute)
		plain.Step(time.Minute)
		st, ps := ch.State(), plain.State()
		if st.Charge != ChargeDC || ps.Charge != ChargeDC {
			continue
		}
		charged = true
		want := ps.Insulation * 2e6 / (ps.Insulation + 2e6)
		if math.Abs(st.Insulation-want) > 0.03*want {
			t.Fatalf("DC charging: %.0f Ω, want %.0f Ω (car %.0f Ω ∥ charger 2 MΩ)", st.Insulation, want, ps.Insulation)
		}
	}
	if !charged {
		t.Fatal("never DC charging in 20 min")
	}
}

// TestCoolantHeater: at -15 °C a 5 kW coolant heater below 10 °C warms
// the idling pack through its coolant: the coolant runs over the coldest
// module, the pack ends warmer than its twin without a heater, the mode
// says heating, and the pack supplies the heater's 5 kW / 0.95 more.
func TestCoolantHeater(t *testing.T) {
	t.Parallel()
	cold := func(c *Config) { c.Scenario, c.IdleTime, c.Ambient = PhaseIdle, time.Hour, -15 }
	h := newSim(t, func(c *Config) { cold(c); c.CoolantHeater = 5000 })
	p := newSim(t, cold)
	h.Step(20 * time.Minute)
	p.Step(20 * time.Minute)
	hs, ps := h.State(), p.State()
	if hs.ThermalMode != ThermalHeating {
		t.Errorf("thermal mode %d, want heating (%d)", hs.ThermalMode, ThermalHeating)
	}
	if hs.CoolantInlet < hs.TempMin+5 {
		t.Errorf("coolant inlet %.1f °C, coldest module %.1f °C: want the coolant 5 K over the pack", hs.CoolantInlet, hs.TempMin)
	}
	if hs.TempMin < ps.TempMin+2 {
		t.Errorf("coldest module %.1f °C with the heater, %.1f °C without: want 2 K warmer", hs.TempMin, ps.TempMin)
	}
	extra := (hs.PackCurrent - ps.PackCurrent) * hs.PackVoltage
	if extra < 0.9*5000/0.95 || extra > 1.1*5000/0.95 {
		t.Errorf("pack supplies %.0f W more with the heater, want about %.0f W", extra, 5000/0.95)
	}
}

// TestFaultThermalRunaway: 150 W of self-heating in cell 40 (module 5 of
// the default 12, 8 cells each) of a parked car: the module (30 kJ/K) starts warming
// at 150/30e3 = 0.3 K/min and, with the pump off (12 % of 80 W/K to the
// coolant, 1.5 W/K to the air: 11.1 W/K), heads for 150/11.1 = 13.5 K over
// the coolant with a time constant of 30e3/11.1 = 45 min: after 1 h
// (1 - e^(-60/45) = 74 %) 10 K, less what the coolant loop takes up. The
// cell's micro short (0.3 S: about 1.1 A) makes it the lowest cell.
func TestFaultThermalRunaway(t *testing.T) {
	t.Parallel()
	edit := func(c *Config) { c.Scenario, c.ParkTime, c.Ambient = PhasePark, 3*time.Hour, 20 }
	s := faulty(t, edit, FaultSpec{Kind: FaultThermalRunaway, Target: 40, Severity: 1})
	h := newSim(t, edit)
	mod := 40 / (s.Config().Cells / s.Config().Modules)
	if mod != 5 {
		t.Fatalf("cell 40 is in module %d: the default pack changed", mod)
	}
	s.Step(10 * time.Minute)
	st := s.State()
	if d := st.ModuleTemps[mod] - st.ModuleTemps[0]; d < 2 || d > 3.1 {
		t.Errorf("after 10 min module %d is %.2f K over module 0, expected 2..3 K (0.3 K/min less losses)", mod, d)
	}
	s.Step(50 * time.Minute)
	h.Step(time.Hour)
	st, hs := s.State(), h.State()
	if d := st.ModuleTemps[mod] - st.ModuleTemps[0]; st.TempMaxIndex != mod || d < 7 || d > 10.5 {
		t.Errorf("after 1 h hottest module %d, %.1f K over module 0: expected module %d, 7..10.5 K", st.TempMaxIndex, d, mod)
	}
	if hs.TempMax-hs.TempMin > 1 {
		t.Errorf("healthy parked pack spreads %.1f K", hs.TempMax-hs.TempMin)
	}
	if st.CellMinIndex != 40 {
		t.Errorf("lowest cell %d, want 40 (micro short)", st.CellMinIndex)
	}
}

// TestFaultCharger: an 11 kW AC charge with the on-board charger at
// 1-0.9·0.5 = 55 % (Severity 0.5) charges at 55 % of the healthy current
// (less the car's own use while charging, the same in both); at Severity 1
// (10 %: 1.03 kW at 94 %) it barely covers the car's own consumption.
func TestFaultCharger(t *testing.T) {
	t.Parallel()
	ac := func(c *Config) {
		c.Scenario, c.ParkTime, c.InitialSOC, c.ChargeTarget, c.Ambient = PhaseAC, -1, 30, 90, 20
	}
	h := newSim(t, ac)
	s := faulty(t, ac, FaultSpec{Kind: FaultCharger, Severity: 0.5})
	d := faulty(t, ac, FaultSpec{Kind: FaultCharger, Severity: 1})
	h.Step(20 * time.Minute)
	s.Step(20 * time.Minute)
	d.Step(20 * time.Minute)
	hs, st, ds := h.State(), s.State(), d.State()
	if !hs.Charging || !st.Charging || hs.PackCurrent > -20 {
		t.Fatalf("not charging: healthy %v %.1f A, faulty %v", hs.Charging, hs.PackCurrent, st.Charging)
	}
	// Power into the pack: healthy P = 11e3·0.94 - aux, faulty 0.55·11e3·0.94 - aux.
	ph, pf := -hs.PackCurrent*hs.PackVoltage, -st.PackCurrent*st.PackVoltage
	aux := 11e3*0.94 - ph
	if want := 0.55*11e3*0.94 - aux; math.Abs(pf-want) > 0.05*want {
		t.Errorf("faulty charger puts %.0f W into the pack, healthy %.0f W (own use %.0f W): expected %.0f W ±5 %%", pf, ph, aux, want)
	}
	if math.Abs(ds.PackCurrent) > 3 {
		t.Errorf("charger at 10 %%: pack current %.1f A, expected within ±3 A", ds.PackCurrent)
	}
}
