// Package diag detects faults on the car. This file holds the rules: the
// 19 general alarm items of GB/T 32960.3-2016 (the Chinese national EV
// monitoring standard, table 18 "通用报警标志"), each with levels 1 to 3
// and thresholds that a vehicle's configuration can override.
//
// Levels, as the standard defines them: 1 does not affect normal driving;
// 2 affects performance and asks the driver to limit driving; 3 is the
// highest: the driver must stop at once or ask for help.
package diag

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Item is a GB/T 32960.3 general alarm item; its value is the bit in the
// standard's general alarm flag word.
type Item int

// The 19 general alarm items, in the standard's bit order.
const (
	TempDifference      Item = iota // 温度差异报警
	BatteryHighTemp                 // 电池高温报警
	PackOverVoltage                 // 车载储能装置类型过压报警
	PackUnderVoltage                // 车载储能装置类型欠压报警
	SOCLow                          // SOC低报警
	CellOverVoltage                 // 单体电池过压报警
	CellUnderVoltage                // 单体电池欠压报警
	SOCHigh                         // SOC过高报警
	SOCJump                         // SOC跳变报警
	PackMismatch                    // 可充电储能系统不匹配报警
	CellConsistency                 // 电池单体一致性差报警
	Insulation                      // 绝缘报警
	DCDCTemp                        // DC-DC温度报警
	BrakeSystem                     // 制动系统报警
	DCDCStatus                      // DC-DC状态报警
	MotorControllerTemp             // 驱动电机控制器温度报警
	HVInterlock                     // 高压互锁状态报警
	MotorTemp                       // 驱动电机温度报警
	OverCharge                      // 车载储能装置类型过充
	NumItems
)

var itemNames = [NumItems]string{
	"temperature_difference", "battery_high_temperature", "pack_over_voltage", "pack_under_voltage",
	"soc_low", "cell_over_voltage", "cell_under_voltage", "soc_high", "soc_jump", "pack_mismatch",
	"cell_consistency", "insulation", "dcdc_temperature", "brake_system", "dcdc_status",
	"motor_controller_temperature", "hv_interlock", "motor_temperature", "over_charge",
}

func (i Item) String() string {
	if i >= 0 && i < NumItems {
		return itemNames[i]
	}
	return fmt.Sprintf("item_%d", int(i))
}

// ParseItem reads an item name as String writes it.
func ParseItem(s string) (Item, bool) {
	for i, n := range itemNames {
		if n == s {
			return Item(i), true
		}
	}
	return 0, false
}

// Thresholds are the level 1, 2 and 3 limits of one item. For items that
// trip above a limit they increase; for those that trip below, decrease.
// NaN disables a level.
type Thresholds [3]float64

// Limits holds a vehicle's thresholds; the defaults suit a 96-cell NMC
// pack of about 350 V (the sim car, and most compact EVs).
type Limits map[Item]Thresholds

// DefaultLimits returns the defaults (units: °C, V, percent, mV, kΩ, ...).
func DefaultLimits() Limits {
	nan := math.NaN()
	return Limits{
		TempDifference:      {10, 15, 20},       // °C between hottest and coolest module
		BatteryHighTemp:     {50, 55, 60},       // °C hottest module
		PackOverVoltage:     {405, 410, 415},    // V (96 x 4.22 .. 4.32)
		PackUnderVoltage:    {300, 290, 280},    // V (96 x 3.13 .. 2.92)
		SOCLow:              {15, 10, 5},        // percent
		CellOverVoltage:     {4.22, 4.25, 4.30}, // V
		CellUnderVoltage:    {3.10, 3.00, 2.80}, // V
		SOCHigh:             {99.5, nan, nan},   // percent while not charging
		SOCJump:             {5, 10, nan},       // percent within 10 s
		PackMismatch:        {2, 5, nan},        // percent between pack and DC-link voltage
		CellConsistency:     {60, 100, 200},     // mV between highest and lowest cell
		Insulation:          {500, 250, 100},    // Ω per volt of pack voltage (GB 18384: 100 Ω/V DC minimum)
		DCDCTemp:            {85, 95, 105},      // °C
		BrakeSystem:         {1, nan, 1},        // flag: level 1 warning, level 3 fault
		DCDCStatus:          {1, 2, nan},        // 1 derating, 2 fault
		MotorControllerTemp: {80, 90, 100},      // °C inverter
		HVInterlock:         {nan, nan, 1},      // open loop: level 3
		MotorTemp:           {130, 145, 160},    // °C
		OverCharge:          {100.5, 101, 102},  // percent SOC while charging (or cell over-voltage while charging)
	}
}

// below reports whether an item trips below its thresholds.
func below(i Item) bool {
	switch i {
	case PackUnderVoltage, SOCLow, CellUnderVoltage, Insulation:
		return true
	}
	return false
}

// Inputs are the VSS paths the rules read, with fallbacks.
type Inputs struct {
	SOC, PackV, PackI, CellMax, CellMin, TempMax, TempMin, Insulation,
	DCDCTemp, DCDCState, InverterTemp, MotorTemp, HVIL, LinkV, Charging, Brake []string
}

// DefaultInputs are standard VSS paths, with the sim board's private ones
// where VSS has none. A vehicle whose signal map provides them gets the
// rules; missing inputs disable the rules that need them.
var DefaultInputs = Inputs{
	SOC:          []string{"Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", "Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed"},
	PackV:        []string{"Vehicle.Powertrain.TractionBattery.CurrentVoltage"},
	PackI:        []string{"Vehicle.Powertrain.TractionBattery.CurrentCurrent"},
	CellMax:      []string{"Vehicle.Powertrain.TractionBattery.CellVoltage.Max"},
	CellMin:      []string{"Vehicle.Powertrain.TractionBattery.CellVoltage.Min"},
	TempMax:      []string{"Vehicle.Powertrain.TractionBattery.Temperature.Max"},
	TempMin:      []string{"Vehicle.Powertrain.TractionBattery.Temperature.Min"},
	Insulation:   []string{"Vehicle.Private.EvedgeSim.InsulationResistance"},
	DCDCTemp:     []string{"Vehicle.Powertrain.TractionBattery.DCDC.Temperature"},
	DCDCState:    []string{"Vehicle.Private.EvedgeSim.DCDCState"},
	InverterTemp: []string{"Vehicle.Private.EvedgeSim.InverterTemperature"},
	MotorTemp:    []string{"Vehicle.Powertrain.ElectricMotor.Temperature"},
	HVIL:         []string{"Vehicle.Private.EvedgeSim.HVILClosed"},
	LinkV:        []string{"Vehicle.Private.EvedgeSim.InverterDCVoltage"},
	Charging:     []string{"Vehicle.Powertrain.TractionBattery.Charging.IsCharging"},
	Brake:        []string{"Vehicle.Chassis.Brake.IsDriverEmergencyBrakingDetected"},
}

// Read returns a path's last value; ok is false when it was never seen or
// is stale.
type Read func(path string) (v float64, ok bool)

// Alarm is the state of one item.
type Alarm struct {
	Item      Item      `json:"-"`
	Name      string    `json:"item"`
	Bit       int       `json:"bit"`
	Level     int       `json:"level"` // 0 cleared
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold,omitempty"`
	Since     time.Time `json:"since"`
}

type itemState struct {
	level     int       // reported level
	cand      int       // candidate level waiting for the debounce
	candSince time.Time // when cand was first seen
	since     time.Time
	value     float64
}

// Rules evaluates the alarm items once per Step.
type Rules struct {
	Limits Limits
	In     Inputs
	// Debounce is how long a level must hold before it is reported or
	// cleared (default 3 s of data time): single noisy samples do not alarm.
	Debounce time.Duration
	// Hysteresis is the fraction of a threshold a value must fall back
	// past to clear (default 2 %).
	Hysteresis float64

	st      [NumItems]itemState
	socHist []socPoint
}

type socPoint struct {
	t   time.Time
	soc float64
}

// NewRules returns rules with the default limits, overridden by over.
func NewRules(over Limits) *Rules {
	l := DefaultLimits()
	for k, v := range over {
		l[k] = v
	}
	return &Rules{Limits: l, In: DefaultInputs, Debounce: 3 * time.Second, Hysteresis: 0.02}
}

func first(read Read, paths []string) (float64, bool) {
	for _, p := range paths {
		if v, ok := read(p); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true
		}
	}
	return 0, false
}

// levelOf returns the level a value reaches (0: none) and its threshold.
func (r *Rules) levelOf(i Item, v float64, current int) (int, float64) {
	th := r.Limits[i]
	lvl, at := 0, 0.0
	for k := 2; k >= 0; k-- {
		t := th[k]
		if math.IsNaN(t) {
			continue
		}
		// Staying at a level reported already needs only to stay past the
		// threshold minus the hysteresis.
		margin := 0.0
		if k+1 <= current {
			margin = math.Abs(t) * r.Hysteresis
		}
		if below(i) && v <= t+margin || !below(i) && v >= t-margin {
			lvl, at = k+1, t
			break
		}
	}
	return lvl, at
}

// Step evaluates every item at data time now and returns the alarms whose
// level changed (raised, changed or cleared to 0).
func (r *Rules) Step(now time.Time, read Read) []Alarm {
	vals := [NumItems]float64{}
	have := [NumItems]bool{}
	set := func(i Item, v float64, ok bool) { vals[i], have[i] = v, ok }

	soc, okSOC := first(read, r.In.SOC)
	packV, okV := first(read, r.In.PackV)
	cmax, okCmax := first(read, r.In.CellMax)
	cmin, okCmin := first(read, r.In.CellMin)
	tmax, okTmax := first(read, r.In.TempMax)
	tmin, okTmin := first(read, r.In.TempMin)
	chg, okChg := first(read, r.In.Charging)
	charging := okChg && chg != 0

	set(TempDifference, tmax-tmin, okTmax && okTmin)
	set(BatteryHighTemp, tmax, okTmax)
	set(PackOverVoltage, packV, okV)
	set(PackUnderVoltage, packV, okV && packV > 50) // an open contactor reads ~0 V: no alarm
	set(SOCLow, soc, okSOC)
	set(CellOverVoltage, cmax, okCmax)
	set(CellUnderVoltage, cmin, okCmin && cmin > 0.5)
	set(SOCHigh, soc, okSOC && !charging)
	set(CellConsistency, (cmax-cmin)*1000, okCmax && okCmin && cmin > 0.5)
	if iso, ok := first(read, r.In.Insulation); ok && okV && packV > 50 {
		set(Insulation, iso*1000/packV, true) // kΩ -> Ω per volt
	}
	if v, ok := first(read, r.In.DCDCTemp); ok {
		set(DCDCTemp, v, true)
	}
	if v, ok := first(read, r.In.DCDCState); ok {
		// Sim DBC: 0 off, 1 active, 2 derating, 3 fault.
		lvl := 0.0
		switch v {
		case 2:
			lvl = 1
		case 3:
			lvl = 2
		}
		set(DCDCStatus, lvl, true)
	}
	if v, ok := first(read, r.In.InverterTemp); ok {
		set(MotorControllerTemp, v, true)
	}
	if v, ok := first(read, r.In.MotorTemp); ok {
		set(MotorTemp, v, true)
	}
	if v, ok := first(read, r.In.HVIL); ok {
		open := 0.0
		if v == 0 {
			open = 1
		}
		set(HVInterlock, open, true)
	}
	if v, ok := first(read, r.In.Brake); ok {
		set(BrakeSystem, v, true)
	}
	if link, ok := first(read, r.In.LinkV); ok && okV && packV > 50 && link > 50 {
		set(PackMismatch, math.Abs(packV-link)/packV*100, true)
	}
	if charging && okSOC {
		set(OverCharge, soc, true)
	}
	if okSOC {
		// Largest change within the last 10 s.
		r.socHist = append(r.socHist, socPoint{now, soc})
		k := 0
		for k < len(r.socHist) && now.Sub(r.socHist[k].t) > 10*time.Second {
			k++
		}
		r.socHist = r.socHist[k:]
		jump := 0.0
		for _, p := range r.socHist {
			jump = max(jump, math.Abs(soc-p.soc))
		}
		set(SOCJump, jump, true)
	}

	var out []Alarm
	for i := Item(0); i < NumItems; i++ {
		s := &r.st[i]
		want := 0
		var th float64
		if have[i] {
			want, th = r.levelOf(i, vals[i], s.level)
			s.value = vals[i]
		}
		if want == s.level {
			s.cand = want
			continue
		}
		if want != s.cand {
			s.cand, s.candSince = want, now
		}
		if now.Sub(s.candSince) < r.Debounce {
			continue
		}
		s.level, s.since = want, now
		out = append(out, Alarm{Item: i, Name: i.String(), Bit: int(i), Level: want, Value: round3(vals[i]), Threshold: th, Since: now})
	}
	return out
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Active returns the items at level 1 or more, highest level first.
func (r *Rules) Active() []Alarm {
	var out []Alarm
	for i := Item(0); i < NumItems; i++ {
		s := r.st[i]
		if s.level > 0 {
			out = append(out, Alarm{Item: i, Name: i.String(), Bit: int(i), Level: s.level, Value: round3(s.value), Since: s.since})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Level > out[b].Level })
	return out
}

// Flags returns the GB/T 32960.3 general alarm flag word and the highest
// level, as the standard's alarm data unit carries them.
func (r *Rules) Flags() (flags uint32, highest int) {
	for i := Item(0); i < NumItems; i++ {
		if l := r.st[i].level; l > 0 {
			flags |= 1 << uint(i)
			highest = max(highest, l)
		}
	}
	return flags, highest
}

// ParseLimits reads per-vehicle overrides from the configuration: item
// name -> [level 1, level 2, level 3] thresholds, in the item's unit.
func ParseLimits(m map[string][]float64) (Limits, error) {
	out := Limits{}
	for k, v := range m {
		it, ok := ParseItem(k)
		if !ok {
			return nil, fmt.Errorf("diag: unknown alarm item %q (want one of %s)", k, strings.Join(itemNames[:], ", "))
		}
		if len(v) != 3 {
			return nil, fmt.Errorf("diag: %s: want 3 thresholds (levels 1, 2, 3), got %d", k, len(v))
		}
		th := Thresholds{v[0], v[1], v[2]}
		for j := 1; j < 3; j++ {
			if below(it) && th[j] > th[j-1] || !below(it) && th[j] < th[j-1] {
				return nil, fmt.Errorf("diag: %s: levels must %s: %v", k, map[bool]string{true: "decrease", false: "increase"}[below(it)], v)
			}
		}
		out[it] = th
	}
	return out, nil
}
