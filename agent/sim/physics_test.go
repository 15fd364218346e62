package sim

import (
	"math"
	"strings"
	"testing"
	"time"
)

// nmcCurve is the cell's open-circuit voltage curve as specified (SOC,
// volts) at the points the tests use; OCV interpolates linearly between
// 5 % points.
var nmcCurve = [][2]float64{
	{0, 3.000}, {0.05, 3.420}, {0.10, 3.520}, {0.45, 3.730}, {0.50, 3.760},
	{0.55, 3.795}, {0.60, 3.835}, {0.65, 3.875}, {0.70, 3.915}, {0.75, 3.955},
	{0.80, 3.995}, {0.95, 4.130}, {1.00, 4.180},
}

// curveAt interpolates nmcCurve (only between listed neighbours 5 % apart).
func curveAt(t *testing.T, soc float64) float64 {
	t.Helper()
	for i := 1; i < len(nmcCurve); i++ {
		a, b := nmcCurve[i-1], nmcCurve[i]
		if soc >= a[0] && soc <= b[0] {
			if b[0]-a[0] > 0.0501 {
				t.Fatalf("curve point for SOC %.3f not in the test table", soc)
			}
			return a[1] + (soc-a[0])/(b[0]-a[0])*(b[1]-a[1])
		}
	}
	t.Fatalf("SOC %.3f outside the curve", soc)
	return 0
}

func TestOCVCurve(t *testing.T) {
	for _, c := range []struct{ soc, want float64 }{
		{0, 3.000}, {0.05, 3.420}, {0.5, 3.760}, {0.525, 3.7775}, {0.97, 4.150}, {1, 4.180},
		{-0.01, 2.916}, // the knee's slope continues below empty: 3.0 - 0.2*0.42
	} {
		if got := OCV(c.soc); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("OCV(%v) = %.4f, want %.4f", c.soc, got, c.want)
		}
	}
	prev := 0.0
	for soc := 0.0; soc <= 1; soc += 0.001 {
		v := OCV(soc)
		if v <= prev {
			t.Fatalf("OCV not increasing at SOC %.3f: %.4f after %.4f", soc, v, prev)
		}
		prev = v
	}
	if v := OCV(math.NaN()); v != 3.0 && v != 2.0 {
		t.Errorf("OCV(NaN) = %v, want a bounded value", v)
	}
}

// TestRestVoltageOnCurve drives a WLTP cycle, then parks for 40 minutes:
// with no current and the RC pair relaxed (tau 30 s), every cell must sit
// on the OCV curve at its own state of charge, and the pack voltage is the
// sum of the cells.
func TestRestVoltageOnCurve(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) {
		c.Scenario = "wltp,park"
		c.ParkTime = 40 * time.Minute
	})
	if !runUntil(s, time.Minute, 2*time.Hour, func(st *State) bool { return st.Phase == PhasePark }) {
		t.Fatal("never parked")
	}
	s.Step(35 * time.Minute)
	st := s.State()
	if st.Phase != PhasePark || st.PackCurrent != 0 || st.Contactor != ContactorOpen {
		t.Fatalf("phase %s, current %v, contactor %v: expected parked with contactors open", st.Phase, st.PackCurrent, st.Contactor)
	}
	sum, socSum := 0.0, 0.0
	for i, v := range st.Cells {
		if want := curveAt(t, st.CellSOC[i]); math.Abs(v-want) > 0.0005 {
			t.Errorf("cell %d at SOC %.4f rests at %.4f V, curve says %.4f V", i, st.CellSOC[i], v, want)
		}
		sum += v
		socSum += st.CellSOC[i]
	}
	if math.Abs(sum-st.PackVoltage) > 1e-9 {
		t.Errorf("pack voltage %.4f V, sum of cells %.4f V", st.PackVoltage, sum)
	}
	// WLTP from 80 % uses about 3.5 kWh of 63 kWh: the pack rests near
	// 74 %, where the curve gives 3.915 + 0.8*(0.04) V per cell.
	mean := socSum / float64(len(st.Cells))
	if mean < 0.70 || mean > 0.78 {
		t.Fatalf("mean SOC after one WLTP cycle %.3f, expected 0.70..0.78", mean)
	}
	if want := 96 * curveAt(t, mean); math.Abs(st.PackVoltage-want) > 0.3 {
		t.Errorf("pack rests at %.2f V, 96 x OCV(%.3f) = %.2f V", st.PackVoltage, mean, want)
	}
}

// TestCellSagUnderLoad: cruising at 120 km/h, each cell sits below its
// OCV by I*(R0+R1) once the RC pair has settled, with resistance scaled by
// exp(0.035*(25-T)).
func TestCellSagUnderLoad(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Scenario = PhaseHighway; c.ResistanceSpread = 0 })
	s.Step(400 * time.Second) // steady 120 km/h from about 130 s to 550 s
	st := s.State()
	if math.Abs(st.Speed-120) > 0.01 || math.Abs(st.Accel) > 0.01 {
		t.Fatalf("speed %.2f km/h, accel %.3f: expected steady 120 km/h", st.Speed, st.Accel)
	}
	rf := math.Exp(0.035 * (25 - st.TempAvg))
	want := st.PackCurrent * (0.00022 + 0.00012) * rf
	sag := 0.0
	for i, v := range st.Cells {
		sag += curveAt(t, st.CellSOC[i]) - v
	}
	sag /= float64(len(st.Cells))
	if math.Abs(sag-want) > 0.1*want {
		t.Errorf("mean cell sag %.2f mV at %.1f A, expected I*(R0+R1)*%.3f = %.2f mV", sag*1e3, st.PackCurrent, rf, want*1e3)
	}

	// Road load at 120 km/h (33.33 m/s): rolling 1850*9.81*0.009 = 163.3 N,
	// drag 0.5*1.2*0.68*33.33² = 453.3 N, 616.7 N in all: 20.56 kW at the
	// wheels, 21.19 kW at the motor shaft through the 97 % gear. Add 0.3 kW
	// HVAC and 0.35 kW of 12 V loads for the least the battery can give;
	// allow 90 % for motor and inverter and 1 kW of auxiliaries at most.
	lo, hi := 21.19+0.3+0.35, 21.19/0.9+1.0
	if st.PackPower < lo || st.PackPower > hi {
		t.Errorf("battery power at 120 km/h %.2f kW, expected %.2f..%.2f kW", st.PackPower, lo, hi)
	}
}

// TestCoulombCounting drives one WLTP cycle and integrates the pack
// current: the change of SOC must equal the charge over the capacity, for
// the BMS's count and for the mean of the cells' own (spread) capacities.
func TestCoulombCounting(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Scenario = PhaseWLTP; c.ParkTime = -1 })
	st0 := s.State()
	tick := s.Config().Tick
	ah := 0.0
	for s.Elapsed() < 30*time.Minute {
		s.Step(tick)
		ah += s.State().PackCurrent * tick.Hours()
	}
	st := s.State()
	if ah < 5 || ah > 15 {
		t.Fatalf("one WLTP cycle took %.2f Ah, expected 5..15 (3..5 kWh at 370 V)", ah)
	}
	want := ah / st.CapacityAh * 100
	for _, c := range []struct {
		name   string
		change float64
	}{{"BMS SOC", st0.SOC - st.SOC}, {"mean cell SOC", st0.TrueSOC - st.TrueSOC}} {
		if math.Abs(c.change-want) > 0.005*want {
			t.Errorf("%s fell %.4f %%, %.3f Ah of %.2f Ah is %.4f %%", c.name, c.change, ah, st.CapacityAh, want)
		}
	}
	if got := st.ChargeOut - st.ChargeIn; math.Abs(got-ah) > 1e-6 {
		t.Errorf("sim counted %.4f Ah net, test %.4f Ah", got, ah)
	}
}

// TestDriveCycles checks the speed traces: peak speeds, the WLTP-like
// cycle's length and distance (WLTC class 3b: 1800 s, 23.27 km, 131.3
// km/h), reversing in the urban cycle.
func TestDriveCycles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		phase          string
		peak, min      float64 // km/h
		dur            time.Duration
		distLo, distHi float64 // km
	}{
		{PhaseWLTP, 131.3, 0, 1800 * time.Second, 22.8, 23.8},
		{PhaseHighway, 120, 0, 1551 * time.Second, 46, 49},
		{PhaseUrban, 50, -6, 14 * time.Minute, 4.5, 6},
	} {
		s := newSim(t, func(cfg *Config) { cfg.Scenario = c.phase; cfg.ParkTime = -1 })
		peak, low := 0.0, 0.0
		var distAtEnd float64
		for s.Elapsed() < c.dur+10*time.Second {
			s.Step(200 * time.Millisecond)
			st := s.State()
			peak, low = math.Max(peak, st.Speed), math.Min(low, st.Speed)
			if st.Phase != c.phase {
				t.Fatalf("%s: phase %s", c.phase, st.Phase)
			}
			distAtEnd = st.Trip
		}
		if math.Abs(peak-c.peak) > 0.2 {
			t.Errorf("%s: peak %.2f km/h, want %.1f", c.phase, peak, c.peak)
		}
		if math.Abs(low-c.min) > 0.2 {
			t.Errorf("%s: lowest speed %.2f km/h, want %.1f", c.phase, low, c.min)
		}
		if distAtEnd < c.distLo || distAtEnd > c.distHi {
			t.Errorf("%s: %.2f km, expected %.1f..%.1f", c.phase, distAtEnd, c.distLo, c.distHi)
		}
	}
}

// TestProfiles checks the synthesised speed traces themselves against the
// WLTC class 3b figures (1800 s, 23.27 km, 131.3 km/h).
func TestProfiles(t *testing.T) {
	w := wltpProfile()
	if w.duration() != 1800 || math.Abs(w.distance()-23.27) > 0.01*23.27 || w.peak() != 131.3 {
		t.Errorf("WLTP-like: %v s, %.2f km, peak %v km/h", w.duration(), w.distance(), w.peak())
	}
	if h := highwayProfile(); h.peak() != 120 {
		t.Errorf("highway peak %v km/h", h.peak())
	}
	if u := urbanProfile(); u.peak() != 50 {
		t.Errorf("urban peak %v km/h", u.peak())
	}
	hint := 0
	for _, c := range []struct{ t, v float64 }{{0, 0}, {11, 0}, {11 + 20/3.6/0.8/2, 10}, {1800, 0}, {5000, 0}} {
		if got := w.at(c.t, &hint); math.Abs(got-c.v) > 1e-9 {
			t.Errorf("WLTP-like at %v s: %v km/h, want %v", c.t, got, c.v)
		}
	}
}

// TestWLTPConsumption drives an hour of WLTP-like cycles: battery energy
// per distance must be plausible for a 1.85 t car (12..22 kWh/100 km).
func TestWLTPConsumption(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Scenario = PhaseWLTP; c.ParkTime = -1 })
	tick := s.Config().Tick
	kwh := 0.0
	for s.Elapsed() < time.Hour {
		s.Step(tick)
		kwh += s.State().PackPower * tick.Hours()
	}
	st := s.State()
	per100 := kwh / st.Trip * 100
	t.Logf("WLTP-like: %.2f km, %.2f kWh, %.1f kWh/100 km, SOC %.1f %%", st.Trip, kwh, per100, st.SOC)
	if per100 < 12 || per100 > 22 {
		t.Errorf("%.1f kWh/100 km, expected 12..22", per100)
	}
	if st.Trip < 46 || st.Trip > 47.5 {
		t.Errorf("an hour of WLTP is %.2f km, expected two cycles of 23.3 km", st.Trip)
	}
}

// TestDCChargeTaper fast-charges from 10 to 100 %: 150 kW while the charger
// limits, a taper above 80 %, no cell above 4.20 V, completion near full.
func TestDCChargeTaper(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) {
		c.Scenario, c.ParkTime = PhaseDC, -1
		c.InitialSOC, c.ChargeTarget, c.ChargeBelow = 10, 100, 5
	})
	var p30, p95, ttf50 float64
	var t10, t80, t50, tDone time.Duration
	maxCell := 0.0
	for s.Elapsed() < 3*time.Hour && tDone == 0 {
		s.Step(time.Second)
		st := s.State()
		maxCell = math.Max(maxCell, st.CellMax)
		switch {
		case t10 == 0 && st.Charging:
			t10 = st.Elapsed
		case p30 == 0 && st.SOC >= 30:
			p30 = st.ChargerPower
		case t50 == 0 && st.SOC >= 50:
			t50, ttf50 = st.Elapsed, st.TimeToFull
		case t80 == 0 && st.SOC >= 80:
			t80 = st.Elapsed
		case p95 == 0 && st.SOC >= 95:
			p95 = st.ChargerPower
		case st.Charge == ChargeComplete:
			tDone = st.Elapsed
			if st.SOC < 99 {
				t.Errorf("charging complete at %.1f %%, expected 99 %% or more", st.SOC)
			}
		}
	}
	if tDone == 0 {
		t.Fatal("charging never completed")
	}
	if p30 < 145 || p30 > 150.01 {
		t.Errorf("power at 30 %%: %.1f kW, expected the charger's 150 kW", p30)
	}
	if p95 > 0.2*p30 {
		t.Errorf("power at 95 %%: %.1f kW, expected a taper below 20 %% of %.1f kW", p95, p30)
	}
	if maxCell > cellVmax+0.001 {
		t.Errorf("a cell reached %.4f V, above the 4.20 V charge limit", maxCell)
	}
	if d := t80 - t10; d < 15*time.Minute || d > 30*time.Minute {
		t.Errorf("10 -> 80 %% took %v, expected 15..30 min for a 150 kW / 64 kWh car", d)
	}
	actual := (tDone - t50).Minutes()
	if math.Abs(ttf50-actual) > 0.15*actual {
		t.Errorf("time to full at 50 %%: predicted %.0f min, took %.0f min", ttf50, actual)
	}
	t.Logf("DC: 150 kW at 30 %%, %.1f kW at 95 %%, 10->80 %% %v, 50 %% -> full predicted %.0f min, took %.0f min", p95, t80-t10, ttf50, actual)
}

// TestACCharge: 11 kW three-phase (3 x 230 V x 15.9 A) through a 94 %
// charger gives 10.34 kW at the DC side.
func TestACCharge(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Scenario, c.InitialSOC = PhaseAC, 40 })
	s.Step(10 * time.Minute)
	st := s.State()
	if st.Charge != ChargeAC || !st.Charging || st.Mode != ModeCharging || !st.Plugged {
		t.Fatalf("charge state %v, charging %v, mode %v", st.Charge, st.Charging, st.Mode)
	}
	if math.Abs(st.ChargerPower-10.34) > 0.01 {
		t.Errorf("charger output %.3f kW, expected 11 kW * 0.94 = 10.34 kW", st.ChargerPower)
	}
	if math.Abs(st.ACVoltage-230) > 1e-9 || math.Abs(st.ACCurrent-11000.0/690) > 0.02 {
		t.Errorf("AC %.1f V / %.2f A per phase, expected 230 V / 15.94 A", st.ACVoltage, st.ACCurrent)
	}
	// The battery gets the charger's output less the car's own loads
	// (0.3 kW HVAC, 12 V loads through the DC-DC): 9.4..10.1 kW.
	if p := -st.PackPower; p < 9.4 || p > 10.1 {
		t.Errorf("battery takes %.2f kW, expected 9.4..10.1 kW", p)
	}
}

// TestLoopScenario: the default scenario keeps driving and charges when
// the SOC runs low.
func TestLoopScenario(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.InitialSOC = 35 })
	seen := map[string]bool{}
	moving := 0
	for s.Elapsed() < 5*time.Hour {
		s.Step(10 * time.Second)
		st := s.State()
		seen[st.Phase] = true
		if st.Speed > 1 {
			moving++
		}
		if st.SOC < 3 {
			t.Fatalf("SOC fell to %.1f %% in the loop", st.SOC)
		}
	}
	for _, p := range []string{PhaseWLTP, PhaseUrban, PhaseHighway, PhaseDC} {
		if !seen[p] {
			t.Errorf("loop never ran %s (saw %v)", p, seen)
		}
	}
	if frac := float64(moving) / 1800; frac < 0.5 {
		t.Errorf("moving %.0f %% of the time, expected most of it", frac*100)
	}
}

func TestConfigErrors(t *testing.T) {
	db, err := loadDBC()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.DBC = nil }, "sim: DBC is nil"},
		{func(c *Config) { c.Cells = 500 }, "sim: Cells 500: expected 2..400"},
		{func(c *Config) { c.Cells = 1 }, "sim: Cells 1: expected 2..400"},
		{func(c *Config) { c.Modules = 7 }, "sim: Modules 7: expected 1..96 dividing Cells (96)"},
		{func(c *Config) { c.Tick = 2 * time.Second }, "sim: Tick 2s: expected 1ms..1s"},
		{func(c *Config) { c.SOH = 40 }, "sim: SOH 40: expected 50..100 %"},
		{func(c *Config) { c.Ambient = 70 }, "sim: Ambient 70: expected -40..55 °C"},
		{func(c *Config) { c.ChillerSet = 5 }, "sim: ChillerSet 5: expected 10..45 °C"},
		{func(c *Config) { c.Scenario = "wltp,mars" }, `sim: Scenario "wltp,mars": phase "mars" unknown`},
		{func(c *Config) { c.ChargeBelow = 90 }, "sim: ChargeBelow 90: expected less than ChargeTarget (80)"},
		{func(c *Config) { c.Cycles = map[string]time.Duration{"VCU_Drive": 0} }, `sim: Cycles["VCU_Drive"] 0s: expected a positive period`},
		{func(c *Config) { c.Cycles = map[string]time.Duration{"VCU_Drive": time.Second} }, "sim: Cycles: no period for message MCU_Status"},
	} {
		cfg := DefaultConfig()
		cfg.DBC = db
		c.edit(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	// Zero fields take the defaults.
	s, err := New(Config{DBC: db, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Config(); got.Cells != 96 || got.Tick != 100*time.Millisecond || got.Scenario != "loop" || got.Ambient != 0 {
		t.Errorf("defaults not applied: %+v", got)
	}
}

// TestChillerSet: the chiller holds the coolant at Config.ChillerSet (5 °C
// lower while DC charging). Its control turns it on above set+1 and off
// below set, so on a 35 °C day the coolant never goes below the DC set
// point 25 °C with the default 30 °C, while a 15 °C set point (DC: 10 °C)
// pulls it well under 25 °C during a 40 min fast charge from 10 %.
func TestChillerSet(t *testing.T) {
	t.Parallel()
	minCoolant := func(set float64) float64 {
		s := newSim(t, func(c *Config) {
			c.Scenario, c.ParkTime = PhaseDC, -1
			c.InitialSOC, c.ChargeTarget, c.ChargeBelow = 10, 100, 5
			c.Ambient, c.ChillerSet = 35, set
		})
		lo := math.Inf(1)
		for s.Elapsed() < 40*time.Minute {
			s.Step(time.Second)
			if st := s.State(); st.Charging {
				lo = math.Min(lo, st.CoolantInlet)
			}
		}
		return lo
	}
	def, cold := minCoolant(30), minCoolant(15)
	if def < 25-0.5 {
		t.Errorf("set point 30 °C: coolant fell to %.1f °C, below the DC set point 25", def)
	}
	if cold > 22 {
		t.Errorf("set point 15 °C: coolant no lower than %.1f °C, want under 22 (DC set point 10)", cold)
	}
	t.Logf("lowest coolant inlet while fast charging on a 35 °C day: %.1f °C (set 30), %.1f °C (set 15)", def, cold)
}
