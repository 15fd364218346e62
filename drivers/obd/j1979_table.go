package obd

// The SAE J1979 service 01 table: one command per PID, with the standard's
// abbreviations as signal ids. Positions and scalings are written from the
// J1979 / J1979-DA PID definitions ("data byte A" is the first byte after the
// PID; bit A7 is bix 0, bit A0 is bix 7, byte B starts at bix 8 ...).
//
// The table is checked signal by signal against OBDb's SAEJ1979 signalset
// (TestJ1979MatchesOBDb, which lists every place where we differ and why).
// The short enumeration labels (PIDs 01, 03, 12, 1C, 51, 5F, 70, 9A) follow
// OBDb's spellings so that values read the same as in OBDb-based tools:
// OBDb signalsets and test cases, https://github.com/OBDb, CC BY-SA 4.0.

import "fmt"

// Polling periods (seconds) by how fast a value changes.
const (
	jFast   = 1.0    // driving dynamics
	jSlow   = 10.0   // temperatures, levels, voltages
	jMinute = 60.0   // counters, monitor status
	jStatic = 3600.0 // what the vehicle is built with
)

// jlin is the scaling of a numeric signal: raw*mul/div + add, clamped to
// [min, max]. Zero mul or div mean 1.
type jlin struct {
	mul, div, add, min, max float64
	sign                    bool
}

func jptr(v float64) *float64 { return &v }

func jnum(id, name, unit string, bix, n int, l jlin) *Signal {
	f := Format{Bix: bix, Len: n, Sign: l.sign, Unit: unit, Max: jptr(l.max)}
	if l.mul != 0 && l.mul != 1 {
		f.Mul = jptr(l.mul)
	}
	if l.div != 0 && l.div != 1 {
		f.Div = jptr(l.div)
	}
	if l.add != 0 {
		f.Add = jptr(l.add)
	}
	if l.min != 0 {
		f.Min = jptr(l.min)
	}
	return &Signal{ID: id, Name: name, Fmt: f}
}

// jraw is an unscaled unsigned value of n bits.
func jraw(id, name, unit string, bix, n int) *Signal {
	return jnum(id, name, unit, bix, n, jlin{max: float64(uint64(1)<<n - 1)})
}

// jflag is a one-bit value; unit says how to read it (offon, noyes: 1 is
// on/yes; yesno: 1 is no, as J1979's "monitor not complete" bits).
func jflag(id, name, unit string, bix int) *Signal {
	return jnum(id, name, unit, bix, 1, jlin{max: 1})
}

// jsupport is a jhidden "data present" bit of byte A of the multi-value PIDs.
func jsupport(id, name string, bix int) *Signal {
	s := jflag(id, name, "noyes", bix)
	s.Hidden = true
	return s
}

// jpct is J1979's one-byte percentage: A*100/255.
func jpct(id, name string, bix int) *Signal {
	return jnum(id, name, "percent", bix, 8, jlin{mul: 100, div: 255, max: 100})
}

// jtemp is J1979's one-byte temperature: A-40 °C.
func jtemp(id, name string, bix int) *Signal {
	return jnum(id, name, "celsius", bix, 8, jlin{add: -40, min: -40, max: 215})
}

// jtrim is a fuel jtrim or EGR error: (A-128)*100/128 %, -100 (lean/less)
// to +99.2 (rich/more); top is the range end J1979 quotes (99.2 or 99.22).
func jtrim(id, name string, bix int, top float64) *Signal {
	return jnum(id, name, "percent", bix, 8, jlin{mul: 100, div: 128, add: -100, min: -100, max: top})
}

// jtorque is a percent torque: A-125 %.
func jtorque(id, name string, bix int) *Signal {
	return jnum(id, name, "percent", bix, 8, jlin{add: -125, min: -125, max: 130})
}

func jenum(id, name string, bix, n int, m map[string]MapEntry) *Signal {
	return &Signal{ID: id, Name: name, Fmt: Format{Bix: bix, Len: n, Map: m}}
}

func jhidden(s *Signal) *Signal { s.Hidden = true; return s }

func jmetric(s *Signal, m string) *Signal { s.SuggestedMetric = m; return s }

func jpathed(path string, sigs ...*Signal) []*Signal {
	for _, s := range sigs {
		if s.Path == "" {
			s.Path = path
		}
	}
	return sigs
}

func jcmd(pid byte, freq float64, path string, sigs ...*Signal) *Command {
	return &Command{
		Hdr:     "7DF",
		Cmd:     map[string]string{"01": fmt.Sprintf("%02X", pid)},
		Freq:    freq,
		Signals: jpathed(path, sigs...),
	}
}

// jentries builds an enumeration map from value, label, description triples.
func jentries(kv ...string) map[string]MapEntry {
	m := make(map[string]MapEntry, len(kv)/3)
	for i := 0; i+2 < len(kv); i += 3 {
		m[kv[i]] = MapEntry{Value: kv[i+1], Description: kv[i+2]}
	}
	return m
}

// jmonitors are the bits of PIDs 01 and 41 (bytes B to D, spark-ignition
// layout). rdy names the "not complete" bits, sup the "supported"/"enabled"
// ones. Byte B: bits 0-2 supported, bit 3 compression ignition, bits 4-6
// not complete; byte C: supported; byte D: not complete, C/D bit 0 catalyst
// ... bit 7 EGR.
func jmonitors(sup, rdy func(string) string, supUnit, cim string) []*Signal {
	sigs := []*Signal{
		jflag(rdy("CCM"), "Comprehensive component monitor not complete", "yesno", 9),
		jflag(rdy("FUEL"), "Fuel system monitor not complete", "yesno", 10),
		jflag(rdy("MIS"), "Misfire monitor not complete", "yesno", 11),
		jhidden(jenum(cim, "Ignition type of the monitors", 12, 1, jentries(
			"0", "SPARK", "Spark ignition monitors",
			"1", "COMPRESSION", "Compression ignition monitors"))),
		jflag(sup("CCM"), "Comprehensive component monitor "+supUnit, "noyes", 13),
		jflag(sup("FUEL"), "Fuel system monitor "+supUnit, "noyes", 14),
		jflag(sup("MIS"), "Misfire monitor "+supUnit, "noyes", 15),
	}
	// Bytes C and D, bit 7 (bix +0) down to bit 0 (bix +7).
	for i, m := range []struct{ ab, what string }{
		{"EGR", "EGR system"}, {"HTR", "Oxygen sensor heater"}, {"O2S", "Oxygen sensor"},
		{"ACRF", "A/C refrigerant"}, {"AIR", "Secondary air system"}, {"EVAP", "Evaporative system"},
		{"HCAT", "Heated catalyst"}, {"CAT", "Catalyst"},
	} {
		sigs = append(sigs,
			jflag(sup(m.ab), m.what+" monitor "+supUnit, "noyes", 16+i),
			jflag(rdy(m.ab), m.what+" monitor not complete", "yesno", 24+i))
	}
	return sigs
}

// j1979O2S are the oxygen sensor locations of PIDs 14-1B, 24-2B and 34-3B
// with the PID 13 layout (two banks of up to four sensors).
var j1979O2S = [8]string{"11", "12", "13", "14", "21", "22", "23", "24"}

func j1979Commands() []*Command {
	fuelSys := jentries(
		"0", "OFF", "Engine off",
		"1", "OL", "Open loop: conditions for closed loop not yet met",
		"2", "CL", "Closed loop, using oxygen sensor feedback",
		"4", "OL-Drive", "Open loop due to driving conditions (power enrichment, deceleration enleanment)",
		"8", "OL-Fault", "Open loop due to a detected system fault",
		"16", "CL-Fault", "Closed loop with a fault in at least one oxygen sensor",
		"32", "OL B2", "Open loop, conditions not yet met (bank 2)",
		"64", "OL-Drive B2", "Open loop due to driving conditions (bank 2)",
		"128", "OL-Fault B2", "Open loop due to a detected system fault (bank 2)")
	boost := func(ab string) map[string]MapEntry {
		return jentries(
			"1", "BP_"+ab+"_OL", "Open loop",
			"2", "BP_"+ab+"_CL", "Closed loop",
			"3", "BP_"+ab+"_FAULT", "Fault present")
	}
	chargeState := jentries(
		"0", "CSM", "Charge sustaining",
		"1", "CDM", "Charge depleting")

	cmds := []*Command{
		jcmd(0x01, jMinute, "DTCs.Generic", append([]*Signal{
			jflag("MIL", "Malfunction indicator lamp commanded on", "offon", 0),
			jnum("DTC_CNT", "Number of confirmed emission-related DTCs", "scalar", 1, 7, jlin{max: 127}),
		}, jmonitors(
			func(a string) string { return a + "_SUP" },
			func(a string) string { return a + "_RDY" },
			"supported", "CIM_SUP")...)...),
		jcmd(0x02, jMinute, "DTCs.Generic",
			jraw("DTCFRZF", "DTC that caused the freeze frame", "hex", 0, 16)),
		jcmd(0x03, jSlow, "Fuel.Generic",
			jenum("FUELSYS1", "Fuel system 1 status", 0, 8, fuelSys),
			jenum("FUELSYS2", "Fuel system 2 status", 8, 8, fuelSys)),
		jcmd(0x04, jFast, "Engine.Generic", jmetric(jpct("LOAD_PCT", "Calculated load value", 0), "engineLoad")),
		jcmd(0x05, jSlow, "Engine.Generic", jmetric(jtemp("ECT", "Engine coolant temperature", 0), "engineCoolantTemperature")),
		jcmd(0x06, jFast, "Engine.Generic", jtrim("SHRTFT1", "Short term fuel jtrim, bank 1", 0, 99.2)),
		jcmd(0x07, jSlow, "Engine.Generic", jtrim("LONGFT1", "Long term fuel jtrim, bank 1", 0, 99.2)),
		jcmd(0x08, jFast, "Engine.Generic",
			jtrim("SHRTFT2", "Short term fuel jtrim, bank 2", 0, 99.2),
			jtrim("SHRTFT4", "Short term fuel jtrim, bank 4", 8, 99.2)),
		jcmd(0x09, jSlow, "Engine.Generic",
			jtrim("LONGFT2", "Long term fuel jtrim, bank 2", 0, 99.2),
			jtrim("LONGFT4", "Long term fuel jtrim, bank 4", 8, 99.2)),
		jcmd(0x0A, jFast, "Engine.Generic", jnum("FP", "Fuel rail pressure (gauge)", "kilopascal", 0, 8, jlin{mul: 3, max: 765})),
		jcmd(0x0B, jFast, "Engine.Generic", jnum("MAP", "Intake manifold absolute pressure", "kilopascal", 0, 8, jlin{max: 255})),
		jcmd(0x0C, jFast, "Engine.Generic", jnum("RPM", "Engine speed", "rpm", 0, 16, jlin{div: 4, max: 16383.75})),
		jcmd(0x0D, jFast, "Movement.Generic", jmetric(jnum("VSS", "Vehicle speed", "kilometersPerHour", 0, 8, jlin{max: 255}), "speed")),
		jcmd(0x0E, jFast, "Engine.Generic", jnum("SPARKADV", "Ignition timing advance, cylinder 1", "degrees", 0, 8, jlin{div: 2, add: -64, min: -64, max: 63.5})),
		jcmd(0x0F, jSlow, "Engine.Generic", jtemp("IAT", "Intake air temperature", 0)),
		jcmd(0x10, jFast, "Engine.Generic", jmetric(jnum("MAF", "Mass air flow rate", "gramsPerSecond", 0, 16, jlin{div: 100, max: 655.35}), "massAirFlow")),
		jcmd(0x11, jFast, "Control.Generic", jmetric(jpct("TP", "Absolute throttle position", 0), "throttlePosition")),
		// Bits A0 (upstream) to A3 (pump on for diagnosis): a 4-bit field.
		jcmd(0x12, jMinute, "Engine.Generic", jenum("AIR_STAT", "Commanded secondary air status", 4, 4, jentries(
			"1", "UPS", "Upstream of the first catalytic converter",
			"2", "DNS", "Downstream of the first catalytic converter inlet",
			"4", "OFF", "Atmosphere or off",
			"8", "DIAG", "Pump commanded on for diagnosis"))),
	}

	// PID 13: oxygen sensor locations, bank 1 sensor 1 in A0 ... bank 2
	// sensor 4 in A7.
	var o2loc []*Signal
	for i := 7; i >= 0; i-- {
		bank, sensor := j1979O2S[i][0], j1979O2S[i][1]
		o2loc = append(o2loc, jflag("O2S"+j1979O2S[i]+"_EXISTS", fmt.Sprintf("Oxygen sensor bank %c sensor %c present", bank, sensor), "noyes", 7-i))
	}
	cmds = append(cmds, jcmd(0x13, jStatic, "Engine.Generic.OxygenSensors", o2loc...))

	// PIDs 14-1B: narrow-band sensor voltage A*0.005 V and the short term
	// jtrim B that uses it (0xFF: sensor not used for jtrim).
	for i, loc := range j1979O2S {
		cmds = append(cmds, jcmd(0x14+byte(i), jFast, "Engine.Generic.OxygenSensors",
			jnum("O2S"+loc, "Oxygen sensor voltage, bank "+loc[:1]+" sensor "+loc[1:], "volts", 0, 8, jlin{div: 200, max: 1.275}),
			jtrim("SHRTFT"+loc, "Short term fuel jtrim using oxygen sensor "+loc, 8, 99.22)))
	}

	cmds = append(cmds,
		jcmd(0x1C, jStatic, "OBD.Generic", jenum("OBDSUP", "OBD requirements the vehicle is certified to", 0, 8, j1979OBDSup())),
	)
	// PID 1D: oxygen sensor locations with up to four banks of two sensors.
	var o2loc4 []*Signal
	for i := 7; i >= 0; i-- {
		loc := fmt.Sprintf("%d%d", i/2+1, i%2+1)
		o2loc4 = append(o2loc4, jflag("O2S"+loc+"_EXISTS", fmt.Sprintf("Oxygen sensor bank %d sensor %d present (four-bank layout)", i/2+1, i%2+1), "noyes", 7-i))
	}
	cmds = append(cmds,
		jcmd(0x1D, jStatic, "Engine.Generic.OxygenSensors", o2loc4...),
		jcmd(0x1E, jFast, "Engine.Generic", jflag("PTO_STAT", "Power take-off active", "offon", 7)),
		jcmd(0x1F, jSlow, "Clocks.Generic", jraw("RUNTM", "Time since engine start", "seconds", 0, 16)),
		jcmd(0x21, jMinute, "DTCs.Generic", jraw("MIL_DIST", "Distance travelled with the MIL on", "kilometers", 0, 16)),
		jcmd(0x22, jFast, "Engine.Generic", jnum("FRP_REL", "Fuel rail pressure relative to manifold vacuum", "kilopascal", 0, 16, jlin{mul: 0.079, max: 5177.27})),
		jcmd(0x23, jFast, "Engine.Generic", jnum("FRP", "Fuel rail pressure (gauge)", "kilopascal", 0, 16, jlin{mul: 10, max: 655350})),
	)
	// PIDs 24-2B: wide-range sensor equivalence ratio (AB/32768) and
	// voltage (CD*8/65536 V).
	for i, loc := range j1979O2S {
		cmds = append(cmds, jcmd(0x24+byte(i), jFast, "Engine.Generic.OxygenSensors",
			jmetric(jnum("LAMBDA"+loc+"_VOLT", "Equivalence ratio (lambda), wide-range sensor "+loc, "scalar", 0, 16, jlin{div: 32768, max: 1.99}), "o2Lambda"),
			jnum("O2S"+loc+"_VOLT", "Wide-range oxygen sensor voltage, sensor "+loc, "volts", 16, 16, jlin{div: 8192, max: 7.999})))
	}
	cmds = append(cmds,
		jcmd(0x2C, jFast, "Engine.Generic", jpct("EGR_PCT", "Commanded EGR", 0)),
		jcmd(0x2D, jFast, "Engine.Generic", jtrim("EGR_ERR", "EGR error", 0, 99.22)),
		jcmd(0x2E, jFast, "Engine.Generic", jpct("EVAP_PCT", "Commanded evaporative purge", 0)),
		jcmd(0x2F, jSlow, "Fuel.Generic", jmetric(jpct("FLI", "Fuel level input", 0), "fuelTankLevel")),
		jcmd(0x30, jMinute, "DTCs.Generic", jraw("WARM_UPS", "Warm-ups since DTCs were cleared", "scalar", 0, 8)),
		jcmd(0x31, jMinute, "DTCs.Generic", jmetric(jraw("CLR_DIST", "Distance travelled since DTCs were cleared", "kilometers", 0, 16), "distanceSinceDTCsCleared")),
		// Signed, 0.25 Pa per bit.
		jcmd(0x32, jFast, "Engine.Generic", jnum("EVAP_VP", "Evaporative system vapour pressure", "kilopascal", 0, 16, jlin{div: 4000, min: -8.192, max: 8.19175, sign: true})),
		jcmd(0x33, jSlow, "Engine.Generic", jnum("BARO", "Barometric pressure", "kilopascal", 0, 8, jlin{max: 255})),
	)
	// PIDs 34-3B: wide-range sensor equivalence ratio and current
	// (CD/256 - 128 mA).
	for i, loc := range j1979O2S {
		cmds = append(cmds, jcmd(0x34+byte(i), jFast, "Engine.Generic.OxygenSensors",
			jmetric(jnum("LAMBDA"+loc+"_CURRENT", "Equivalence ratio (lambda), wide-range sensor "+loc, "scalar", 0, 16, jlin{div: 32768, max: 1.99}), "o2Lambda"),
			jnum("O2S"+loc+"_CURRENT", "Wide-range oxygen sensor current, sensor "+loc, "milliamps", 16, 16, jlin{div: 256, add: -128, min: -128, max: 127.996})))
	}
	// PIDs 3C-3F: catalyst temperatures, AB/10 - 40 °C.
	for i, loc := range []string{"11", "21", "12", "22"} {
		cmds = append(cmds, jcmd(0x3C+byte(i), jSlow, "Engine.Generic",
			jnum("CATEMP"+loc, "Catalyst temperature, bank "+loc[:1]+" sensor "+loc[1:], "celsius", 0, 16, jlin{div: 10, add: -40, min: -40, max: 6513.5})))
	}
	cmds = append(cmds,
		jcmd(0x41, jMinute, "DTCs.Generic.Status", jmonitors(
			func(a string) string { return a + "_ENA" },
			func(a string) string {
				// J1979 shortens three to eight characters.
				switch a {
				case "ACRF", "EVAP", "HCAT":
					return a + "CMPL"
				}
				return a + "_CMPL"
			},
			"enabled this drive cycle", "CIM_SUP_FLAG")...),
		jcmd(0x42, jSlow, "Battery.Generic", jmetric(jnum("VPWR", "Control module supply voltage", "volts", 0, 16, jlin{div: 1000, max: 65.535}), "starterBatteryVoltage")),
		jcmd(0x43, jFast, "Engine.Generic", jnum("LOAD_ABS", "Absolute load value", "percent", 0, 16, jlin{mul: 100, div: 255, max: 25700})),
		jcmd(0x44, jFast, "Engine.Generic", jmetric(jnum("EQ_RAT", "Commanded equivalence ratio", "scalar", 0, 16, jlin{div: 32768, max: 1.99}), "commandedLambda")),
		jcmd(0x45, jFast, "Control.Generic", jpct("TP_R", "Relative throttle position", 0)),
		jcmd(0x46, jSlow, "Climate.Generic", jtemp("AAT", "Ambient air temperature", 0)),
		jcmd(0x47, jFast, "Control.Generic", jmetric(jpct("TP_B", "Absolute throttle position B", 0), "throttlePosition")),
		jcmd(0x48, jFast, "Control.Generic", jmetric(jpct("TP_C", "Absolute throttle position C", 0), "throttlePosition")),
		jcmd(0x49, jFast, "Control.Pedals.Generic", jpct("APP_D", "Accelerator pedal position D", 0)),
		jcmd(0x4A, jFast, "Control.Pedals.Generic", jpct("APP_E", "Accelerator pedal position E", 0)),
		jcmd(0x4B, jFast, "Control.Pedals.Generic", jpct("APP_F", "Accelerator pedal position F", 0)),
		jcmd(0x4C, jFast, "Engine.Generic", jpct("TAC_PCT", "Commanded throttle actuator", 0)),
		jcmd(0x4D, jMinute, "DTCs.Generic", jraw("MIL_TIME", "Engine run time with the MIL on", "minutes", 0, 16)),
		jcmd(0x4E, jMinute, "DTCs.Generic", jraw("CLR_TIME", "Engine run time since DTCs were cleared", "minutes", 0, 16)),
		jcmd(0x4F, jStatic, "Engine.Generic.Internal",
			jhidden(jraw("MAX_EQ_RAT", "Maximum equivalence ratio", "scalar", 0, 8)),
			jhidden(jraw("MAX_O2_VOLT", "Maximum oxygen sensor voltage", "volts", 8, 8)),
			jhidden(jraw("MAX_O2_CURR", "Maximum oxygen sensor current", "milliamps", 16, 8)),
			jhidden(jnum("MAX_MAP", "Maximum intake manifold absolute pressure", "kilopascal", 24, 8, jlin{mul: 10, max: 2550}))),
		// Bytes B-D are reserved.
		jcmd(0x50, jStatic, "Engine.Generic.Internal",
			jhidden(jnum("MAX_MAF", "Maximum mass air flow rate", "gramsPerSecond", 0, 8, jlin{mul: 10, max: 2550}))),
		jcmd(0x51, jSlow, "Engine.Generic", jenum("FUEL_TYP", "Fuel type in use", 0, 8, j1979FuelTypes())),
		jcmd(0x52, jSlow, "Fuel.Generic", jpct("ALCH_PCT", "Alcohol fuel percentage", 0)),
		jcmd(0x53, jFast, "Engine.Generic", jnum("EVAP_VPA", "Absolute evaporative system vapour pressure", "kilopascal", 0, 16, jlin{div: 200, max: 327.675})),
		// Signed, 1 Pa per bit.
		jcmd(0x54, jFast, "Engine.Generic", jnum("EVAP_VP_WIDE", "Evaporative system vapour pressure (wide range)", "kilopascal", 0, 16, jlin{div: 1000, min: -32.768, max: 32.767, sign: true})),
		jcmd(0x55, jFast, "Engine.Generic", jtrim("STSO2FT1", "Short term secondary oxygen sensor jtrim, bank 1", 0, 99.22)),
		jcmd(0x56, jSlow, "Engine.Generic", jtrim("LGSO2FT1", "Long term secondary oxygen sensor jtrim, bank 1", 0, 99.22)),
		jcmd(0x57, jFast, "Engine.Generic", jtrim("STSO2FT2", "Short term secondary oxygen sensor jtrim, bank 2", 0, 99.22)),
		jcmd(0x58, jSlow, "Engine.Generic", jtrim("LGSO2FT2", "Long term secondary oxygen sensor jtrim, bank 2", 0, 99.22)),
		jcmd(0x59, jFast, "Engine.Generic", jnum("FRP_ABS", "Fuel rail pressure (absolute)", "kilopascal", 0, 16, jlin{mul: 10, max: 655350})),
		jcmd(0x5A, jFast, "Control.Pedals.Generic", jpct("APP_R", "Relative accelerator pedal position", 0)),
		jcmd(0x5B, jSlow, "Battery.Generic", jmetric(jpct("BAT_SOC", "Hybrid/EV battery pack remaining charge", 0), "stateOfCharge")),
		jcmd(0x5C, jSlow, "Engine.Generic", jmetric(jnum("EOT", "Engine oil temperature", "celsius", 0, 8, jlin{add: -40, min: -40, max: 210}), "engineOilTemperature")),
		// (AB/128) - 210 degrees.
		jcmd(0x5D, jFast, "Engine.Generic", jnum("FUEL_TIMING", "Fuel injection timing", "degrees", 0, 16, jlin{div: 128, add: -210, min: -210, max: 301.992})),
		jcmd(0x5E, jFast, "Fuel.Generic", jmetric(jnum("FUEL_RATE", "Engine fuel rate", "litersPerHour", 0, 16, jlin{div: 20, max: 3212.75}), "fuelRate")),
		jcmd(0x5F, jStatic, "Emissions.Generic", jenum("EMIS_SUP", "Emission requirements the vehicle is designed to", 0, 8, jentries(
			"14", "EURO IV B1", "Heavy duty vehicles (Euro IV) B1",
			"15", "EURO V B2", "Heavy duty vehicles (Euro V) B2",
			"16", "EURO C", "Heavy duty vehicles (EEV) C",
			"17", "EURO VI", "Heavy duty vehicles (Euro VI)"))),
		jcmd(0x61, jFast, "Engine.Generic", jtorque("TQ_DD", "Driver's demand engine torque", 0)),
		jcmd(0x62, jFast, "Engine.Generic", jtorque("TQ_ACT", "Actual engine torque", 0)),
		jcmd(0x63, jStatic, "Engine.Generic", jraw("TQ_REF", "Engine reference torque", "newtonMeters", 0, 16)),
		jcmd(0x64, jStatic, "Engine.Generic.Internal",
			jhidden(jtorque("TQ_MAX1", "Engine percent jtorque at idle (point 1)", 0)),
			jhidden(jtorque("TQ_MAX2", "Engine percent jtorque at point 2", 8)),
			jhidden(jtorque("TQ_MAX3", "Engine percent jtorque at point 3", 16)),
			jhidden(jtorque("TQ_MAX4", "Engine percent jtorque at point 4", 24)),
			jhidden(jtorque("TQ_MAX5", "Engine percent jtorque at point 5", 32))),
		// A: A0 PTO, A1 N/D, A2 N/G, A3 glow plug, A4 recommended gear
		// supported; B: the same statuses, gear in B4-B7.
		jcmd(0x65, jFast, "Engine.Generic.AuxInputs",
			jsupport("GEAR_SUP", "Recommended gear supported", 3),
			jsupport("GPL_SUP", "Glow plug lamp status supported", 4),
			jsupport("N/G_SUP", "Manual transmission neutral gear status supported", 5),
			jsupport("N/D_SUP", "Automatic transmission neutral/drive status supported", 6),
			jsupport("PTO_SUP", "Power take-off status supported", 7),
			jraw("GEAR_RCMD", "Recommended gear", "scalar", 8, 4),
			jflag("GPL_STAT", "Glow plug lamp on", "offon", 12),
			jflag("N/G_STAT", "Manual transmission in gear (not neutral)", "noyes", 13),
			jflag("N/D_STAT", "Automatic transmission in drive (not park/neutral)", "noyes", 14),
			jflag("PTO_STAT_AUX", "Power take-off active", "offon", 15)),
		jcmd(0x66, jFast, "Engine.Generic",
			jsupport("MAFB_SUP", "Mass air flow sensor B supported", 6),
			jsupport("MAFA_SUP", "Mass air flow sensor A supported", 7),
			jmetric(jnum("MAFA", "Mass air flow sensor A", "gramsPerSecond", 8, 16, jlin{div: 32, max: 2047.96875}), "massAirFlow"),
			jmetric(jnum("MAFB", "Mass air flow sensor B", "gramsPerSecond", 24, 16, jlin{div: 32, max: 2047.96875}), "massAirFlow")),
		jcmd(0x67, jSlow, "Engine.Generic",
			jsupport("ECT_2_SUP", "Engine coolant temperature sensor 2 supported", 6),
			jsupport("ECT_1_SUP", "Engine coolant temperature sensor 1 supported", 7),
			jtemp("ECT_1", "Engine coolant temperature 1", 8),
			jtemp("ECT_2", "Engine coolant temperature 2", 16)),
		jcmd(0x68, jSlow, "Engine.Generic",
			jsupport("IAT_23_SUP", "Intake air temperature bank 2 sensor 3 supported", 2),
			jsupport("IAT_22_SUP", "Intake air temperature bank 2 sensor 2 supported", 3),
			jsupport("IAT_21_SUP", "Intake air temperature bank 2 sensor 1 supported", 4),
			jsupport("IAT_13_SUP", "Intake air temperature bank 1 sensor 3 supported", 5),
			jsupport("IAT_12_SUP", "Intake air temperature bank 1 sensor 2 supported", 6),
			jsupport("IAT_11_SUP", "Intake air temperature bank 1 sensor 1 supported", 7),
			jtemp("IAT_11", "Intake air temperature, bank 1 sensor 1", 8),
			jtemp("IAT_12", "Intake air temperature, bank 1 sensor 2", 16),
			jtemp("IAT_13", "Intake air temperature, bank 1 sensor 3", 24),
			jtemp("IAT_21", "Intake air temperature, bank 2 sensor 1", 32),
			jtemp("IAT_22", "Intake air temperature, bank 2 sensor 2", 40),
			jtemp("IAT_23", "Intake air temperature, bank 2 sensor 3", 48)),
		jcmd(0x69, jFast, "Engine.Generic",
			jsupport("EGR_B_ERR_SUP", "EGR B error supported", 2),
			jsupport("EGR_B_ACT_SUP", "Actual EGR B supported", 3),
			jsupport("EGR_B_CMD_SUP", "Commanded EGR B supported", 4),
			jsupport("EGR_A_ERR_SUP", "EGR A error supported", 5),
			jsupport("EGR_A_ACT_SUP", "Actual EGR A supported", 6),
			jsupport("EGR_A_CMD_SUP", "Commanded EGR A supported", 7),
			jpct("EGR_A_CMD", "Commanded EGR A duty cycle or position", 8),
			jpct("EGR_A_ACT", "Actual EGR A duty cycle or position", 16),
			jtrim("EGR_A_ERR", "EGR A error", 24, 99.22),
			jpct("EGR_B_CMD", "Commanded EGR B duty cycle or position", 32),
			jpct("EGR_B_ACT", "Actual EGR B duty cycle or position", 40),
			jtrim("EGR_B_ERR", "EGR B error", 48, 99.22)),
	)
	// PID 6B: EGR temperatures A (bank 1 sensor 1), C (bank 1 sensor 2), B
	// (bank 2 sensor 1), D (bank 2 sensor 2) in bytes B to E; A0-A3 say
	// which are present, A4-A7 which use the wide range (A*4 - 40 °C).
	egrt := []*Signal{
		jsupport("EGRTD_WR_SUP", "EGR temperature D is wide range", 0),
		jsupport("EGRTB_WR_SUP", "EGR temperature B is wide range", 1),
		jsupport("EGRTC_WR_SUP", "EGR temperature C is wide range", 2),
		jsupport("EGRTA_WR_SUP", "EGR temperature A is wide range", 3),
		jsupport("EGRTD_SUP", "EGR temperature D supported", 4),
		jsupport("EGRTB_SUP", "EGR temperature B supported", 5),
		jsupport("EGRTC_SUP", "EGR temperature C supported", 6),
		jsupport("EGRTA_SUP", "EGR temperature A supported", 7),
	}
	for i, s := range []string{"A", "C", "B", "D"} {
		bix := 8 + 8*i
		egrt = append(egrt,
			jtemp("EGRT"+s, "EGR temperature "+s, bix),
			jnum("EGRT"+s+"_WIDE", "EGR temperature "+s+" (wide range)", "celsius", bix, 8, jlin{mul: 4, add: -40, min: -40, max: 980}))
	}
	cmds = append(cmds,
		jcmd(0x6B, jSlow, "Engine.Generic", egrt...),
		jcmd(0x6C, jFast, "Engine.Generic",
			jsupport("RTP_B_SUP", "Relative throttle B position supported", 4),
			jsupport("CTAC_B_SUP", "Commanded throttle actuator B supported", 5),
			jsupport("RTP_A_SUP", "Relative throttle A position supported", 6),
			jsupport("CTAC_A_SUP", "Commanded throttle actuator A supported", 7),
			jpct("TAC_A_CMD", "Commanded throttle actuator A", 8),
			jpct("TP_A_REL", "Relative throttle A position", 16),
			jpct("TAC_B_CMD", "Commanded throttle actuator B", 24),
			jpct("TP_B_REL", "Relative throttle B position", 32)),
		jcmd(0x6D, jFast, "Fuel.Generic",
			jsupport("FRT_B_SUP", "Fuel temperature B supported", 2),
			jsupport("FRP_B_SUP", "Fuel rail pressure B supported", 3),
			jsupport("FRP_B_CMD_SUP", "Commanded fuel rail pressure B supported", 4),
			jsupport("FRT_A_SUP", "Fuel temperature A supported", 5),
			jsupport("FRP_A_SUP", "Fuel rail pressure A supported", 6),
			jsupport("FRP_A_CMD_SUP", "Commanded fuel rail pressure A supported", 7),
			jnum("FRP_A_CMD", "Commanded fuel rail pressure A", "kilopascal", 8, 16, jlin{mul: 10, max: 655350}),
			jnum("FRP_A", "Fuel rail pressure A", "kilopascal", 24, 16, jlin{mul: 10, max: 655350}),
			jtemp("FRT_A", "Fuel rail temperature A", 40),
			jnum("FRP_B_CMD", "Commanded fuel rail pressure B", "kilopascal", 48, 16, jlin{mul: 10, max: 655350}),
			jnum("FRP_B", "Fuel rail pressure B", "kilopascal", 64, 16, jlin{mul: 10, max: 655350}),
			jtemp("FRT_B", "Fuel rail temperature B", 80)),
		// Byte J: J0-J1 boost A control status, J2-J3 boost B.
		jcmd(0x70, jFast, "Engine.Generic",
			jsupport("BP_B_SUP", "Boost pressure B control status supported", 2),
			jsupport("BP_B_ACT_SUP", "Boost pressure B supported", 3),
			jsupport("BP_B_CMD_SUP", "Commanded boost pressure B supported", 4),
			jsupport("BP_A_SUP", "Boost pressure A control status supported", 5),
			jsupport("BP_A_ACT_SUP", "Boost pressure A supported", 6),
			jsupport("BP_A_CMD_SUP", "Commanded boost pressure A supported", 7),
			jnum("BP_A_CMD", "Commanded boost pressure A", "kilopascal", 8, 16, jlin{div: 32, max: 2047.96875}),
			jnum("BP_A_ACT", "Boost pressure A", "kilopascal", 24, 16, jlin{div: 32, max: 2047.96875}),
			jnum("BP_B_CMD", "Commanded boost pressure B", "kilopascal", 40, 16, jlin{div: 32, max: 2047.96875}),
			jnum("BP_B_ACT", "Boost pressure B", "kilopascal", 56, 16, jlin{div: 32, max: 2047.96875}),
			jenum("BP_B", "Boost pressure B control status", 76, 2, boost("B")),
			jenum("BP_A", "Boost pressure A control status", 78, 2, boost("A"))),
		jcmd(0x72, jFast, "Engine.Generic",
			jsupport("WG_B_ACT_SUP", "Wastegate B position supported", 4),
			jsupport("WG_B_CMD_SUP", "Commanded wastegate B supported", 5),
			jsupport("WG_A_ACT_SUP", "Wastegate A position supported", 6),
			jsupport("WG_A_CMD_SUP", "Commanded wastegate A supported", 7),
			jpct("WG_A_CMD", "Commanded wastegate A position", 8),
			jpct("WG_A_ACT", "Wastegate A position", 16),
			jpct("WG_B_CMD", "Commanded wastegate B position", 24),
			jpct("WG_B_ACT", "Wastegate B position", 32)),
		jcmd(0x7F, jMinute, "Engine.Generic",
			jsupport("PTO_TIME_SUP", "Run time with PTO active supported", 5),
			jsupport("IDLE_TIME_SUP", "Idle run time supported", 6),
			jsupport("RUN_TIME_SUP", "Total run time supported", 7),
			jraw("RUN_TIME", "Total engine run time", "seconds", 8, 32),
			jraw("IDLE_TIME", "Total idle run time", "seconds", 40, 32),
			jraw("PTO_TIME", "Total run time with PTO active", "seconds", 72, 32)),
		jcmd(0x84, jSlow, "Engine.Generic", jtemp("MST", "Manifold surface temperature", 0)),
		jcmd(0x8D, jFast, "Engine.Generic", jmetric(jpct("TP_G", "Absolute throttle position G", 0), "throttlePosition")),
		jcmd(0x8E, jFast, "Engine.Generic", jtorque("TQ_FR", "Engine friction, percent torque", 0)),
		// Hybrid/EV system data. The charging-state bit positions are
		// OBDb's (J1979-DA was not at hand to confirm them): HEV_MODE and
		// EHEV_MODE sit in the top bits of byte A, the jsupport bits in
		// A0-A3, voltage in CD (1/64 V), current in EF (signed, 0.1 A).
		jcmd(0x9A, jFast, "Battery.Generic",
			jsupport("EHEV_MODE_SUP", "Enhanced charging state supported", 4),
			jsupport("HEV_BATT_A_SUP", "Battery current supported", 5),
			jsupport("HEV_BATT_V_SUP", "Battery voltage supported", 6),
			jsupport("HEV_MODE_SUP", "Charging state supported", 7),
			jnum("HEV_BATT_V", "Hybrid/EV battery system voltage", "volts", 16, 16, jlin{div: 64, max: 1023.98}),
			jnum("HEV_BATT_A", "Hybrid/EV battery system current", "amps", 32, 16, jlin{div: 10, min: -3276.8, max: 3276.7, sign: true}),
			jenum("HEV_MODE", "Hybrid/EV charging state", 0, 1, chargeState),
			jenum("EHEV_MODE", "Hybrid/EV charging state (enhanced)", 1, 2, jentries(
				"0", "CSM", "Charge sustaining",
				"1", "CDM", "Charge depleting",
				"2", "CIM", "Charge increasing"))),
		jcmd(0x9D, jFast, "Fuel.Generic",
			jnum("FUEL_RATE_ALT", "Engine fuel rate", "gramsPerSecond", 0, 16, jlin{div: 50, max: 1310.7}),
			jnum("VFUEL_RATE", "Vehicle fuel rate", "gramsPerSecond", 16, 16, jlin{div: 50, max: 1310.7})),
		jcmd(0x9E, jFast, "Fuel.Generic", jnum("EXH_RATE", "Engine exhaust flow rate", "kilogramsPerHour", 0, 16, jlin{div: 5, max: 13107})),
	)
	// PID 9F: fuel system A and B use per bank; A(2k+1) supported bits.
	fsys := make([]*Signal, 0, 16)
	for bank := 4; bank >= 1; bank-- {
		for _, sys := range []string{"B", "A"} {
			bix := 8 - 2*bank
			if sys == "A" {
				bix++
			}
			fsys = append(fsys, jhidden(jflag(fmt.Sprintf("FUELSYS%s_B%d_SUP", sys, bank), fmt.Sprintf("Fuel system %s use, bank %d supported", sys, bank), "noyes", bix)))
		}
	}
	for bank := 1; bank <= 4; bank++ {
		for i, sys := range []string{"A", "B"} {
			fsys = append(fsys, jpct(fmt.Sprintf("FUELSYS%s_B%d", sys, bank), fmt.Sprintf("Fuel system %s use, bank %d", sys, bank), 8+16*(bank-1)+8*i))
		}
	}
	cmds = append(cmds,
		jcmd(0x9F, jSlow, "Fuel.Generic", fsys...),
		jcmd(0xA2, jFast, "Engine.Generic", jnum("CYL_RATE", "Cylinder fuel rate", "milligramsPerStroke", 0, 16, jlin{div: 32, max: 2047.96875})),
		jcmd(0xA6, jMinute, "Trips.Generic", jmetric(jnum("ODO", "Odometer", "kilometers", 0, 32, jlin{div: 10, max: 429496729.5}), "odometer")),
		jcmd(0xAA, jSlow, "Movement.Generic", jraw("V_SET", "Current vehicle speed limit", "kilometersPerHour", 0, 8)),
		jcmd(0xB2, jMinute, "Battery.Generic", jpct("BAT_SOH", "Traction battery state of health", 0)),
		jcmd(0xD2, jStatic, "Battery.Generic",
			jflag("SOCR_SUP", "State of certified range supported", "noyes", 6),
			jflag("SOCE_SUP", "State of certified energy supported", "noyes", 7),
			jmetric(jpct("SOCE", "State of certified energy", 8), "stateOfHealth"),
			jmetric(jpct("SOCR", "State of certified range", 16), "stateOfHealth")),
		jcmd(0xD3, jMinute, "Trips.Generic", jnum("ODO_ENG", "Engine odometer", "kilometers", 0, 32, jlin{div: 10, max: 429496729.5})),
	)
	return cmds
}

// j1979OBDSup are the values of PID 1C.
func j1979OBDSup() map[string]MapEntry {
	return jentries(
		"1", "OBD II", "OBD-II as defined by the California ARB",
		"2", "OBD", "OBD as defined by the US EPA",
		"3", "OBD & OBD II", "OBD and OBD-II",
		"4", "OBD I", "OBD-I",
		"5", "NO OBD", "Not OBD compliant",
		"6", "EOBD", "EOBD (Europe)",
		"7", "EOBD & OBD II", "EOBD and OBD-II",
		"8", "EOBD & OBD", "EOBD and OBD",
		"9", "EOBD, OBD, OBD II", "EOBD, OBD and OBD-II",
		"10", "JOBD", "JOBD (Japan)",
		"11", "JOBD & OBD II", "JOBD and OBD-II",
		"12", "JOBD & EOBD", "JOBD and EOBD",
		"13", "JOBD, EOBD, OBD II", "JOBD, EOBD and OBD-II",
		"14", "EURO IV B1", "Heavy duty vehicles, Euro IV B1",
		"15", "EURO V B2", "Heavy duty vehicles, Euro V B2",
		"16", "EURO C", "Heavy duty vehicles, EEV C (gas engines)",
		"17", "EMD", "Engine manufacturer diagnostics",
		"18", "EMD+", "Engine manufacturer diagnostics enhanced",
		"19", "HD OBD-C", "Heavy duty OBD (child/partial)",
		"20", "HD OBD", "Heavy duty OBD",
		"21", "WWH OBD", "World-wide harmonised OBD",
		"23", "HD EOBD-I", "Heavy duty Euro OBD stage I without NOx control",
		"24", "HD EOBD-I N", "Heavy duty Euro OBD stage I with NOx control",
		"25", "HD EOBD-II", "Heavy duty Euro OBD stage II without NOx control",
		"26", "HD EOBD-II N", "Heavy duty Euro OBD stage II with NOx control",
		"27", "HD-ZEV", "Heavy duty zero emission vehicle",
		"28", "OBDBr-1", "Brazil OBD phase 1",
		"29", "OBDBr-2", "Brazil OBD phase 2 and 2+",
		"30", "KOBD", "Korean OBD",
		"31", "IOBD-I-BS4", "India OBD I (BS4)",
		"32", "IOBD-II-BS4", "India OBD II (BS4)",
		"33", "HD EOBD-VI", "Heavy duty Euro OBD stage VI",
		"34", "OBD, OBD II and HD OBD", "OBD, OBD-II and heavy duty OBD",
		"35", "OBDBr-3", "Brazil OBD phase 3",
		"36", "MC EOBD-I", "Motorcycle Euro OBD-I",
		"37", "MC EOBD-II", "Motorcycle Euro OBD-II",
		"38", "MC COBD-I", "Motorcycle China OBD-I",
		"39", "MC TOBD-I", "Motorcycle Taiwan OBD-I",
		"40", "MC JOBD-I", "Motorcycle Japan OBD-I",
		"41", "CN-OBD-6", "China nationwide stage 6",
		"42", "OBDBr-P7", "Brazil OBD phase 7",
		"43", "CN-HDOBD-VI", "China heavy duty stage VI",
		"44", "IOBD-I-BS6", "India OBD I (BS6)",
		"45", "IOBD-II-BS6", "India OBD II (BS6)",
		"46", "IHDOBD-BSVI", "India heavy duty OBD (BS VI)",
		"47", "OBDBr-P8", "Brazil OBD phase 8",
		"48", "HD-JOBD-II", "Japan heavy duty OBD-II",
		"49", "HD-KOBD-II", "Korea heavy duty OBD-II",
		"50", "CN-OROBD-IV", "China off-road stage IV",
		"51", "CARB ACC-II", "Light duty zero emission vehicle, CARB ACC-II",
		"52", "MC JOBD-II", "Motorcycle Japan OBD-II",
		"53", "MC CARB OBD", "Motorcycle California OBD",
		"54", "MC EPA OBD", "Motorcycle federal (EPA) OBD",
		"55", "MC CARB & EPA OBD", "Motorcycle 50-state OBD",
		"56", "HD ZEV CARB ZEP", "Heavy duty zero emission vehicle, CARB ZEP",
		"57", "CARB ACC-II & EPA TIER4", "Light duty zero emission vehicle, CARB ACC-II and EPA tier 4",
		"58", "EPA TIER4", "Light duty zero emission vehicle, EPA tier 4",
		"59", "EPA HD", "EPA heavy duty OBD",
	)
}

// j1979FuelTypes are the values of PID 51 (J1979 fuel type coding).
func j1979FuelTypes() map[string]MapEntry {
	return jentries(
		"1", "GAS", "Gasoline",
		"2", "METH", "Methanol",
		"3", "ETH", "Ethanol",
		"4", "DSL", "Diesel",
		"5", "LPG", "Liquefied petroleum gas",
		"6", "CNG", "Compressed natural gas",
		"7", "PROP", "Propane",
		"8", "ELEC", "Electric",
		"9", "BI_GAS", "Bi-fuel running gasoline",
		"10", "BI_METH", "Bi-fuel running methanol",
		"11", "BI_ETH", "Bi-fuel running ethanol",
		"12", "BI_LPG", "Bi-fuel running LPG",
		"13", "BI_CNG", "Bi-fuel running CNG",
		"14", "BI_PROP", "Bi-fuel running propane",
		"15", "BI_ELEC", "Bi-fuel running electricity",
		"16", "BI_MIX", "Bi-fuel running electric and combustion engine",
		"17", "HYB_GAS", "Hybrid gasoline",
		"18", "HYB_ETH", "Hybrid ethanol",
		"19", "HYB_DSL", "Hybrid diesel",
		"20", "HYB_ELEC", "Hybrid electric",
		"21", "HYB_MIX", "Hybrid running electric and combustion engine",
		"22", "HYB_REG", "Hybrid regenerative",
		"23", "BI_DSL", "Bi-fuel running diesel",
		"24", "BI_NG", "Bi-fuel running natural gas",
		"25", "BI_DSL", "Bi-fuel running diesel (alternative code)",
		"26", "NG", "Natural gas",
		"27", "DSL_CNG", "Dual fuel, diesel and CNG",
		"28", "DSL_LNG", "Dual fuel, diesel and LNG",
		"29", "FC_H2", "Fuel cell, hydrogen",
		"30", "HICE_HHO", "Hydrogen combustion engine",
		"31", "KERO", "Kerosene",
		"32", "HFO", "Heavy fuel oil",
	)
}
