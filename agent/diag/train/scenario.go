package train

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/sim"
)

// Classes are the model's outputs, in order; index 0 is normal. The model
// has no thermal_runaway_precursor and no charger_fault class although the
// sim has both faults (sim.FaultThermalRunaway, sim.FaultCharger): trained
// with a thermal runaway class (models/fault/README.md, round 10) it
// alarmed on the other simulator's healthy winter commute and took other
// faults' detections; a derated charger is invisible without the car's
// charger rating. The monitor checks (diag.ChargerCheck,
// diag.ThermalCheck) report both instead.
var Classes = []string{
	"normal",
	"cell_internal_short",
	"cell_capacity_outlier",
	"cooling_loss",
	"insulation_degradation",
	"weak_12v_battery",
	"contactor_precharge_fault",
	"motor_inverter_overheating",
	"sensor_fault",
}

// ClassOf maps a sim fault kind to its class index; false for kinds the
// model does not learn (hvil: the GB/T rules report it directly).
// cell_resistance is a cell outlier like cell_capacity: both make one cell
// sag or swing more than the others, so they share a class.
func ClassOf(k sim.FaultKind) (int, bool) {
	switch k {
	case sim.FaultCellShort:
		return 1, true
	case sim.FaultCellCapacity, sim.FaultCellResistance:
		return 2, true
	case sim.FaultCoolingLoss:
		return 3, true
	case sim.FaultInsulation:
		return 4, true
	case sim.FaultWeak12V:
		return 5, true
	case sim.FaultPrecharge, sim.FaultContactor:
		return 6, true
	case sim.FaultMotorOverheat:
		return 7, true
	case sim.FaultSensorStuck, sim.FaultSensorDrift, sim.FaultSensorDropout:
		return 8, true
	}
	return 0, false
}

// faultKinds are the kinds scenarios draw from.
var faultKinds = []sim.FaultKind{
	sim.FaultCellShort, sim.FaultCellCapacity, sim.FaultCellResistance, sim.FaultCoolingLoss,
	sim.FaultInsulation, sim.FaultWeak12V, sim.FaultPrecharge, sim.FaultContactor,
	sim.FaultMotorOverheat, sim.FaultSensorStuck, sim.FaultSensorDrift, sim.FaultSensorDropout,
}

// LabelLevel is the fault level (ramp progress, severity aside) from which
// a window of a contactor or sensor fault carries its fault's class; the
// other kinds use a physical criterion (Visible).
const LabelLevel = 0.2

// Visible reports whether sc's fault is physically visible at elapsed
// time t, the definition of a fault window for training and for the
// window metrics (AUROC): a window of a faulty run carries the fault's
// class once its physical effect is at least
//
//   - cell_short: charge lost to the short ≥ shortVisibleFrac of the cell's
//     capacity (about 3.7 V·Severity·level S integrated over time; 0.5 %
//     is a few mV of OCV offset, above the cells' own spread);
//   - cell_capacity: capacity deficit 0.5·Severity·level ≥ 10 %;
//   - cell_resistance: resistance up 4·Severity·level ≥ 100 % (doubled);
//   - cooling_loss: delivered flow down Severity·level ≥ 30 % (the cooling
//     ratio UA/(ṁ·c_p) up ≥ 40 %);
//   - motor_overheat: motor cooling down 0.95·Severity·level ≥ 30 %;
//   - insulation: leak Severity·level/10 kΩ, ≥ 0.05 (under 200 kΩ, a tenth
//     of the lowest healthy car);
//   - weak_12v: Severity·level ≥ 0.2; precharge: Severity·level ≥ 0.1
//     (the link no longer precharges in time);
//   - contactor and sensor faults: level ≥ LabelLevel;
//
// and, for a cooling loss, only while the pack needs cooling (relabel).
//
// Windows of a faulty run where the fault is present but not yet visible
// are left out of training and of the window metrics; windows before the
// fault starts are healthy driving.
func Visible(sc Scenario, t time.Duration) bool {
	f := sc.Fault
	if f == nil || t < f.Start {
		return false
	}
	l := 1.0
	if f.Ramp > 0 {
		l = min(1, float64(t-f.Start)/float64(f.Ramp))
	}
	e := f.Severity * l
	switch f.Kind {
	case sim.FaultCellShort:
		// ∫ l dt in hours: ramp part then full level.
		dt := (t - f.Start).Hours()
		r := f.Ramp.Hours()
		var il float64
		if dt <= r {
			il = dt * dt / (2 * r)
		} else {
			il = r/2 + (dt - r)
		}
		lost := 3.7 * f.Severity * il // Ah
		capAh := sc.Config.CellCapacity * sc.Config.SOH / 100
		return capAh > 0 && lost >= shortVisibleFrac*capAh
	case sim.FaultCellCapacity:
		return 0.5*e >= 0.1
	case sim.FaultCellResistance:
		return 4*e >= 1
	case sim.FaultCoolingLoss:
		return e >= 0.3
	case sim.FaultMotorOverheat:
		return 0.95*e >= 0.3
	case sim.FaultInsulation:
		return e >= 0.05
	case sim.FaultWeak12V:
		return e >= 0.2
	case sim.FaultPrecharge:
		return e >= 0.1
	}
	return l >= LabelLevel
}

// shortVisibleFrac is the share of a cell's capacity a short must have
// drained before its windows count as faulty (Visible).
const shortVisibleFrac = 0.005

// inputSignals are the sim DBC signals carrying each model input: samples
// take their resolution and range, and sensor faults act on them.
var inputSignals = [diag.NumModelInputs]string{
	diag.InCellMax:      "BMS_CellStats.CellVoltageMax",
	diag.InCellMin:      "BMS_CellStats.CellVoltageMin",
	diag.InCellAvg:      "BMS_CellStats.CellVoltageAvg",
	diag.InTempMax:      "BMS_TempStats.CellTempMax",
	diag.InTempMin:      "BMS_TempStats.CellTempMin",
	diag.InPackV:        "BMS_PackStatus.PackVoltage",
	diag.InPackI:        "BMS_PackStatus.PackCurrent",
	diag.InSOC:          "BMS_SOC.SOC",
	diag.InCoolantIn:    "BMS_Thermal.CoolantInletTemp",
	diag.InCoolantOut:   "BMS_Thermal.CoolantOutletTemp",
	diag.InPumpDuty:     "BMS_Thermal.CoolantPumpDuty",
	diag.InInsulation:   "IMD_Status.InsulationResistance",
	diag.InLVVoltage:    "IBS_LVBattery.LVBattVoltage",
	diag.InMotorTemp:    "MCU_Temps.MotorTemp",
	diag.InInverterTemp: "MCU_Temps.InverterTemp",
	diag.InTorque:       "MCU_Status.MotorTorque",
	diag.InSpeed:        "VCU_Drive.VehicleSpeed",
	diag.InCharging:     "OBC_ChargeStatus.ChargingActive",
	diag.InAmbient:      "BCM_Ambient.AmbientTemp",
}

// sensorTargets are the inputs sensor faults act on, with the drift range
// in DBC units.
var sensorTargets = []struct {
	in    int
	drift float64
}{
	{diag.InTempMax, 12}, {diag.InCellMin, 0.12}, {diag.InCoolantIn, 12},
	{diag.InMotorTemp, 25}, {diag.InPackI, 40},
}

// Scenario is one simulated run.
type Scenario struct {
	Config sim.Config
	Hours  float64
	Fault  *sim.FaultSpec // nil: healthy
	Input  int            // the input a sensor fault acts on
	Class  int
	View   Presentation
	// Breaks are pauses in the data while the car goes on (asleep, or a
	// logger off), in time order; the model's stream continues after each
	// as the agent's detector does (diag.Stream.Continue).
	Breaks []Break
}

// Break is a pause in a scenario's data: no samples in (At, At+Gap].
type Break struct{ At, Gap time.Duration }

// drawBreaks gives half the scenarios one or two pauses in their data of
// 1..180 min (Options.Breaks), from their own random stream seeded by the
// scenario's seed (its other draws stay as they were). A pause longer than diag.RunGap starts a new run
// with only the same-SOC cell gaps remembered, so the model learns to
// find a fault again after the car slept, from that memory and from the
// windows since. A sensor dropout's run pauses only before the onset: a
// new run does not know which inputs the car sent before it.
func drawBreaks(sc *Scenario) {
	rng := rand.New(rand.NewPCG(sc.Config.Seed, 0xb4ea4))
	n := 0
	switch r := rng.Float64(); {
	case r < 0.35:
		n = 1
	case r < 0.5:
		n = 2
	}
	end := time.Duration(sc.Hours*float64(time.Hour)) - 20*time.Minute
	if sc.Fault != nil && sc.Fault.Kind == sim.FaultSensorDropout {
		end = min(end, sc.Fault.Start)
	}
	for range n {
		if end < 12*time.Minute {
			break
		}
		at := (10*time.Minute + time.Duration(rng.Float64()*float64(end-11*time.Minute))).Truncate(time.Second)
		most := min(180, int((end-at)/time.Minute))
		gap := time.Duration(1+rng.IntN(most)) * time.Minute
		sc.Breaks = append(sc.Breaks, Break{At: at, Gap: gap})
	}
	slices.SortFunc(sc.Breaks, func(a, b Break) int { return cmp.Compare(a.At, b.At) })
	// Overlapping pauses merge into the first.
	out := sc.Breaks[:0]
	for _, b := range sc.Breaks {
		if k := len(out); k > 0 && b.At <= out[k-1].At+out[k-1].Gap {
			out[k-1].Gap = max(out[k-1].Gap, b.At+b.Gap-out[k-1].At)
			continue
		}
		out = append(out, b)
	}
	sc.Breaks = out
}

// Presentation is how the car's ECUs report what the sim computes. Other
// cars' BMSs report temperatures in whole degrees and place their
// thermistors where healthy modules read a degree or two apart; the model
// must not take either for a fault.
type Presentation struct {
	TempStep float64 // resolution of the temperature inputs, °C (0: the DBC's)
	// HotOffset is added to the hottest module's reading and ColdOffset
	// taken from the coolest's, °C.
	HotOffset, ColdOffset float64
	// MotorOffset is added to the motor's and the inverter's readings, °C:
	// cars whose drive unit has its own coolant loop run it warmer or
	// colder than the battery's coolant that the sim's shared loop gives.
	MotorOffset float64
}

var tempInputs = [...]int{diag.InTempMax, diag.InTempMin, diag.InCoolantIn, diag.InCoolantOut, diag.InMotorTemp, diag.InInverterTemp, diag.InAmbient}

func (p Presentation) apply(s *diag.Sample) {
	s[diag.InTempMax] += p.HotOffset
	s[diag.InTempMin] -= p.ColdOffset
	s[diag.InMotorTemp] += p.MotorOffset
	s[diag.InInverterTemp] += p.MotorOffset
	if p.TempStep > 0 {
		for _, i := range tempInputs {
			s[i] = math.Round(s[i]/p.TempStep) * p.TempStep // NaN stays NaN
		}
	}
}

// randomize draws the car's presentation and the parts of its climate
// control that vary most between makes, from their own random stream (the
// scenario's other draws stay as they were): the chiller's coolant set
// point (15..32 °C; a cold set point keeps a fast-charging pack 10-15 K
// above its coolant), below 10 °C cabin and battery heating that draws up
// to 8 kW more at -20 °C, also at a standstill, the motor's thermal
// design, how the insulation monitor's healthy reading varies and the
// modules' coupling to the coolant.
func randomize(sc *Scenario, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x9e5e17a7))
	switch r := rng.Float64(); {
	case r < 0.4:
		sc.View.TempStep = 1
	case r < 0.6:
		sc.View.TempStep = 0.5
	}
	if rng.IntN(5) < 3 {
		sc.View.HotOffset, sc.View.ColdOffset = 1.5*rng.Float64(), rng.Float64()
	}
	if rng.IntN(2) == 0 {
		sc.View.MotorOffset = -10 + 50*rng.Float64()
	}
	sc.Config.ChillerSet = 15 + 17*rng.Float64()
	if a := sc.Config.Ambient; a < 10 {
		sc.Config.AuxPower += 8000 * (10 - a) / 30 * rng.Float64()
	}
	// The drive unit's thermal design varies as much between makes: heat
	// capacity 8..60 kJ/K and conductance to the coolant 25..90 W/K
	// (log-uniform: time constants of 1.5 to 40 min), losses 0.6..1.6
	// times the simulator's. A healthy motor then runs 5 to 50 K over its
	// coolant on a motorway and may take half an hour to cool down.
	sc.Config.MotorHeatCap = 8e3 * math.Pow(60.0/8, rng.Float64())
	sc.Config.MotorCoolUA = 25 * math.Pow(90.0/25, rng.Float64())
	sc.Config.MotorLossScale = 0.6 + rng.Float64()
	// Insulation monitors read a healthy car lower when it is warm (1..3.5 %
	// per K), in damp weather (a third of the cars: dips of 20..60 %) and
	// with a DC charger's own insulation in parallel (half the cars:
	// 1..10 MΩ).
	sc.Config.InsulationTempCoef = 0.01 + 0.025*rng.Float64()
	if rng.IntN(3) == 0 {
		sc.Config.InsulationWet = 0.2 + 0.4*rng.Float64()
	}
	if rng.IntN(2) == 0 {
		sc.Config.ChargerInsulation = 1e6 * math.Pow(10, rng.Float64())
	}
	// How well the cells reach the cooling plate (thermal pads, plate
	// design): 30..160 W/K per module (log-uniform), so a pack under load
	// in the cold may run 10 K and more over a coolant the radiator chills.
	sc.Config.ModuleCoolUA = 30 * math.Pow(160.0/30, rng.Float64())
	// A coolant heater (sim.Config.CoolantHeater) drawn for half the cars
	// was tried and not kept (round 9 in models/fault/README.md).
}

var scenarioMixes = []string{
	"loop",
	"urban,highway,park,dc,wltp",
	"wltp,idle,ac,urban",
	"highway,dc,highway,urban",
	"urban,park,urban,ac",
	"idle,urban,wltp,park,highway",
	"highway,wltp,urban",
	"ac,urban,highway",
	"urban,urban,idle,park,urban",
	"dc,highway,wltp",
}

// randomConfig draws a vehicle and its use.
func randomConfig(db *signals.Database, rng *rand.Rand, seed uint64) sim.Config {
	c := sim.DefaultConfig()
	c.DBC = db
	c.Seed = seed
	c.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Ambient = -20 + 65*rng.Float64()
	c.SOH = 70 + 30*rng.Float64()
	c.CapacitySpread = 0.002 + 0.02*rng.Float64()
	c.ResistanceSpread = 0.01 + 0.12*rng.Float64()
	c.SOCSpread = 0.1 + 0.8*rng.Float64()
	c.InitialSOC = 20 + 75*rng.Float64()
	c.Insulation = 2e6 + 8e6*rng.Float64()
	c.Mass = 1600 + 700*rng.Float64()
	c.AuxPower = 150 + 2500*rng.Float64()
	c.LVLoad = 150 + 600*rng.Float64()
	c.Scenario = scenarioMixes[rng.IntN(len(scenarioMixes))]
	c.ParkTime = time.Duration(1+rng.IntN(15)) * time.Minute
	c.IdleTime = time.Duration(2+rng.IntN(10)) * time.Minute
	c.ChargeTarget = 70 + 30*rng.Float64()
	c.ChargeBelow = 15 + 20*rng.Float64()
	// The car itself: pack size and cells, drive and chargers, so that the
	// model learns from relations between signals, not one car's values.
	c.Cells = []int{84, 96, 108}[rng.IntN(3)]
	c.Modules = 12
	c.CellCapacity = 120 + 120*rng.Float64()
	c.CellR0 = 0.00022 * (0.6 + rng.Float64())
	c.CellR1 = 0.00012 * (0.6 + rng.Float64())
	c.CellTau = 15 + 45*rng.Float64()
	c.MotorPower = 100 + 150*rng.Float64()
	c.MotorTorque = 250 + 200*rng.Float64()
	c.RegenPower = c.MotorPower * (0.4 + 0.4*rng.Float64())
	c.DragArea = 0.5 + 0.3*rng.Float64()
	c.ACPower = 3.7 + 18.3*rng.Float64()
	c.DCPower = 50 + 200*rng.Float64()
	c.DCCurrent = 200 + 300*rng.Float64()
	return c
}

// slowFault reports whether kind develops over hours (a cell's
// self-discharge, a failing pump): its runs continue well past the ramp
// so the fault can develop, as on a car between services.
func slowFault(kind sim.FaultKind) bool {
	return kind == sim.FaultCellShort || kind == sim.FaultCoolingLoss
}

// newScenario draws scenario seed: healthy when kind is "", otherwise with
// that fault starting 10..60 min in, ramping over 0..60 min, severity
// 0.3..1; the run lasts minH..maxH hours and at least 30 min past onset,
// a slow fault (slowFault) at least slowH past the end of its ramp.
func newScenario(db *signals.Database, seed uint64, kind sim.FaultKind, minH, maxH float64) Scenario {
	return newScenarioSlow(db, seed, kind, minH, maxH, 0)
}

func newScenarioSlow(db *signals.Database, seed uint64, kind sim.FaultKind, minH, maxH, slowH float64) Scenario {
	rng := rand.New(rand.NewPCG(seed, 0x5ce7a210))
	sc := Scenario{Config: randomConfig(db, rng, seed), Hours: minH + (maxH-minH)*rng.Float64()}
	randomize(&sc, seed)
	if kind == "" {
		return sc
	}
	start := time.Duration(10+50*rng.Float64()) * time.Minute
	ramp := time.Duration(60*rng.Float64()) * time.Minute
	spec := sim.FaultSpec{Kind: kind, Start: start, Ramp: ramp, Severity: 0.3 + 0.7*rng.Float64(),
		Target: rng.IntN(sc.Config.Cells)}
	switch kind {
	case sim.FaultSensorStuck, sim.FaultSensorDrift, sim.FaultSensorDropout:
		t := sensorTargets[rng.IntN(len(sensorTargets))]
		sc.Input = t.in
		spec.Signal = inputSignals[t.in]
		if kind == sim.FaultSensorDrift {
			spec.Severity *= t.drift
			if rng.IntN(2) == 0 {
				spec.Severity = -spec.Severity
			}
		}
	}
	sc.Hours = max(sc.Hours, (start+ramp).Hours()*0.5+start.Hours()+0.5)
	if slowFault(kind) {
		sc.Hours = max(sc.Hours, (start+ramp).Hours()+slowH)
	}
	sc.Fault = &spec
	sc.Class, _ = ClassOf(kind)
	return sc
}

// NumInputs is the model's input count: the window features
// (diag.Features) then the long-horizon features (diag.LongFeatures).
const NumInputs = diag.NumInputs

// InputNames name the model inputs, in order.
func InputNames() []string { return diag.InputNames() }

// Window is the model inputs of one 60 s window with its label.
type Window struct {
	F     [NumInputs]float32
	Class int     // ground truth: the fault's class once it is visible (relabel), else 0
	Level float64 // fault level at the window's end
	End   time.Duration
	// Exercised says the car's operation has let the fault show (from the
	// plant's state, see exerciser): a precharge fault once a contactor
	// close has failed, a weak 12 V battery once it carried the 12 V bus
	// with the DC-DC off, a small cell while its SOC is 1 % or more away
	// from where the fault's onset left it, a resistive cell while the
	// window's RMS pack current makes its extra drop 5 mV or more. Always
	// true for the other kinds.
	Exercised bool
	// Restart marks the first window after a pause that started a new
	// run (Scenario.Breaks): the detector's smoothing starts over there.
	Restart bool
}

// Run is the outcome of simulating a scenario.
type Run struct {
	Windows []Window
	// RuleTrip is when the first of the rules the fault should trip
	// (RulesFor) reached level 1 or more after the fault's onset while
	// it did not in a fault-free twin of the run (simulate); -1 when none
	// did.
	RuleTrip time.Duration
	Duration time.Duration
	// Raises are the monitor checks (diag.NewChecks) raised during the
	// run, stepped on the same samples as the model.
	Raises []Raise
}

// Raise is a monitor check raised at At (time since the run's start).
type Raise struct {
	At     time.Duration
	Check  string
	Fault  string
	Detail string // the evidence, name=value sorted by name
}

// RulesFor returns the GB/T 32960.3 items whose alarm a fault class
// eventually raises, for the lead-time metric; nil when none is tracked.
func RulesFor(class int) []diag.Item {
	switch class {
	case 1:
		return []diag.Item{diag.CellConsistency, diag.CellUnderVoltage}
	case 3:
		return []diag.Item{diag.BatteryHighTemp, diag.TempDifference}
	}
	return nil
}

// quantizer rounds values to their DBC signal's resolution and range.
type quantizer struct {
	factor, offset, lo, hi [diag.NumModelInputs]float64
}

func newQuantizer(db *signals.Database) (*quantizer, error) {
	q := &quantizer{}
	for i, name := range inputSignals {
		msg, sig, _ := cutDot(name)
		m := db.Message(msg)
		if m == nil || m.Signal(sig) == nil {
			return nil, fmt.Errorf("train: DBC has no signal %s", name)
		}
		s := m.Signal(sig)
		q.factor[i], q.offset[i], q.lo[i], q.hi[i] = s.Factor, s.Offset, s.Min, s.Max
	}
	return q, nil
}

func cutDot(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func (q *quantizer) apply(s *diag.Sample) {
	for i, v := range s {
		if math.IsNaN(v) {
			continue
		}
		v = math.Round((v-q.offset[i])/q.factor[i])*q.factor[i] + q.offset[i]
		s[i] = math.Max(q.lo[i], math.Min(q.hi[i], v))
	}
}

// sample maps the sim state to model inputs in DBC units.
func sample(st *sim.State) diag.Sample {
	var s diag.Sample
	s[diag.InCellMax] = st.CellMax
	s[diag.InCellMin] = st.CellMin
	s[diag.InCellAvg] = st.CellAvg
	s[diag.InTempMax] = st.TempMax
	s[diag.InTempMin] = st.TempMin
	s[diag.InPackV] = st.PackVoltage
	s[diag.InPackI] = st.PackCurrent
	s[diag.InSOC] = st.SOC
	s[diag.InCoolantIn] = st.CoolantInlet
	s[diag.InCoolantOut] = st.CoolantOutlet
	s[diag.InPumpDuty] = st.PumpDuty
	s[diag.InInsulation] = st.Insulation / 1000
	s[diag.InLVVoltage] = st.LVVoltage
	s[diag.InMotorTemp] = st.MotorTemp
	s[diag.InInverterTemp] = st.InverterTemp
	s[diag.InTorque] = st.MotorTorque
	s[diag.InSpeed] = math.Abs(st.Speed)
	if st.Charging {
		s[diag.InCharging] = 1
	}
	s[diag.InAmbient] = st.Ambient
	return s
}

// sensorFault applies a sensor fault to the samples, second by second,
// as the sim's transmitter acts on the frame: stuck holds the reading of
// the first faulty second, drift adds Severity × level, dropout leaves
// the input missing.
type sensorFault struct {
	held     float64
	haveHeld bool
}

func (f *sensorFault) apply(sc Scenario, cur *diag.Sample, level float64) {
	if sc.Fault == nil || level <= 0 {
		return
	}
	in := sc.Input
	switch sc.Fault.Kind {
	case sim.FaultSensorStuck:
		if !f.haveHeld {
			f.held, f.haveHeld = cur[in], true
		}
		cur[in] = f.held
	case sim.FaultSensorDrift:
		cur[in] += sc.Fault.Severity * level
	case sim.FaultSensorDropout:
		cur[in] = math.NaN()
	}
}

// powerConnected is the sim's main positive contactor as the BMS reports
// it (VSS IsPowerConnected): closed only in the Closed state.
func powerConnected(st *sim.State) float64 {
	if st.Contactor == sim.ContactorClosed {
		return 1
	}
	return 0
}

// simulate runs sc stepping 1 s and returns its windows: every 60 s the
// features of the last 60 samples. Sensor faults act on the sample as the
// sim's transmitter acts on the frame (stuck holds, drift adds, dropout
// leaves the input missing), since sim.State carries true values. The
// GB/T rules run on the same samples.
func simulate(sc Scenario, q *quantizer) (Run, error) {
	s, err := sim.New(sc.Config)
	if err != nil {
		return Run{}, err
	}
	if sc.Fault != nil {
		if err := s.Inject(*sc.Fault); err != nil {
			return Run{}, err
		}
	}
	total := time.Duration(sc.Hours * float64(time.Hour)).Truncate(time.Minute)
	run := Run{RuleTrip: -1, Duration: total}
	// The lead-time metric needs the trip the fault causes, not one the car
	// would have had anyway (a healthy pack near empty trips the cell
	// consistency and under-voltage items too): the rules also run on a
	// fault-free twin of the run (same car, seed and drive), and a trip
	// counts only after the fault's onset while the twin's rule is quiet.
	var rules, twinRules *diag.Rules
	var twin *sim.Sim
	var watch []diag.Item
	if sc.Fault != nil {
		watch = RulesFor(sc.Class)
		if watch != nil {
			rules, twinRules = diag.NewRules(nil), diag.NewRules(nil)
			if twin, err = sim.New(sc.Config); err != nil {
				return Run{}, err
			}
		}
	}
	var stream diag.Stream
	checks := diag.NewChecks()
	var cur, twinCur diag.Sample
	// The rules and checks read VSS values, as in the agent: VSS counts
	// the pack current positive into the battery, the samples (like the
	// BMS frames) positive out of it.
	// The main contactors' state (not a model input) for the checks that
	// read it, as the sim's BMS_HVStatus.MainPositiveClosed reports it.
	var connected, twinConnected float64
	reader := func(x *diag.Sample, conn *float64) func(string) (float64, bool) {
		return func(path string) (float64, bool) {
			if path == diag.PowerConnectedPath {
				return *conn, true
			}
			switch path {
			case diag.DriveCoolantPath:
				// One loop cools the sim's pack, motor and inverter:
				// its drive coolant is the pack's inlet, its pump
				// the pack's.
				return x[diag.InCoolantIn], !math.IsNaN(x[diag.InCoolantIn])
			case diag.DrivePumpPath:
				return x[diag.InPumpDuty], !math.IsNaN(x[diag.InPumpDuty])
			}
			for i, p := range diag.ModelInputPaths {
				if p == path {
					if i == diag.InPackI {
						return -x[i], !math.IsNaN(x[i])
					}
					return x[i], !math.IsNaN(x[i])
				}
			}
			return 0, false
		}
	}
	read, twinRead := reader(&cur, &connected), reader(&twinCur, &twinConnected)
	tripped := func(r *diag.Rules) bool {
		for _, a := range r.Active() {
			if a.Level >= 1 && slices.Contains(watch, a.Item) {
				return true
			}
		}
		return false
	}
	var in [NumInputs]float32
	var sensor sensorFault
	var ex exerciser
	nb := 0          // the next break
	restart := false // the next window starts a new run
	n := int(total / time.Second)
	for k := 1; k <= n; k++ {
		s.Step(time.Second)
		st := s.State()
		cur = sample(&st)
		connected = powerConnected(&st)
		level := 0.0
		if len(st.Faults) > 0 {
			level = st.Faults[0].Level
		}
		sensor.apply(sc, &cur, level)
		q.apply(&cur)
		sc.View.apply(&cur)
		ex.step(sc, &st, level)
		if rules != nil && run.RuleTrip < 0 {
			twin.Step(time.Second)
			tst := twin.State()
			twinCur = sample(&tst)
			twinConnected = powerConnected(&tst)
			q.apply(&twinCur)
			sc.View.apply(&twinCur)
			rules.Step(st.Time, read)
			twinRules.Step(tst.Time, twinRead)
			if st.Elapsed >= sc.Fault.Start && tripped(rules) && !tripped(twinRules) {
				run.RuleTrip = st.Elapsed
			}
		}
		if nb < len(sc.Breaks) && st.Elapsed > sc.Breaks[nb].At {
			b := sc.Breaks[nb]
			if st.Elapsed <= b.At+b.Gap {
				continue // no data: the car goes on
			}
			if b.Gap > diag.RunGap {
				stream.Continue(b.Gap)
				restart = true
			}
			nb++
		}
		for _, c := range checks {
			if ch := c.Step(st.Time, read); ch != nil && ch.Raised {
				var ev []string
				for _, k := range slices.Sorted(maps.Keys(ch.Evidence)) {
					ev = append(ev, fmt.Sprintf("%s=%.4g", k, ch.Evidence[k]))
				}
				run.Raises = append(run.Raises, Raise{At: st.Elapsed, Check: ch.Check, Fault: ch.Fault, Detail: strings.Join(ev, " ")})
			}
		}
		if ok, _ := stream.Push(cur, in[:]); !ok {
			continue
		}
		run.Windows = append(run.Windows, Window{F: in, Level: level, End: st.Elapsed, Exercised: ex.window(sc, &in, level), Restart: restart})
		restart = false
	}
	relabel(sc, run)
	return run, nil
}

// Exercise thresholds: a small cell's SOC must have moved exerciseSOC
// (fraction) away from where the onset left it relative to the pack (1 %:
// 5..9 mV on an NMC curve's flat middle); a resistive cell's extra drop at
// the window's RMS current must reach exerciseDrop volts.
const (
	exerciseSOC  = 0.01
	exerciseDrop = 0.005
)

// exerciser follows, second by second, whether the car's operation lets
// a fault show (Window.Exercised): ground truth from the plant's state
// (for the resistive cell, the window's RMS pack current with the fault's
// known resistance), for the labels only, never a model input.
type exerciser struct {
	latched  bool    // precharge, weak_12v: shown once, shown for the run
	soc0     float64 // cell_capacity: the cell's SOC minus the pack's at the onset
	haveSOC0 bool
	socMoved bool // at the last second
}

func (e *exerciser) step(sc Scenario, st *sim.State, level float64) {
	f := sc.Fault
	if f == nil || level <= 0 {
		return
	}
	switch f.Kind {
	case sim.FaultPrecharge:
		e.latched = e.latched || (Visible(sc, st.Elapsed) && st.Contactor == sim.ContactorFault)
	case sim.FaultWeak12V:
		e.latched = e.latched || (Visible(sc, st.Elapsed) && st.DCDC == sim.DCDCOff)
	case sim.FaultCellCapacity:
		if f.Target < 0 || f.Target >= len(st.CellSOC) {
			return
		}
		d := st.CellSOC[f.Target] - st.TrueSOC/100
		if !e.haveSOC0 {
			e.soc0, e.haveSOC0 = d, true
		}
		e.socMoved = math.Abs(d-e.soc0) >= exerciseSOC
	}
}

// window says whether the window that ends now counts as exercised; in
// holds its inputs.
func (e *exerciser) window(sc Scenario, in *[NumInputs]float32, level float64) bool {
	f := sc.Fault
	if f == nil {
		return false
	}
	switch f.Kind {
	case sim.FaultPrecharge, sim.FaultWeak12V:
		return e.latched
	case sim.FaultCellCapacity:
		return e.socMoved
	case sim.FaultCellResistance:
		extra := sc.Config.CellR0 * 4 * f.Severity * level
		return extra*float64(in[diag.FCurrentRMS]) >= exerciseDrop
	}
	return true
}
