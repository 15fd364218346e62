package diag

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// frozenCar is one second of the inputs FrozenCheck reads; NaN: missing.
type frozenCar struct {
	current, speed, cellMin, cellAvg, cellMax, tempMin, tempMax, motor, inverter float64
}

func (c *frozenCar) read(path string) (float64, bool) {
	return readInputs(path, []inputValue{{InPackI, c.current}, {InSpeed, c.speed}, {InCellMin, c.cellMin},
		{InCellAvg, c.cellAvg}, {InCellMax, c.cellMax}, {InTempMin, c.tempMin}, {InTempMax, c.tempMax},
		{InMotorTemp, c.motor}, {InInverterTemp, c.inverter}})
}

// healthyCar at second s: accelerating from 20 to 50 km/h over 200 s
// then holding, current moving every second, cells and modules in order.
func healthyCar(s int) frozenCar {
	return frozenCar{
		current: -60 - float64(s%7), speed: 20 + 30*math.Min(1, float64(s)/200),
		cellMin: 3.70, cellAvg: 3.71, cellMax: 3.72, tempMin: 25, tempMax: 27, motor: math.NaN(), inverter: math.NaN(),
	}
}

// TestFrozenCheckTemperatureHeld: a motor thermistor stuck at 40 °C from
// the start while the inverter beside it warms 1 K a minute from 30 °C.
// Worked by hand: held since 0 s, 45 min at 2700 s, the inverter then at
// 75 °C (45 K of range, over 20): raised at 2700 s. The same with the
// inverter's reading stuck and the motor warming.
func TestFrozenCheckTemperatureHeld(t *testing.T) {
	motor := func(s int) frozenCar {
		x := healthyCar(s)
		x.motor, x.inverter = 40, 30+float64(s)/60
		return x
	}
	at, ch := stepFrozen(NewFrozenCheck(), 3600, motor)
	if len(ch) != 1 || at[0] != 2700 || ch[0].Evidence[ModelInputPaths[InMotorTemp]] != 40 || ch[0].Evidence["partner_range"] != 45 || ch[0].Since != t0 {
		t.Fatalf("motor: changes at %v (%+v), want raised at 2700 s", at, ch)
	}
	// The other way round: the inverter's reading stuck, the motor warming.
	inverter := func(s int) frozenCar {
		x := healthyCar(s)
		x.motor, x.inverter = 30+float64(s)/60, 40
		return x
	}
	at, ch = stepFrozen(NewFrozenCheck(), 3600, inverter)
	if len(ch) != 1 || at[0] != 2700 || ch[0].Evidence[ModelInputPaths[InInverterTemp]] != 40 || ch[0].Evidence["partner_range"] != 45 {
		t.Fatalf("inverter: changes at %v (%+v), want raised at 2700 s", at, ch)
	}
}

// TestFrozenCheckTemperatureQuiet: whole-degree sensors that hold while
// their neighbour moves as the healthy sim cars' did (2 001 h of
// validation driving: a motor reading held 30 min while the inverter
// moved 20 K, or 45 min and more while it moved 10 K) raise nothing, nor
// does one module heating by itself while the coolest holds.
func TestFrozenCheckTemperatureQuiet(t *testing.T) {
	for name, car := range map[string]func(int) frozenCar{
		"motor held 44 min, inverter +30 K": func(s int) frozenCar {
			x := healthyCar(s)
			x.motor, x.inverter = 40+float64(s/2640), 30+30*math.Min(1, float64(s)/2640)
			return x
		},
		"motor held 2 h, inverter ±9 K": func(s int) frozenCar {
			x := healthyCar(s)
			x.motor, x.inverter = 40, 35+9*math.Sin(float64(s)/600)
			return x
		},
		"coolest module held 2 h, hottest +10 K": func(s int) frozenCar {
			x := healthyCar(s)
			x.tempMax = 27 + 10*math.Min(1, float64(s)/3600)
			return x
		},
	} {
		if at, ch := stepFrozen(NewFrozenCheck(), 7200, car); len(ch) != 0 {
			t.Errorf("%s: changes at %v (%+v)", name, at, ch)
		}
	}
}

// stepFrozen runs the check over seconds 0..n of car and returns its
// changes with the second of each.
func stepFrozen(c *FrozenCheck, n int, car func(int) frozenCar) (at []int, changes []*CheckChange) {
	for s := 0; s <= n; s++ {
		x := car(s)
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), x.read); ch != nil {
			at, changes = append(at, s), append(changes, ch)
		}
	}
	return at, changes
}

func TestFrozenCheckCurrent(t *testing.T) {
	// The current sticks at -80 A from second 50 while the car speeds up.
	// Frozen since 50; 2 min held at 170; the speed has moved 15 km/h
	// since then (27.5 at 50) at 42.5 km/h, second 150: raised at 170.
	// The sensor recovers at 200: its reading changes every second from
	// then on while the car moves, and the 120th change, at 319, clears
	// the fault.
	car := func(s int) frozenCar {
		x := healthyCar(s)
		if s >= 50 && s < 200 {
			x.current = -80
		}
		return x
	}
	at, ch := stepFrozen(NewFrozenCheck(), 900, car)
	if len(ch) != 2 || at[0] != 170 || !ch[0].Raised || at[1] != 319 || ch[1].Raised {
		t.Fatalf("changes at %v (%+v), want raised at 170 and cleared at 319", at, ch)
	}
	ev := ch[0].Evidence
	if ev[ModelInputPaths[InPackI]] != -80 || math.Abs(ev["partner_range"]-18) > 1e-9 || ch[0].Since != t0.Add(50*time.Second) {
		t.Errorf("evidence %v since %v, want current -80, speed range 18 (27.5 km/h at 50 s to 45.5 at 170 s), since 50 s", ev, ch[0].Since.Sub(t0))
	}
	if ch[0].Fault != "sensor_fault" || ch[0].Check != "frozen_sensor" {
		t.Errorf("check %q fault %q", ch[0].Check, ch[0].Fault)
	}
	if _, err := json.Marshal(ch); err != nil {
		t.Errorf("changes do not marshal: %v", err)
	}
}

func TestFrozenCheckOrder(t *testing.T) {
	// The coolest module reads 29 °C against the hottest's 27 from second
	// 10 (2 K over, tolerance 1 K): raised 2 min later, at 130.
	car := func(s int) frozenCar {
		x := healthyCar(s)
		if s >= 10 {
			x.tempMin = 29
		}
		return x
	}
	at, ch := stepFrozen(NewFrozenCheck(), 300, car)
	if len(ch) != 1 || at[0] != 130 {
		t.Fatalf("changes at %v, want one at 130", at)
	}
	if ev := ch[0].Evidence; ev[ModelInputPaths[InTempMax]] != 27 || ev[ModelInputPaths[InTempMin]] != 29 || ev["excess"] != 2 {
		t.Errorf("evidence %v, want the hottest 27, the coolest 29, excess 2", ev)
	}
	// The lowest cell 8 mV over the average (tolerance 5 mV) from second 0.
	car = func(s int) frozenCar { x := healthyCar(s); x.cellMin = 3.718; return x }
	if at, ch := stepFrozen(NewFrozenCheck(), 300, car); len(ch) != 1 || at[0] != 120 || ch[0].Evidence[ModelInputPaths[InCellMin]] != 3.718 {
		t.Errorf("lowest cell over the average: changes at %v %+v, want one at 120", at, ch)
	}
	// The highest 6 mV under the average.
	car = func(s int) frozenCar { x := healthyCar(s); x.cellMax = 3.704; return x }
	if at, ch := stepFrozen(NewFrozenCheck(), 300, car); len(ch) != 1 || at[0] != 120 || ch[0].Evidence[ModelInputPaths[InCellMax]] != 3.704 {
		t.Errorf("highest cell under the average: changes at %v %+v, want one at 120", at, ch)
	}
}

// TestFrozenCheckQuiet: what a healthy car does that looks like a frozen
// or disordered reading at first sight.
func TestFrozenCheckQuiet(t *testing.T) {
	cases := map[string]func(int) frozenCar{
		"healthy": healthyCar,
		// Contactors open: exactly 0 A while the car rolls to a stop.
		"contactors open": func(s int) frozenCar {
			x := healthyCar(s)
			x.current, x.speed = 0, math.Max(0, 60-0.2*float64(s))
			return x
		},
		// Parked or at constant speed: a BMS may repeat its reading.
		"parked": func(s int) frozenCar { x := healthyCar(s); x.current, x.speed = -1.5, 0; return x },
		"constant speed": func(s int) frozenCar {
			x := healthyCar(s)
			x.current, x.speed = -30, 80+float64(s%10)
			return x
		},
		// Stopping at lights mid-span: the watch starts over.
		"stop and go": func(s int) frozenCar {
			x := healthyCar(s)
			x.current = -40
			if s%100 < 10 {
				x.speed = 0
			}
			return x
		},
		// Orderings within the tolerances, and missing inputs.
		"within tolerance": func(s int) frozenCar {
			x := healthyCar(s)
			x.cellMin, x.cellMax, x.tempMin = 3.714, 3.706, 27.9
			return x
		},
		"missing": func(s int) frozenCar {
			x := healthyCar(s)
			x.current, x.cellAvg, x.tempMax = -80, math.NaN(), math.NaN()
			if s%30 == 0 {
				x.speed = math.NaN()
			}
			x.tempMin = 40
			return x
		},
	}
	for name, car := range cases {
		if at, ch := stepFrozen(NewFrozenCheck(), 3600, car); len(ch) != 0 {
			t.Errorf("%s: changes at %v: %+v", name, at, ch)
		}
	}
}

func TestFrozenCheckClockBack(t *testing.T) {
	c := NewFrozenCheck()
	car := func(s int) frozenCar { x := healthyCar(s); x.tempMin = 29; return x }
	if _, ch := stepFrozen(c, 200, car); len(ch) != 1 || !c.Active() {
		t.Fatalf("not raised: %+v", ch)
	}
	// Another log from an earlier time: the check starts over, quietly.
	if _, ch := stepFrozen(c, 100, healthyCar); len(ch) != 0 || c.Active() {
		t.Errorf("after the clock went back: %+v, active %v", ch, c.Active())
	}
}

func FuzzFrozenCheck(f *testing.F) {
	f.Add(-80.0, 30.0, 3.7, 3.71, 3.72, 25.0, 27.0, int64(1))
	f.Add(math.NaN(), math.Inf(1), 0.0, -1.0, 1e300, 99.0, -40.0, int64(-3))
	f.Add(5.0, 30.0, 1.7e308, -1.7e308, 0.0, 1.7e308, -1.7e308, int64(1))
	f.Fuzz(func(t *testing.T, i, v, lo, avg, hi, tmin, tmax float64, dt int64) {
		c := NewFrozenCheck()
		now := t0
		for k := 0; k < 2000; k++ {
			x := frozenCar{i, v + float64(k%50), lo, avg, hi, tmin, tmax, tmax, tmin + float64(k%50)}
			if ch := c.Step(now, x.read); ch != nil {
				if _, err := json.Marshal(ch); err != nil {
					t.Fatalf("change does not marshal: %v", err)
				}
			}
			now = now.Add(time.Duration(dt%120) * time.Second)
		}
	})
}

// BenchmarkFrozenCheckStep: one second of data time (nine reads).
func BenchmarkFrozenCheckStep(b *testing.B) {
	c := NewFrozenCheck()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x := healthyCar(i % 400)
		if c.Step(t0.Add(time.Duration(i)*time.Second), x.read) != nil {
			b.Fatal("a change on a healthy car")
		}
	}
}

// TestFrozenCheckStaysRaised: a current stuck for good stays reported
// through a 15-minute stop (a parked car proves nothing) and the drive
// after it, and is not raised a second time. Stuck from second 0: held
// 2 min at 120 with the speed up from 20 to 38 km/h, raised then.
func TestFrozenCheckStaysRaised(t *testing.T) {
	car := func(s int) frozenCar {
		x := healthyCar(s % 1500)
		x.current = -80
		if s >= 300 && s < 1200 {
			x.speed = 0
		}
		return x
	}
	at, ch := stepFrozen(NewFrozenCheck(), 3000, car)
	if len(ch) != 1 || at[0] != 120 || !ch[0].Raised {
		t.Errorf("changes at %v (%+v), want one raise at 120", at, ch)
	}
}

// TestFrozenCheckGap: nothing is known to have held across a gap in the
// data; two readings an hour apart raise nothing.
func TestFrozenCheckGap(t *testing.T) {
	c := NewFrozenCheck()
	for _, s := range []int{0, 1, 3600, 3601, 7200, 7201, 10800} {
		x := healthyCar(s)
		x.current, x.tempMin, x.speed = -80, 29, 20+float64(s%40)
		if ch := c.Step(t0.Add(time.Duration(s)*time.Second), x.read); ch != nil {
			t.Errorf("second %d: %+v", s, ch)
		}
	}
}
