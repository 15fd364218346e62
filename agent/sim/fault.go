package sim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/signals"
)

// Fault is an injected defect. Before every physics tick the Plant is reset
// to healthy, then every active fault's Apply sets its effect at the fault's
// current level, so Apply sets or combines effects rather than integrating
// them; the physics integrates the consequences. Apply must be
// deterministic (no clocks, no unseeded randomness) so that runs repeat.
type Fault interface {
	// Name identifies the fault, e.g. "cell_short".
	Name() string
	// Apply puts the fault on the plant at level 0..1 (0 < level while
	// active; it ramps from 0 to 1 over the fault's Ramp).
	Apply(p *Plant, level float64)
}

// Plant is the set of knobs faults turn. Healthy values: factors 1, flags
// false, leaks 0, sensors ModeNormal.
type Plant struct {
	// Cells has one entry per series cell.
	Cells []CellEffect
	// PumpFlow is the fraction of the commanded coolant flow delivered.
	PumpFlow float64
	// MotorCooling scales the motor's heat transfer to the coolant;
	// MotorLoss scales its losses (friction, shorted turns).
	MotorCooling, MotorLoss float64
	// InverterCooling scales the inverter's heat transfer to its cold
	// plate; InverterLoss scales its losses (switching and conduction).
	InverterCooling, InverterLoss float64
	// InsulationLeak is an extra leakage conductance from HV to chassis, S.
	InsulationLeak float64
	// LVCapacity and LVResistance scale the 12 V battery's capacity and
	// internal resistance; LVVoltageDrop lowers its open-circuit voltage (V).
	LVCapacity, LVResistance, LVVoltageDrop float64
	// PrechargeSlow scales the precharge time constant.
	PrechargeSlow float64
	// ContactorDrop makes a closed main contactor open.
	ContactorDrop bool
	// HVILOpen opens the high-voltage interlock loop.
	HVILOpen bool
	// ChargerOutput scales the power the on-board (AC) charger delivers.
	ChargerOutput float64

	db          *signals.Database
	sensors     []SensorEffect // by signals.Signal.Index
	sensorDirty bool
}

// CellEffect is what faults do to one cell.
type CellEffect struct {
	// ShortConductance is an internal short across the cell, S (1/ohm).
	ShortConductance float64
	// Capacity and Resistance scale the cell's capacity and resistances.
	Capacity, Resistance float64
	// SelfHeat is heat the cell makes by itself (exothermic side
	// reactions), W.
	SelfHeat float64
}

// SensorMode is how a transmitted signal misbehaves.
type SensorMode uint8

const (
	// SensorNormal transmits the true value.
	SensorNormal SensorMode = iota
	// SensorStuck repeats the value from the moment the fault began.
	SensorStuck
	// SensorDrift adds Offset to the value.
	SensorDrift
	// SensorDropout stops the frames that carry the signal.
	SensorDropout
)

// SensorEffect is what a fault does to one transmitted signal.
type SensorEffect struct {
	Mode   SensorMode
	Offset float64 // DBC units, for SensorDrift
}

// Sensor returns the effect slot of "Message.Signal" of the sim DBC, or nil
// when the DBC has no such signal.
func (p *Plant) Sensor(name string) *SensorEffect {
	msg, sig, ok := strings.Cut(name, ".")
	if !ok {
		return nil
	}
	s := p.db.Signal(msg, sig)
	if s == nil {
		return nil
	}
	p.sensorDirty = true
	return &p.sensors[s.Index]
}

func (p *Plant) reset() {
	for i := range p.Cells {
		p.Cells[i] = CellEffect{Capacity: 1, Resistance: 1}
	}
	p.PumpFlow, p.MotorCooling, p.MotorLoss, p.InsulationLeak = 1, 1, 1, 0
	p.InverterCooling, p.InverterLoss = 1, 1
	p.LVCapacity, p.LVResistance, p.LVVoltageDrop = 1, 1, 0
	p.PrechargeSlow, p.ContactorDrop, p.HVILOpen = 1, false, false
	p.ChargerOutput = 1
	if p.sensorDirty {
		clear(p.sensors)
		p.sensorDirty = false
	}
}

// FaultKind names a built-in fault.
type FaultKind string

// Built-in faults. Severity is 0..1 unless said otherwise; Target is a
// 0-based cell index (the bus numbers cells from 1).
const (
	// FaultCellShort: internal soft short of cell Target, a leakage of
	// Severity/1 ohm (Severity 1: about 3.7 A, 2 % of charge an hour). The
	// cell self-discharges and its voltage drifts below the others.
	FaultCellShort FaultKind = "cell_short"
	// FaultCellCapacity: cell Target has 1-0.5*Severity of its capacity,
	// so it swings further than the others and the SOH drops.
	FaultCellCapacity FaultKind = "cell_capacity"
	// FaultCellResistance: resistance of cell Target times 1+4*Severity
	// (a failing weld or busbar): larger sag under load, more heat.
	FaultCellResistance FaultKind = "cell_resistance"
	// FaultCoolingLoss: the coolant pump delivers 1-Severity of the
	// commanded flow; coolant, battery and motor temperatures rise under load.
	FaultCoolingLoss FaultKind = "cooling_loss"
	// FaultInsulation: leakage of Severity/10 kohm from HV to chassis
	// (Severity 1: about 10 kohm, far below 100 ohm/V).
	FaultInsulation FaultKind = "insulation"
	// FaultWeak12V: the 12 V battery keeps 1-0.8*Severity of its capacity,
	// its resistance grows 1+5*Severity times and its rest voltage drops
	// 0.5*Severity V: low voltage when parked and deep dips at wake-up.
	FaultWeak12V FaultKind = "weak_12v"
	// FaultPrecharge: the precharge circuit is 1+50*Severity times slower;
	// above about Severity 0.1 the link never reaches 95 % within 0.5 s, the
	// BMS reports ContactorFault and the car cannot drive or charge.
	FaultPrecharge FaultKind = "precharge"
	// FaultContactor: the main contactor will not stay closed; it opens
	// under load and the BMS locks out after three attempts.
	FaultContactor FaultKind = "contactor"
	// FaultHVIL: the high-voltage interlock loop is open.
	FaultHVIL FaultKind = "hvil"
	// FaultMotorOverheat: the motor's cooling falls to 1-0.95*Severity and
	// its losses grow 1+2*Severity times (a bearing or winding going bad);
	// under load it heats well above the coolant and derates above 150 °C.
	FaultMotorOverheat FaultKind = "motor_overheat"
	// FaultInverterOverheat: the inverter's power modules lose their
	// contact with the cold plate (dried-out thermal paste, a clogged
	// channel) down to 1-0.9*Severity of the heat transfer, and their
	// losses grow 1+Severity times (ageing semiconductors); under load the
	// inverter heats well above the coolant and derates above 100 °C.
	FaultInverterOverheat FaultKind = "inverter_overheat"
	// FaultThermalRunaway: a thermal runaway precursor in cell Target:
	// exothermic side reactions heat it by 150·Severity·level W and an
	// internal micro short of 0.3·Severity·level S discharges it; its module
	// runs hotter than the others under any load and keeps heating when
	// parked.
	FaultThermalRunaway FaultKind = "thermal_runaway"
	// FaultCharger: the on-board charger delivers 1-0.9·Severity of its
	// power (a failing power stage or a derating it cannot leave); AC
	// charging slows and, towards Severity 1, barely covers the car's own
	// consumption. DC charging (the station's charger) is unaffected.
	FaultCharger FaultKind = "charger"
	// FaultSensorStuck: Signal ("Message.Signal") keeps the value it had
	// when the fault began.
	FaultSensorStuck FaultKind = "sensor_stuck"
	// FaultSensorDrift: Signal reads Severity (DBC units, any sign) too high,
	// reached over Ramp.
	FaultSensorDrift FaultKind = "sensor_drift"
	// FaultSensorDropout: the frames carrying Signal ("Message.Signal", or
	// "Message" for the whole message) are no longer sent.
	FaultSensorDropout FaultKind = "sensor_dropout"
)

// FaultKinds lists the built-in fault kinds.
func FaultKinds() []FaultKind {
	return []FaultKind{FaultCellShort, FaultCellCapacity, FaultCellResistance, FaultCoolingLoss,
		FaultInsulation, FaultWeak12V, FaultPrecharge, FaultContactor, FaultHVIL,
		FaultMotorOverheat, FaultInverterOverheat, FaultThermalRunaway, FaultCharger, FaultSensorStuck, FaultSensorDrift, FaultSensorDropout}
}

// FaultSpec schedules a built-in fault. It is active from Start (sim time
// since the start of the run) until End (0: forever), its level ramping
// linearly from 0 to 1 over Ramp (0: at once).
type FaultSpec struct {
	Kind     FaultKind
	Start    time.Duration
	Ramp     time.Duration
	End      time.Duration
	Severity float64
	Target   int    // cell index (0-based) for the cell faults
	Signal   string // "Message.Signal" for the sensor faults
}

type injected struct {
	f    Fault
	spec FaultSpec
}

func (in *injected) level(t time.Duration) float64 {
	s := &in.spec
	if t < s.Start || (s.End > 0 && t >= s.End) {
		return 0
	}
	if s.Ramp <= 0 {
		return 1
	}
	return math.Min(1, float64(t-s.Start)/float64(s.Ramp))
}

// newFault builds a built-in fault from spec, checking its fields.
func newFault(spec FaultSpec, cells int, db *signals.Database) (Fault, error) {
	where := "sim: fault " + string(spec.Kind)
	if spec.Kind != FaultSensorDrift && (math.IsNaN(spec.Severity) || spec.Severity < 0 || spec.Severity > 1) {
		return nil, fmt.Errorf("%s: Severity %v: expected 0..1", where, spec.Severity)
	}
	if spec.Kind == FaultSensorDrift && (math.IsNaN(spec.Severity) || math.IsInf(spec.Severity, 0)) {
		return nil, fmt.Errorf("%s: Severity %v: expected a finite offset in DBC units", where, spec.Severity)
	}
	cell := func() error {
		if spec.Target < 0 || spec.Target >= cells {
			return fmt.Errorf("%s: Target %d: expected a cell index 0..%d", where, spec.Target, cells-1)
		}
		return nil
	}
	sev := spec.Severity
	switch spec.Kind {
	case FaultCellShort:
		if err := cell(); err != nil {
			return nil, err
		}
		c := spec.Target
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.Cells[c].ShortConductance += sev * l }}, nil
	case FaultCellCapacity:
		if err := cell(); err != nil {
			return nil, err
		}
		c := spec.Target
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.Cells[c].Capacity *= 1 - 0.5*sev*l }}, nil
	case FaultCellResistance:
		if err := cell(); err != nil {
			return nil, err
		}
		c := spec.Target
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.Cells[c].Resistance *= 1 + 4*sev*l }}, nil
	case FaultCoolingLoss:
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.PumpFlow *= 1 - sev*l }}, nil
	case FaultThermalRunaway:
		if err := cell(); err != nil {
			return nil, err
		}
		c := spec.Target
		return funcFault{spec.Kind, func(p *Plant, l float64) {
			p.Cells[c].SelfHeat += 150 * sev * l
			p.Cells[c].ShortConductance += 0.3 * sev * l
		}}, nil
	case FaultCharger:
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.ChargerOutput *= 1 - 0.9*sev*l }}, nil
	case FaultInsulation:
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.InsulationLeak += sev * l / 10e3 }}, nil
	case FaultWeak12V:
		return funcFault{spec.Kind, func(p *Plant, l float64) {
			p.LVCapacity *= 1 - 0.8*sev*l
			p.LVResistance *= 1 + 5*sev*l
			p.LVVoltageDrop += 0.5 * sev * l
		}}, nil
	case FaultPrecharge:
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.PrechargeSlow *= 1 + 50*sev*l }}, nil
	case FaultContactor:
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.ContactorDrop = true }}, nil
	case FaultHVIL:
		return funcFault{spec.Kind, func(p *Plant, l float64) { p.HVILOpen = true }}, nil
	case FaultMotorOverheat:
		return funcFault{spec.Kind, func(p *Plant, l float64) {
			p.MotorCooling *= 1 - 0.95*sev*l
			p.MotorLoss *= 1 + 2*sev*l
		}}, nil
	case FaultInverterOverheat:
		return funcFault{spec.Kind, func(p *Plant, l float64) {
			p.InverterCooling *= 1 - 0.9*sev*l
			p.InverterLoss *= 1 + sev*l
		}}, nil
	case FaultSensorStuck, FaultSensorDrift, FaultSensorDropout:
		sigs, err := sensorTargets(where, spec, db)
		if err != nil {
			return nil, err
		}
		mode := map[FaultKind]SensorMode{FaultSensorStuck: SensorStuck, FaultSensorDrift: SensorDrift, FaultSensorDropout: SensorDropout}[spec.Kind]
		return funcFault{spec.Kind, func(p *Plant, l float64) {
			p.sensorDirty = true
			for _, i := range sigs {
				e := &p.sensors[i]
				e.Mode = mode
				if mode == SensorDrift {
					e.Offset += sev * l
				}
			}
		}}, nil
	}
	kinds := make([]string, 0, 16)
	for _, k := range FaultKinds() {
		kinds = append(kinds, string(k))
	}
	return nil, fmt.Errorf("sim: fault Kind %q: expected one of %s", spec.Kind, strings.Join(kinds, ", "))
}

// sensorTargets resolves spec.Signal to signal indexes of db; errors start
// with where.
func sensorTargets(where string, spec FaultSpec, db *signals.Database) ([]int, error) {
	msgName, sigName, whole := spec.Signal, "", true
	if m, s, ok := strings.Cut(spec.Signal, "."); ok {
		msgName, sigName, whole = m, s, false
	}
	msg := db.Message(msgName)
	if msg == nil || spec.Signal == "" {
		return nil, fmt.Errorf("%s: Signal %q: expected \"Message.Signal\" of the sim DBC", where, spec.Signal)
	}
	if whole {
		if spec.Kind != FaultSensorDropout {
			return nil, fmt.Errorf("%s: Signal %q: expected \"Message.Signal\" (a whole message can only drop out)", where, spec.Signal)
		}
		out := make([]int, 0, len(msg.Signals))
		for _, s := range msg.Signals {
			out = append(out, s.Index)
		}
		return out, nil
	}
	s := msg.Signal(sigName)
	if s == nil {
		return nil, fmt.Errorf("%s: Signal %q: message %s has no signal %s", where, spec.Signal, msgName, sigName)
	}
	return []int{s.Index}, nil
}

type funcFault struct {
	kind  FaultKind
	apply func(p *Plant, level float64)
}

func (f funcFault) Name() string                  { return string(f.kind) }
func (f funcFault) Apply(p *Plant, level float64) { f.apply(p, level) }
