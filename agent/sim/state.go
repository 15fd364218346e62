package sim

import "time"

// Mode is what the car as a whole is doing.
type Mode uint8

const (
	// ModeOff: parked, high-voltage system off.
	ModeOff Mode = iota
	// ModeReady: high voltage on for driving or standing ready.
	ModeReady
	// ModeCharging: plugged in to an AC or DC charger.
	ModeCharging
)

func (m Mode) String() string {
	switch m {
	case ModeOff:
		return "off"
	case ModeReady:
		return "ready"
	case ModeCharging:
		return "charging"
	}
	return "?"
}

// The enumerations below carry the raw values of the sim DBC's value tables.

// Gear is the selector position (VCU_Drive.Gear).
type Gear uint8

const (
	GearP Gear = 0
	GearR Gear = 1
	GearN Gear = 2
	GearD Gear = 3
)

// ContactorState is the BMS main contactor state (BMS_HVStatus.ContactorState).
type ContactorState uint8

const (
	ContactorOpen      ContactorState = 0
	ContactorPrecharge ContactorState = 1
	ContactorClosed    ContactorState = 2
	ContactorFault     ContactorState = 3
)

// ChargeState is the charging state (OBC_ChargeStatus.ChargingState).
type ChargeState uint8

const (
	ChargeNotConnected ChargeState = 0
	ChargeAC           ChargeState = 1
	ChargeDC           ChargeState = 2
	ChargeComplete     ChargeState = 3
	ChargeFault        ChargeState = 4
)

// DCDCState is the DC-DC converter state (DCDC_Status.DCDCState).
type DCDCState uint8

const (
	DCDCOff      DCDCState = 0
	DCDCActive   DCDCState = 1
	DCDCDerating DCDCState = 2
	DCDCFault    DCDCState = 3
)

// IsolationStatus is the insulation monitor verdict (IMD_Status.IsolationStatus):
// Warning below 500 ohm/V of pack voltage, Fault below 100 ohm/V.
type IsolationStatus uint8

const (
	IsolationOK      IsolationStatus = 0
	IsolationWarning IsolationStatus = 1
	IsolationFault   IsolationStatus = 2
)

// ThermalMode is the battery thermal system mode (BMS_TempStats.ThermalMode),
// numbered as VSS TractionBattery.ThermalManagementSystemMode.
type ThermalMode uint8

const (
	ThermalOff         ThermalMode = 0
	ThermalCirculating ThermalMode = 1
	ThermalCooling     ThermalMode = 2
	ThermalHeating     ThermalMode = 3
)

// State is a snapshot of the simulated car in physical units. Currents are
// positive when discharging the traction battery (as on the bus); the 12 V
// battery current is positive when charging it. Indexes are 0-based here
// and 1-based on the bus.
type State struct {
	Time    time.Time     // sim clock
	Elapsed time.Duration // since start
	Mode    Mode
	Phase   string // scenario phase: urban, highway, wltp, idle, park, ac, dc
	Parked  bool   // in the pause between two phases

	// Vehicle.
	Speed            float64 // km/h, negative when reversing
	Accel            float64 // m/s²
	Gear             Gear
	Ready            bool
	AccelPedal       float64 // percent
	BrakePedal       float64 // percent
	Odometer         float64 // km
	Trip             float64 // km since start
	MotorSpeed       float64 // rpm, negative when reversing
	MotorTorque      float64 // Nm, negative when regenerating
	MotorTorqueLimit float64 // Nm available now (derating)
	MotorTemp        float64 // °C
	InverterTemp     float64 // °C
	LinkVoltage      float64 // inverter DC link, V
	DrivePower       float64 // inverter DC input power, kW (negative in regen)

	// Traction battery.
	PackVoltage   float64   // V, sum of the cell voltages
	PackCurrent   float64   // A, positive = discharge
	PackPower     float64   // kW, positive = discharge
	SOC           float64   // BMS state of charge (coulomb counting), percent
	SOCDisplayed  float64   // percent shown to the driver (3..97 % of SOC mapped to 0..100)
	TrueSOC       float64   // mean of the cells' true state of charge, percent
	SOH           float64   // weakest cell's capacity over rated, percent
	CapacityAh    float64   // capacity the BMS counts against, Ah
	Energy        float64   // remaining energy, kWh
	Range         float64   // km, from remaining energy and recent consumption
	Cells         []float64 // cell voltages, V
	CellSOC       []float64 // cell state of charge, 0..1
	CellMax       float64   // V
	CellMin       float64   // V
	CellAvg       float64   // V
	CellMaxIndex  int
	CellMinIndex  int
	ModuleTemps   []float64 // °C
	TempMax       float64   // °C, hottest module
	TempMin       float64   // °C, coolest module
	TempAvg       float64   // °C
	TempMaxIndex  int
	TempMinIndex  int
	MaxDischarge  float64 // kW the BMS allows now
	MaxCharge     float64 // kW the BMS accepts now
	MaxDischargeI float64 // A
	MaxChargeI    float64 // A
	ThermalMode   ThermalMode
	CoolantInlet  float64 // °C
	CoolantOutlet float64 // °C
	PumpDuty      float64 // commanded, percent
	Chiller       bool

	// High-voltage safety.
	Contactor       ContactorState
	MainPositive    bool
	MainNegative    bool
	PrechargeRelay  bool
	HVIL            bool    // interlock loop closed
	Insulation      float64 // ohm, as measured by the IMD
	IsolationStatus IsolationStatus

	// 12 V system.
	DCDC        DCDCState
	DCDCVoltage float64 // V
	DCDCCurrent float64 // A
	DCDCTemp    float64 // °C
	LVVoltage   float64 // V
	LVCurrent   float64 // A, positive = charging the 12 V battery
	LVSOC       float64 // percent

	// Charging.
	Charge         ChargeState
	Plugged        bool
	Charging       bool    // energy flowing from the charger
	ChargeTarget   float64 // percent
	TimeToFull     float64 // minutes to ChargeTarget, 0 when not charging
	ChargerVoltage float64 // V at the DC side
	ChargerCurrent float64 // A into the car at the DC side
	ChargerPower   float64 // kW
	ACVoltage      float64 // V per phase, 0 on DC
	ACCurrent      float64 // A per phase, 0 on DC

	Ambient float64 // °C

	// Bookkeeping at the battery terminals since start.
	EnergyOut float64 // kWh discharged
	EnergyIn  float64 // kWh charged
	ChargeOut float64 // Ah discharged
	ChargeIn  float64 // Ah charged

	// Faults active now, with their level (0..1).
	Faults []ActiveFault

	// Body and cabin (body.go).
	Body BodyState
}

// ActiveFault is an injected fault that acts at this moment.
type ActiveFault struct {
	Name  string
	Spec  FaultSpec
	Level float64
}
