package diag

import (
	"math"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/sim"
)

type feed map[string]float64

func (f feed) read(p string) (float64, bool) {
	v, ok := f[p]
	return v, ok
}

// run steps the rules once a second for d with the values in f, returning
// the transitions.
func run(r *Rules, t *time.Time, d time.Duration, f feed) []Alarm {
	var out []Alarm
	for end := t.Add(d); t.Before(end); *t = t.Add(time.Second) {
		out = append(out, r.Step(*t, f.read)...)
	}
	return out
}

const (
	pTMax = "Vehicle.Powertrain.TractionBattery.Temperature.Max"
	pTMin = "Vehicle.Powertrain.TractionBattery.Temperature.Min"
	pV    = "Vehicle.Powertrain.TractionBattery.CurrentVoltage"
	pIso  = "Vehicle.Private.EvedgeSim.InsulationResistance"
	pSOC  = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
	pHVIL = "Vehicle.Private.EvedgeSim.HVILClosed"
)

func TestRulesLevelsDebounceHysteresis(t *testing.T) {
	r := NewRules(nil)
	now := time.Unix(1_800_000_000, 0)
	f := feed{pTMax: 49, pTMin: 45}
	if a := run(r, &now, 10*time.Second, f); len(a) != 0 {
		t.Fatalf("49 °C alarmed: %v", a)
	}
	// 51 °C for 2 s only: debounced away.
	f[pTMax] = 51
	run(r, &now, 2*time.Second, f)
	f[pTMax] = 49
	if a := run(r, &now, 5*time.Second, f); len(a) != 0 {
		t.Fatalf("a 2 s excursion alarmed: %v", a)
	}
	f[pTMax] = 51
	a := run(r, &now, 5*time.Second, f)
	if len(a) != 1 || a[0].Item != BatteryHighTemp || a[0].Level != 1 || a[0].Threshold != 50 {
		t.Fatalf("51 °C: %+v", a)
	}
	f[pTMax] = 61 // and the spread 16 °C: temperature difference level 2
	a = run(r, &now, 5*time.Second, f)
	got := map[Item]int{}
	for _, x := range a {
		got[x.Item] = x.Level
	}
	if got[BatteryHighTemp] != 3 || got[TempDifference] != 2 {
		t.Fatalf("61 °C: %+v", a)
	}
	// 59.5 °C stays level 3 (within 2 % of 60); 58 drops to 2; 48 clears.
	f[pTMax], f[pTMin] = 59.5, 55
	for _, x := range run(r, &now, 5*time.Second, f) {
		if x.Item == BatteryHighTemp {
			t.Fatalf("59.5 °C changed the level: %+v", x)
		}
	}
	f[pTMax] = 58
	if a := run(r, &now, 5*time.Second, f); len(a) != 1 || a[0].Level != 2 {
		t.Fatalf("58 °C: %+v", a)
	}
	f[pTMax], f[pTMin] = 48, 45
	if a := run(r, &now, 5*time.Second, f); len(a) != 1 || a[0].Level != 0 || a[0].Item != BatteryHighTemp {
		t.Fatalf("48 °C: %+v", a)
	}
	if flags, hi := r.Flags(); flags != 0 || hi != 0 {
		t.Fatalf("flags %b level %d after clearing", flags, hi)
	}
}

func TestRulesInsulationHVILSOC(t *testing.T) {
	r := NewRules(nil)
	now := time.Unix(1_800_000_000, 0)
	// 360 V pack: 200 kΩ = 556 Ω/V fine; 150 kΩ = 417 Ω/V level 1;
	// 30 kΩ = 83 Ω/V level 3 (below GB 18384's 100 Ω/V).
	f := feed{pV: 360, pIso: 200, pSOC: 50, pHVIL: 1}
	if a := run(r, &now, 5*time.Second, f); len(a) != 0 {
		t.Fatalf("healthy: %v", a)
	}
	f[pIso] = 150
	if a := run(r, &now, 5*time.Second, f); len(a) != 1 || a[0].Item != Insulation || a[0].Level != 1 || math.Abs(a[0].Value-416.667) > 0.01 {
		t.Fatalf("150 kΩ: %+v", a)
	}
	f[pIso] = 30
	if a := run(r, &now, 5*time.Second, f); len(a) != 1 || a[0].Level != 3 {
		t.Fatalf("30 kΩ: %+v", a)
	}
	f[pHVIL] = 0
	if a := run(r, &now, 5*time.Second, f); len(a) != 1 || a[0].Item != HVInterlock || a[0].Level != 3 {
		t.Fatalf("interlock open: %+v", a)
	}
	// SOC 50 -> 57 within 10 s: a jump.
	f[pSOC] = 57
	if a := run(r, &now, 4*time.Second, f); len(a) != 1 || a[0].Item != SOCJump || a[0].Level != 1 {
		t.Fatalf("SOC jump: %+v", a)
	}
	flags, hi := r.Flags()
	if want := uint32(1<<Insulation | 1<<HVInterlock | 1<<SOCJump); flags != want || hi != 3 {
		t.Errorf("flags %b (want %b) level %d", flags, want, hi)
	}
	// Missing inputs never alarm.
	r2 := NewRules(nil)
	if a := run(r2, &now, 10*time.Second, feed{}); len(a) != 0 {
		t.Errorf("no inputs: %v", a)
	}
}

func TestParseLimits(t *testing.T) {
	l, err := ParseLimits(map[string][]float64{"battery_high_temperature": {45, 50, 55}, "soc_low": {20, 10, 5}})
	if err != nil || l[BatteryHighTemp] != (Thresholds{45, 50, 55}) {
		t.Fatalf("%v %v", l, err)
	}
	for _, bad := range []map[string][]float64{
		{"battery_hot": {1, 2, 3}},
		{"soc_low": {5, 10, 20}},
		{"battery_high_temperature": {60, 50, 40}},
		{"insulation": {500, 100}},
	} {
		if _, err := ParseLimits(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// simRead maps the simulated car's state onto the rules' default inputs.
func simRead(s *sim.State) Read {
	b := func(x bool) float64 {
		if x {
			return 1
		}
		return 0
	}
	m := map[string]float64{
		pSOC: s.SOC, pV: s.PackVoltage, pTMax: s.TempMax, pTMin: s.TempMin, pIso: s.Insulation / 1000, pHVIL: b(s.HVIL),
		"Vehicle.Powertrain.TractionBattery.CurrentCurrent":      s.PackCurrent,
		"Vehicle.Powertrain.TractionBattery.CellVoltage.Max":     s.CellMax,
		"Vehicle.Powertrain.TractionBattery.CellVoltage.Min":     s.CellMin,
		"Vehicle.Powertrain.TractionBattery.DCDC.Temperature":    s.DCDCTemp,
		"Vehicle.Private.EvedgeSim.DCDCState":                    float64(s.DCDC),
		"Vehicle.Private.EvedgeSim.InverterTemperature":          s.InverterTemp,
		"Vehicle.Powertrain.ElectricMotor.Temperature":           s.MotorTemp,
		"Vehicle.Private.EvedgeSim.InverterDCVoltage":            s.LinkVoltage,
		"Vehicle.Powertrain.TractionBattery.Charging.IsCharging": b(s.Charging),
	}
	return func(p string) (float64, bool) { v, ok := m[p]; return v, ok }
}

func simRun(t *testing.T, seed uint64, d time.Duration, faults ...sim.FaultSpec) (*Rules, map[Item]int) {
	t.Helper()
	db, cycles, err := sim.LoadDBC("../../board/sim/sim-ev.dbc")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.DBC, cfg.Cycles, cfg.Seed = db, cycles, seed
	car, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range faults {
		if err := car.Inject(f); err != nil {
			t.Fatal(err)
		}
	}
	r := NewRules(nil)
	worst := map[Item]int{}
	for e := time.Duration(0); e < d; e += time.Second {
		car.Step(time.Second)
		s := car.State()
		for _, a := range r.Step(s.Time, simRead(&s)) {
			worst[a.Item] = max(worst[a.Item], a.Level)
		}
	}
	return r, worst
}

// TestRulesOnSimulatedCar: a healthy car driving and charging for 6 h
// raises nothing; injected faults raise their items.
func TestRulesOnSimulatedCar(t *testing.T) {
	healthy := 6 * time.Hour
	if testing.Short() {
		healthy = time.Hour // the emulated ARM runs are 30x slower
	}
	if _, worst := simRun(t, 3, healthy); len(worst) != 0 {
		t.Errorf("healthy car: %v", worst)
	}
	_, worst := simRun(t, 3, 30*time.Minute, sim.FaultSpec{Kind: sim.FaultInsulation, Severity: 1, Start: 5 * time.Minute, Ramp: 10 * time.Minute})
	if worst[Insulation] == 0 {
		t.Errorf("insulation fault not raised: %v", worst)
	}
	_, worst = simRun(t, 3, 10*time.Minute, sim.FaultSpec{Kind: sim.FaultHVIL, Severity: 1, Start: time.Minute})
	if worst[HVInterlock] != 3 {
		t.Errorf("interlock fault: %v", worst)
	}
}
