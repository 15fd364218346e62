package obd

// VSSMapping is where an OBDb signal's value goes in COVESA VSS, with the
// conversion from the signalset's unit to the VSS unit:
// vss = value*Scale + Add.
type VSSMapping struct {
	Path  string
	Unit  string // VSS unit spelling
	Scale float64
	Add   float64
}

// suggestedVSS maps OBDb suggestedMetric names to VSS 4 paths and units.
var suggestedVSS = map[string]VSSMapping{
	"stateOfCharge":             {Path: "Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed", Unit: "percent"},
	"stateOfHealth":             {Path: "Vehicle.Powertrain.TractionBattery.StateOfHealth", Unit: "percent"},
	"tractionBatteryVoltage":    {Path: "Vehicle.Powertrain.TractionBattery.CurrentVoltage", Unit: "V"},
	"tractionBatteryCurrent":    {Path: "Vehicle.Powertrain.TractionBattery.CurrentCurrent", Unit: "A"},
	"tractionBatteryCapacity":   {Path: "Vehicle.Powertrain.TractionBattery.GrossCapacity", Unit: "kWh"},
	"isCharging":                {Path: "Vehicle.Powertrain.TractionBattery.Charging.IsCharging", Unit: "boolean"},
	"pluggedIn":                 {Path: "Vehicle.Powertrain.TractionBattery.Charging.IsChargingCableConnected", Unit: "boolean"},
	"electricRange":             {Path: "Vehicle.Powertrain.Range", Unit: "km"},
	"speed":                     {Path: "Vehicle.Speed", Unit: "km/h"},
	"odometer":                  {Path: "Vehicle.TraveledDistance", Unit: "km"},
	"starterBatteryVoltage":     {Path: "Vehicle.LowVoltageBattery.CurrentVoltage", Unit: "V"},
	"frontLeftTirePressure":     {Path: "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure", Unit: "kPa"},
	"frontRightTirePressure":    {Path: "Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Pressure", Unit: "kPa"},
	"rearLeftTirePressure":      {Path: "Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Pressure", Unit: "kPa"},
	"rearRightTirePressure":     {Path: "Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Pressure", Unit: "kPa"},
	"frontLeftTireTemperature":  {Path: "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Temperature", Unit: "celsius"},
	"frontRightTireTemperature": {Path: "Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Temperature", Unit: "celsius"},
	"rearLeftTireTemperature":   {Path: "Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Temperature", Unit: "celsius"},
	"rearRightTireTemperature":  {Path: "Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Temperature", Unit: "celsius"},
	"engineCoolantTemperature":  {Path: "Vehicle.Powertrain.CombustionEngine.ECT", Unit: "celsius"},
	"engineOilTemperature":      {Path: "Vehicle.Powertrain.CombustionEngine.EOT", Unit: "celsius"},
	"fuelTankLevel":             {Path: "Vehicle.Powertrain.FuelSystem.RelativeLevel", Unit: "percent"},
	"throttlePosition":          {Path: "Vehicle.OBD.ThrottlePosition", Unit: "percent"},
	"engineLoad":                {Path: "Vehicle.OBD.EngineLoad", Unit: "percent"},
	"distanceSinceDTCsCleared":  {Path: "Vehicle.OBD.DistanceSinceDTCClear", Unit: "km"},
	"massAirFlow":               {Path: "Vehicle.OBD.MAF", Unit: "g/s"},
}

// unitToVSS converts OBDb units to the VSS unit of the same quantity.
var unitToVSS = map[string]VSSMapping{
	"psi":               {Unit: "kPa", Scale: 6.894757293168},
	"miles":             {Unit: "km", Scale: 1.609344},
	"milesPerHour":      {Unit: "km/h", Scale: 1.609344},
	"fahrenheit":        {Unit: "celsius", Scale: 5.0 / 9, Add: -160.0 / 9},
	"bars":              {Unit: "kPa", Scale: 100},
	"kilopascal":        {Unit: "kPa", Scale: 1},
	"kilometers":        {Unit: "km", Scale: 1},
	"kilometersPerHour": {Unit: "km/h", Scale: 1},
	"celsius":           {Unit: "celsius", Scale: 1},
	"volts":             {Unit: "V", Scale: 1},
	"amps":              {Unit: "A", Scale: 1},
	"percent":           {Unit: "percent", Scale: 1},
	"kilowattHours":     {Unit: "kWh", Scale: 1},
	"offon":             {Unit: "boolean", Scale: 1},
	"noyes":             {Unit: "boolean", Scale: 1},
	"yesno":             {Unit: "boolean", Scale: 1},
}

// VSS returns the VSS mapping of a signal when its suggestedMetric has one
// and its unit converts to the VSS unit.
func (s *Signal) VSS() (VSSMapping, bool) {
	m, ok := suggestedVSS[s.SuggestedMetric]
	if !ok {
		return VSSMapping{}, false
	}
	conv, ok := unitToVSS[s.Fmt.Unit]
	if !ok || conv.Unit != m.Unit {
		return VSSMapping{}, false
	}
	m.Scale, m.Add = conv.Scale, conv.Add
	return m, true
}
