package sim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/signals"
)

// Config describes the simulated car. Start from DefaultConfig; New fills
// zero-valued fields with the defaults, except the fields for which zero is
// a valid setting (Seed, Ambient, the spreads, Odometer, Start, Duration).
type Config struct {
	// DBC is the compiled sim DBC (board/sim/sim-ev.dbc). Required.
	DBC *signals.Database
	// Cycles are the transmit periods by message name, as read from the
	// DBC's GenMsgCycleTime attributes by LoadDBC. Nil means DefaultCycles,
	// which match board/sim/sim-ev.dbc.
	Cycles map[string]time.Duration

	// Seed makes the cell spread, the initial imbalance and the insulation
	// wander reproducible: the same Config (Seed and Start included), the
	// same faults and the same Step calls give bit-identical frames.
	Seed uint64
	// Start is the sim time of the first step; frames are stamped with
	// Start plus the simulated time. Zero means Clock.Now() at New.
	Start time.Time
	// Clock paces Run. Nil means the system clock.
	Clock Clock
	// Tick is the physics step, 1ms..1s. Step and Run never integrate over
	// more than one Tick at a time.
	Tick time.Duration
	// Duration ends Run after this much simulated time; 0 runs until the
	// context is done.
	Duration time.Duration

	// Scenario is "loop" (drive cycles in turn, DC charging when the state
	// of charge falls below ChargeBelow) or a comma-separated list of
	// phases run in order and repeated: urban, highway, wltp, idle, park,
	// ac, dc.
	Scenario string
	// ParkTime is the time parked with the high-voltage system off between
	// two phases (and the length of a "park" phase). Negative means none.
	ParkTime time.Duration
	// IdleTime is the length of an "idle" phase (ready, standing).
	IdleTime time.Duration

	// Traction battery.
	Cells            int     // cells in series, 2..400
	Modules          int     // thermal modules; must divide Cells
	CellCapacity     float64 // rated capacity of one series element, Ah
	SOH              float64 // capacity left of rated, percent, 50..100
	CellR0           float64 // ohmic resistance of one element at 25 °C, ohm
	CellR1           float64 // resistance of the RC pair at 25 °C, ohm
	CellTau          float64 // time constant of the RC pair, s
	CapacitySpread   float64 // relative standard deviation of cell capacity, 0..0.1
	ResistanceSpread float64 // relative standard deviation of cell resistance, 0..0.5
	InitialSOC       float64 // percent, 0..100
	SOCSpread        float64 // standard deviation of the initial cell SOC, percent points, 0..5
	Insulation       float64 // nominal insulation resistance, ohm (several megaohm)
	// InsulationTempCoef is how much the insulation resistance falls per K
	// of pack temperature (fraction; 0.02: about 20 % per 10 K).
	InsulationTempCoef float64
	// InsulationWet is the deepest fall of the insulation resistance in
	// damp weather (fraction, 0..0.9; 0: dry). The humidity comes and goes
	// over tens of minutes to hours.
	InsulationWet float64
	// ChargerInsulation is a DC charger's own insulation resistance, ohm,
	// which the car's monitor sees in parallel while DC charging (0: none).
	ChargerInsulation float64

	// Vehicle.
	Mass              float64 // kg, including the rotating-mass allowance
	DragArea          float64 // Cd*A, m²
	RollingResistance float64 // coefficient
	WheelRadius       float64 // m
	GearRatio         float64 // motor turns per wheel turn
	MotorPower        float64 // peak drive power, kW
	MotorTorque       float64 // peak motor torque, Nm
	RegenPower        float64 // peak regenerative power, kW
	AuxPower          float64 // HVAC and other high-voltage auxiliaries while on, W
	ChillerSet        float64 // coolant temperature the chiller holds, °C (5 lower while DC charging)
	// CoolantHeater is a heater in the battery's coolant loop, W of heat
	// (0: none): it warms the pack through its coolant while the coldest
	// module is below HeatBelow °C and the contactors are closed.
	CoolantHeater  float64
	HeatBelow      float64
	ModuleCoolUA   float64 // heat transfer from each module to the coolant at full pump flow, W/K
	MotorHeatCap   float64 // motor's heat capacity, J/K (time constant = MotorHeatCap/MotorCoolUA)
	MotorCoolUA    float64 // motor-to-coolant heat transfer at full pump flow, W/K
	MotorLossScale float64 // scales the motor's copper and iron losses (1: the built-in loss model)
	// InverterHeatCap and InverterCoolUA: the inverter's heat capacity,
	// J/K, and its heat transfer to the coolant at full pump flow, W/K.
	InverterHeatCap float64
	InverterCoolUA  float64
	LVLoad          float64 // 12 V loads while on, W
	Odometer        float64 // km at start
	Ambient         float64 // °C

	// Charging.
	ACPower      float64 // AC supply power, kW (11 = 3 x 16 A x 230 V)
	DCPower      float64 // DC charger power, kW
	DCCurrent    float64 // DC charger current limit, A
	ChargeTarget float64 // percent SOC at which charging completes, 1..100
	ChargeBelow  float64 // "loop" charges when SOC falls below this, percent

	// ChildLock starts the car with the rear doors' child locks and the
	// window child lock engaged.
	ChildLock bool
}

// DefaultConfig returns the defaults: a 96s pack of 180 Ah elements (about
// 64 kWh) in 12 modules, an 1850 kg car with a 150 kW motor, 11 kW AC and
// 150 kW DC charging, 20 °C outside, and the "loop" scenario.
func DefaultConfig() Config {
	return Config{
		Tick:               100 * time.Millisecond,
		Scenario:           "loop",
		ParkTime:           time.Minute,
		IdleTime:           5 * time.Minute,
		Cells:              96,
		Modules:            12,
		CellCapacity:       180,
		SOH:                97,
		CellR0:             0.00022,
		CellR1:             0.00012,
		CellTau:            30,
		CapacitySpread:     0.008,
		ResistanceSpread:   0.05,
		InitialSOC:         80,
		SOCSpread:          0.3,
		Insulation:         5e6,
		InsulationTempCoef: 0.02,
		Mass:               1850,
		DragArea:           0.68,
		RollingResistance:  0.009,
		WheelRadius:        0.334,
		GearRatio:          9.0,
		MotorPower:         150,
		MotorTorque:        350,
		RegenPower:         80,
		AuxPower:           300,
		ChillerSet:         30,
		ModuleCoolUA:       80,
		HeatBelow:          10,
		MotorHeatCap:       12e3,
		MotorCoolUA:        60,
		MotorLossScale:     1,
		InverterHeatCap:    2.5e3,
		InverterCoolUA:     25,
		LVLoad:             350,
		Odometer:           12000,
		Ambient:            20,
		ACPower:            11,
		DCPower:            150,
		DCCurrent:          500,
		ChargeTarget:       80,
		ChargeBelow:        25,
	}
}

// withDefaults fills zero fields whose zero value is not a valid setting.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	fill := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Tick == 0 {
		c.Tick = d.Tick
	}
	if c.Scenario == "" {
		c.Scenario = d.Scenario
	}
	if c.ParkTime == 0 {
		c.ParkTime = d.ParkTime
	}
	if c.IdleTime == 0 {
		c.IdleTime = d.IdleTime
	}
	if c.Cells == 0 {
		c.Cells = d.Cells
	}
	if c.Modules == 0 {
		c.Modules = d.Modules
	}
	fill(&c.CellCapacity, d.CellCapacity)
	fill(&c.SOH, d.SOH)
	fill(&c.CellR0, d.CellR0)
	fill(&c.CellR1, d.CellR1)
	fill(&c.CellTau, d.CellTau)
	fill(&c.InitialSOC, d.InitialSOC)
	fill(&c.Insulation, d.Insulation)
	fill(&c.InsulationTempCoef, d.InsulationTempCoef)
	fill(&c.Mass, d.Mass)
	fill(&c.DragArea, d.DragArea)
	fill(&c.RollingResistance, d.RollingResistance)
	fill(&c.WheelRadius, d.WheelRadius)
	fill(&c.GearRatio, d.GearRatio)
	fill(&c.MotorPower, d.MotorPower)
	fill(&c.MotorTorque, d.MotorTorque)
	fill(&c.RegenPower, d.RegenPower)
	fill(&c.AuxPower, d.AuxPower)
	fill(&c.ChillerSet, d.ChillerSet)
	fill(&c.ModuleCoolUA, d.ModuleCoolUA)
	fill(&c.HeatBelow, d.HeatBelow)
	fill(&c.MotorHeatCap, d.MotorHeatCap)
	fill(&c.MotorCoolUA, d.MotorCoolUA)
	fill(&c.MotorLossScale, d.MotorLossScale)
	fill(&c.InverterHeatCap, d.InverterHeatCap)
	fill(&c.InverterCoolUA, d.InverterCoolUA)
	fill(&c.LVLoad, d.LVLoad)
	fill(&c.ACPower, d.ACPower)
	fill(&c.DCPower, d.DCPower)
	fill(&c.DCCurrent, d.DCCurrent)
	fill(&c.ChargeTarget, d.ChargeTarget)
	fill(&c.ChargeBelow, d.ChargeBelow)
	return c
}

// validate checks every field and names the first bad one.
func (c *Config) validate() error {
	if c.DBC == nil {
		return fmt.Errorf("sim: DBC is nil: expected the compiled sim DBC (LoadDBC(\"board/sim/sim-ev.dbc\"))")
	}
	if c.Tick < time.Millisecond || c.Tick > time.Second {
		return fmt.Errorf("sim: Tick %v: expected 1ms..1s", c.Tick)
	}
	if c.Duration < 0 {
		return fmt.Errorf("sim: Duration %v: expected 0 (no end) or a positive duration", c.Duration)
	}
	if c.IdleTime < 0 {
		return fmt.Errorf("sim: IdleTime %v: expected a positive duration", c.IdleTime)
	}
	if _, _, err := parseScenario(c.Scenario); err != nil {
		return err
	}
	if c.Cells < 2 || c.Cells > 400 {
		return fmt.Errorf("sim: Cells %d: expected 2..400", c.Cells)
	}
	if c.Modules < 1 || c.Modules > c.Cells || c.Cells%c.Modules != 0 {
		return fmt.Errorf("sim: Modules %d: expected 1..%d dividing Cells (%d)", c.Modules, c.Cells, c.Cells)
	}
	type rng struct {
		name   string
		v      float64
		lo, hi float64
		unit   string
	}
	for _, r := range []rng{
		{"CellCapacity", c.CellCapacity, 1, 2000, "Ah"},
		{"SOH", c.SOH, 50, 100, "%"},
		{"CellR0", c.CellR0, 1e-5, 0.1, "ohm"},
		{"CellR1", c.CellR1, 1e-6, 0.1, "ohm"},
		{"CellTau", c.CellTau, 0.5, 3600, "s"},
		{"CapacitySpread", c.CapacitySpread, 0, 0.1, ""},
		{"ResistanceSpread", c.ResistanceSpread, 0, 0.5, ""},
		{"InitialSOC", c.InitialSOC, 0, 100, "%"},
		{"SOCSpread", c.SOCSpread, 0, 5, "% points"},
		{"Insulation", c.Insulation, 1e4, 1e9, "ohm"},
		{"InsulationTempCoef", c.InsulationTempCoef, 0, 0.1, "per K"},
		{"InsulationWet", c.InsulationWet, 0, 0.9, ""},
		{"ChargerInsulation", c.ChargerInsulation, 0, 1e9, "ohm"},
		{"Mass", c.Mass, 300, 40000, "kg"},
		{"DragArea", c.DragArea, 0.1, 15, "m²"},
		{"RollingResistance", c.RollingResistance, 0.001, 0.05, ""},
		{"WheelRadius", c.WheelRadius, 0.15, 1, "m"},
		{"GearRatio", c.GearRatio, 1, 30, ""},
		{"MotorPower", c.MotorPower, 5, 1000, "kW"},
		{"MotorTorque", c.MotorTorque, 10, 5000, "Nm"},
		{"RegenPower", c.RegenPower, 0, 1000, "kW"},
		{"AuxPower", c.AuxPower, 0, 20000, "W"},
		{"ChillerSet", c.ChillerSet, 10, 45, "°C"},
		{"ModuleCoolUA", c.ModuleCoolUA, 1, 5000, "W/K"},
		{"CoolantHeater", c.CoolantHeater, 0, 20000, "W"},
		{"HeatBelow", c.HeatBelow, -30, 40, "°C"},
		{"MotorHeatCap", c.MotorHeatCap, 1e3, 1e6, "J/K"},
		{"MotorCoolUA", c.MotorCoolUA, 1, 5000, "W/K"},
		{"MotorLossScale", c.MotorLossScale, 0.1, 10, ""},
		{"InverterHeatCap", c.InverterHeatCap, 100, 1e5, "J/K"},
		{"InverterCoolUA", c.InverterCoolUA, 1, 1000, "W/K"},
		{"LVLoad", c.LVLoad, 0, 3000, "W"},
		{"Odometer", c.Odometer, 0, 1.5e6, "km"},
		{"Ambient", c.Ambient, -40, 55, "°C"},
		{"ACPower", c.ACPower, 1, 43, "kW"},
		{"DCPower", c.DCPower, 5, 400, "kW"},
		{"DCCurrent", c.DCCurrent, 10, 1000, "A"},
		{"ChargeTarget", c.ChargeTarget, 1, 100, "%"},
		{"ChargeBelow", c.ChargeBelow, 0, 100, "%"},
	} {
		if math.IsNaN(r.v) || r.v < r.lo || r.v > r.hi {
			return fmt.Errorf("sim: %s %v: expected %g..%g %s", r.name, r.v, r.lo, r.hi, r.unit)
		}
	}
	if c.ChargeBelow >= c.ChargeTarget {
		return fmt.Errorf("sim: ChargeBelow %v: expected less than ChargeTarget (%v)", c.ChargeBelow, c.ChargeTarget)
	}
	for name, d := range c.Cycles {
		if d <= 0 {
			return fmt.Errorf("sim: Cycles[%q] %v: expected a positive period", name, d)
		}
	}
	return nil
}

// Phase names accepted in Config.Scenario.
const (
	PhaseUrban   = "urban"
	PhaseHighway = "highway"
	PhaseWLTP    = "wltp"
	PhaseIdle    = "idle"
	PhasePark    = "park"
	PhaseAC      = "ac"
	PhaseDC      = "dc"
)

var phaseNames = []string{PhaseUrban, PhaseHighway, PhaseWLTP, PhaseIdle, PhasePark, PhaseAC, PhaseDC}

// parseScenario splits a scenario into phases; loop reports "loop".
func parseScenario(s string) (list []string, loop bool, err error) {
	s = strings.TrimSpace(s)
	if s == "loop" {
		return nil, true, nil
	}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		ok := false
		for _, n := range phaseNames {
			ok = ok || p == n
		}
		if !ok {
			return nil, false, fmt.Errorf("sim: Scenario %q: phase %q unknown: expected \"loop\" or a comma-separated list of %s", s, p, strings.Join(phaseNames, ", "))
		}
		list = append(list, p)
	}
	return list, false, nil
}
