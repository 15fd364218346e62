package dialog

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/audio"
)

// Kind is a class of vehicle action; gates and refusal texts name it.
type Kind string

// Action kinds.
const (
	KindWindow  Kind = "window"
	KindClimate Kind = "climate"
	KindSeat    Kind = "seat_heating"
	KindLights  Kind = "lights"
)

// Kinds lists the action kinds.
func Kinds() []Kind { return []Kind{KindWindow, KindClimate, KindSeat, KindLights} }

// Config is the dialogue's configuration: where it reads the car's state,
// how it encodes actions, and the thresholds of the safety gate. Start
// from DefaultConfig (the sim car, left-hand drive) or ParseConfig.
type Config struct {
	// DriverSide is "left" (left-hand drive, the default) or "right". It
	// decides which window "my window" is for the driver's zone and the
	// default VSS paths (VSS names doors and seats DriverSide and
	// PassengerSide).
	DriverSide string `toml:"driver_side"`
	// DefaultSeatLevel is the seat heater level when none is said (1..3).
	DefaultSeatLevel int `toml:"default_seat_level"`
	// SeatLevels is the number of seat heater levels (VSS HeatingCooling
	// 100 percent is the top level).
	SeatLevels int `toml:"seat_levels"`
	// CancelWindow is how long after an action "cancel" undoes it.
	CancelWindow config.Duration `toml:"cancel_window"`
	// MaxFaultsSpoken bounds the faults read out; the rest are counted.
	MaxFaultsSpoken int `toml:"max_faults_spoken"`

	MaxAge   MaxAge   `toml:"max_age"`
	Gates    Gates    `toml:"gates"`
	Paths    Paths    `toml:"paths"`
	Commands Commands `toml:"commands"`
}

// MaxAge says how old a value may be and still count as known.
type MaxAge struct {
	// Safety applies to what the gate reads: speed, gear, child locks.
	Safety config.Duration `toml:"safety"`
	// Info applies to values read out in answers.
	Info config.Duration `toml:"info"`
}

// Gates are the safety gate's thresholds (see the package comment).
type Gates struct {
	// WindowOpenMaxKmh is the highest speed at which a window opens.
	WindowOpenMaxKmh float64 `toml:"window_open_max_kmh"`
	// Reverse lists the action kinds refused while reversing.
	Reverse []Kind `toml:"reverse"`
	// ChildLockExemptZones are cabin zones whose requests may open rear
	// windows despite the child lock (none by default: the zone comes from
	// microphone energy and cannot tell a child from an adult).
	ChildLockExemptZones []string `toml:"child_lock_exempt_zones"`
}

// Corners names one VSS path or signal per window or wheel.
type Corners struct {
	FrontLeft  string `toml:"front_left"`
	FrontRight string `toml:"front_right"`
	RearLeft   string `toml:"rear_left"`
	RearRight  string `toml:"rear_right"`
}

// Seats names one VSS path or signal per seat.
type Seats struct {
	Driver    string `toml:"driver"`
	Passenger string `toml:"passenger"`
	RearLeft  string `toml:"rear_left"`
	RearRight string `toml:"rear_right"`
}

// Lights names one VSS path or signal per light of the context's lights
// slot.
type Lights struct {
	Headlights string `toml:"headlights"`
	Fog        string `toml:"fog"`
	Interior   string `toml:"interior"`
	Ambient    string `toml:"ambient"`
}

// RearPair names the rear doors' child lock paths.
type RearPair struct {
	RearLeft  string `toml:"rear_left"`
	RearRight string `toml:"rear_right"`
}

// Paths are the VSS paths the dialogue reads, in VSS units: km/h, m,
// percent, W (positive charging), s, celsius, kPa; booleans 0/1; the gear
// in VSS SelectedGear numbering (negative: reverse). An empty path is a
// value this car does not report.
type Paths struct {
	Speed            string   `toml:"speed"`
	Gear             string   `toml:"gear"`
	SOC              string   `toml:"soc"`
	Range            string   `toml:"range"`
	Charging         string   `toml:"charging"`
	ChargePower      string   `toml:"charge_power"`
	TimeToFull       string   `toml:"time_to_full"`
	CabinTemperature string   `toml:"cabin_temperature"`
	Setpoint         string   `toml:"setpoint"`
	WindowLock       string   `toml:"window_lock"`
	ChildLocks       RearPair `toml:"child_locks"`
	Windows          Corners  `toml:"windows"`
	Tyres            Corners  `toml:"tyres"`
	Seats            Seats    `toml:"seats"`
	Lights           Lights   `toml:"lights"`
}

// Commands say how actions are encoded: a DBC message and, per role, the
// signal to set. Signals the action does not set take the raw value
// labelled NoChange (or NoAction) in the DBC's value table, else 0.
// Window signals need the labels Open, Close and Stop; light signals and
// the climate's on signal On and Off; seat signals carry the level.
type Commands struct {
	Window  WindowCommand  `toml:"window"`
	Climate ClimateCommand `toml:"climate"`
	Seat    SeatCommand    `toml:"seat_heating"`
	Lights  LightsCommand  `toml:"lights"`
}

// WindowCommand is the window request message.
type WindowCommand struct {
	Message string  `toml:"message"`
	Signals Corners `toml:"signals"`
}

// ClimateCommand is the climate request message.
type ClimateCommand struct {
	Message string `toml:"message"`
	Signals struct {
		Setpoint string `toml:"setpoint"`
		On       string `toml:"on"`
	} `toml:"signals"`
}

// SeatCommand is the seat heater request message.
type SeatCommand struct {
	Message string `toml:"message"`
	Signals Seats  `toml:"signals"`
}

// LightsCommand is the light request message.
type LightsCommand struct {
	Message string `toml:"message"`
	Signals Lights `toml:"signals"`
}

// DefaultConfig returns the defaults for a left-hand drive car: standard
// VSS paths, the sim car's command messages (board/sim/sim-ev.dbc), 80 km/h
// for opening windows, no action while reversing, 1 s for safety values
// and 2 min for answers.
func DefaultConfig() Config { return defaultConfig("left") }

func defaultConfig(side string) Config {
	// VSS names doors and seats by the driver's side: on a right-hand
	// drive car the left door is the PassengerSide one.
	left, right := "DriverSide", "PassengerSide"
	if side == "right" {
		left, right = right, left
	}
	door := func(row, s string) string { return "Vehicle.Cabin.Door." + row + "." + s }
	seat := func(row, s string) string { return "Vehicle.Cabin.Seat." + row + "." + s + ".HeatingCooling" }
	c := Config{
		DriverSide:       side,
		DefaultSeatLevel: 2,
		SeatLevels:       3,
		CancelWindow:     config.Duration{Duration: 10 * time.Second},
		MaxFaultsSpoken:  5,
		MaxAge:           MaxAge{Safety: config.Duration{Duration: time.Second}, Info: config.Duration{Duration: 2 * time.Minute}},
		Gates: Gates{
			WindowOpenMaxKmh: 80,
			Reverse:          Kinds(),
		},
		Paths: Paths{
			Speed:            "Vehicle.Speed",
			Gear:             "Vehicle.Powertrain.Transmission.SelectedGear",
			SOC:              "Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed",
			Range:            "Vehicle.Powertrain.Range",
			Charging:         "Vehicle.Powertrain.TractionBattery.Charging.IsCharging",
			ChargePower:      "Vehicle.Powertrain.TractionBattery.CurrentPower",
			TimeToFull:       "Vehicle.Powertrain.TractionBattery.Charging.TimeToComplete",
			CabinTemperature: "Vehicle.Cabin.HVAC.AmbientAirTemperature",
			Setpoint:         "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature",
			WindowLock:       "Vehicle.Cabin.IsWindowChildLockEngaged",
			ChildLocks: RearPair{
				RearLeft:  door("Row2", left) + ".IsChildLockActive",
				RearRight: door("Row2", right) + ".IsChildLockActive",
			},
			Windows: Corners{
				FrontLeft:  door("Row1", left) + ".Window.Position",
				FrontRight: door("Row1", right) + ".Window.Position",
				RearLeft:   door("Row2", left) + ".Window.Position",
				RearRight:  door("Row2", right) + ".Window.Position",
			},
			Tyres: Corners{
				FrontLeft:  "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure",
				FrontRight: "Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Pressure",
				RearLeft:   "Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Pressure",
				RearRight:  "Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Pressure",
			},
			Seats: Seats{
				Driver:    seat("Row1", "DriverSide"),
				Passenger: seat("Row1", "PassengerSide"),
				RearLeft:  seat("Row2", left),
				RearRight: seat("Row2", right),
			},
			Lights: Lights{
				Headlights: "Vehicle.Body.Lights.Beam.Low.IsOn",
				Fog:        "Vehicle.Body.Lights.Fog.Front.IsOn",
				Interior:   "Vehicle.Cabin.Light.IsDomeOn",
				Ambient:    "Vehicle.Private.EvedgeSim.AmbientLightOn",
			},
		},
	}
	c.Commands.Window = WindowCommand{Message: "BCM_WindowCmd", Signals: Corners{
		FrontLeft: "WindowCmdFL", FrontRight: "WindowCmdFR", RearLeft: "WindowCmdRL", RearRight: "WindowCmdRR"}}
	c.Commands.Climate.Message = "HVAC_Cmd"
	c.Commands.Climate.Signals.Setpoint, c.Commands.Climate.Signals.On = "SetpointReq", "HVACOnReq"
	c.Commands.Seat = SeatCommand{Message: "SeatHeatCmd", Signals: Seats{
		Driver: "SeatHeatDriverReq", Passenger: "SeatHeatPassengerReq", RearLeft: "SeatHeatRearLeftReq", RearRight: "SeatHeatRearRightReq"}}
	c.Commands.Lights = LightsCommand{Message: "LightCmd", Signals: Lights{
		Headlights: "LowBeamReq", Fog: "FogFrontReq", Interior: "DomeLightReq", Ambient: "AmbientLightReq"}}
	return c
}

// LoadConfig reads a dialogue configuration file (TOML).
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("dialog: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig reads a dialogue configuration (TOML) over the defaults:
// fields the file leaves out keep their default (for driver_side =
// "right", the right-hand drive defaults). Unknown fields are errors;
// every error names the file, the line where known, and the field.
func ParseConfig(name string, data []byte) (Config, error) {
	c := DefaultConfig()
	if err := config.DecodeStrict(name, data, &c); err != nil {
		return Config{}, fmt.Errorf("dialog: %w", err)
	}
	if c.DriverSide == "right" {
		c = defaultConfig("right")
		if err := config.DecodeStrict(name, data, &c); err != nil {
			return Config{}, fmt.Errorf("dialog: %w", err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("dialog: %s: %w", name, err)
	}
	return c, nil
}

// Validate checks the configuration; the error names the field.
func (c *Config) Validate() error {
	switch {
	case c.DriverSide != "left" && c.DriverSide != "right":
		return fmt.Errorf("driver_side %q: expected \"left\" or \"right\"", c.DriverSide)
	case c.SeatLevels < 1 || c.SeatLevels > 10:
		return fmt.Errorf("seat_levels %d: expected 1..10", c.SeatLevels)
	case c.DefaultSeatLevel < 1 || c.DefaultSeatLevel > c.SeatLevels:
		return fmt.Errorf("default_seat_level %d: expected 1..%d (seat_levels)", c.DefaultSeatLevel, c.SeatLevels)
	case c.CancelWindow.Duration < 0 || c.CancelWindow.Duration > time.Hour:
		return fmt.Errorf("cancel_window %v: expected 0 (no cancelling) up to 1h", c.CancelWindow.Duration)
	case c.MaxFaultsSpoken < 1 || c.MaxFaultsSpoken > 50:
		return fmt.Errorf("max_faults_spoken %d: expected 1..50", c.MaxFaultsSpoken)
	case c.MaxAge.Safety.Duration <= 0 || c.MaxAge.Safety.Duration > time.Minute:
		return fmt.Errorf("max_age.safety %v: expected above 0 and at most 1m", c.MaxAge.Safety.Duration)
	case c.MaxAge.Info.Duration <= 0 || c.MaxAge.Info.Duration > 24*time.Hour:
		return fmt.Errorf("max_age.info %v: expected above 0 and at most 24h", c.MaxAge.Info.Duration)
	case math.IsNaN(c.Gates.WindowOpenMaxKmh) || c.Gates.WindowOpenMaxKmh < 0 || c.Gates.WindowOpenMaxKmh > 300:
		return fmt.Errorf("gates.window_open_max_kmh %v: expected 0..300", c.Gates.WindowOpenMaxKmh)
	}
	for i, k := range c.Gates.Reverse {
		if !slices.Contains(Kinds(), k) {
			return fmt.Errorf("gates.reverse[%d] %q: expected one of %s", i, k, kindList())
		}
	}
	for i, z := range c.Gates.ChildLockExemptZones {
		if zz, err := audio.ParseZone(z); err != nil || zz == audio.ZoneUnknown {
			return fmt.Errorf("gates.child_lock_exempt_zones[%d] %q: expected driver, passenger, rear-left, rear-right or rear-center", i, z)
		}
	}
	for _, p := range c.pathFields() {
		if p.v == "" {
			continue
		}
		if err := signals.ValidVSSPath(p.v); err != nil {
			return fmt.Errorf("paths.%s: %v", p.name, err)
		}
	}
	for _, n := range c.commandFields() {
		if n.msg == "" && n.v != "" {
			return fmt.Errorf("commands.%s: signal %q without a message", n.name, n.v)
		}
	}
	return nil
}

func kindList() string {
	var s []string
	for _, k := range Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

type field struct{ name, v, msg string }

func (c *Config) pathFields() []field {
	p := &c.Paths
	return []field{
		{"speed", p.Speed, ""}, {"gear", p.Gear, ""}, {"soc", p.SOC, ""}, {"range", p.Range, ""},
		{"charging", p.Charging, ""}, {"charge_power", p.ChargePower, ""}, {"time_to_full", p.TimeToFull, ""},
		{"cabin_temperature", p.CabinTemperature, ""}, {"setpoint", p.Setpoint, ""}, {"window_lock", p.WindowLock, ""},
		{"child_locks.rear_left", p.ChildLocks.RearLeft, ""}, {"child_locks.rear_right", p.ChildLocks.RearRight, ""},
		{"windows.front_left", p.Windows.FrontLeft, ""}, {"windows.front_right", p.Windows.FrontRight, ""},
		{"windows.rear_left", p.Windows.RearLeft, ""}, {"windows.rear_right", p.Windows.RearRight, ""},
		{"tyres.front_left", p.Tyres.FrontLeft, ""}, {"tyres.front_right", p.Tyres.FrontRight, ""},
		{"tyres.rear_left", p.Tyres.RearLeft, ""}, {"tyres.rear_right", p.Tyres.RearRight, ""},
		{"seats.driver", p.Seats.Driver, ""}, {"seats.passenger", p.Seats.Passenger, ""},
		{"seats.rear_left", p.Seats.RearLeft, ""}, {"seats.rear_right", p.Seats.RearRight, ""},
		{"lights.headlights", p.Lights.Headlights, ""}, {"lights.fog", p.Lights.Fog, ""},
		{"lights.interior", p.Lights.Interior, ""}, {"lights.ambient", p.Lights.Ambient, ""},
	}
}

// commandFields lists every command role: its config field, signal and
// message.
func (c *Config) commandFields() []field {
	w, cl, s, l := &c.Commands.Window, &c.Commands.Climate, &c.Commands.Seat, &c.Commands.Lights
	return []field{
		{"window.signals.front_left", w.Signals.FrontLeft, w.Message},
		{"window.signals.front_right", w.Signals.FrontRight, w.Message},
		{"window.signals.rear_left", w.Signals.RearLeft, w.Message},
		{"window.signals.rear_right", w.Signals.RearRight, w.Message},
		{"climate.signals.setpoint", cl.Signals.Setpoint, cl.Message},
		{"climate.signals.on", cl.Signals.On, cl.Message},
		{"seat_heating.signals.driver", s.Signals.Driver, s.Message},
		{"seat_heating.signals.passenger", s.Signals.Passenger, s.Message},
		{"seat_heating.signals.rear_left", s.Signals.RearLeft, s.Message},
		{"seat_heating.signals.rear_right", s.Signals.RearRight, s.Message},
		{"lights.signals.headlights", l.Signals.Headlights, l.Message},
		{"lights.signals.fog", l.Signals.Fog, l.Message},
		{"lights.signals.interior", l.Signals.Interior, l.Message},
		{"lights.signals.ambient", l.Signals.Ambient, l.Message},
	}
}
