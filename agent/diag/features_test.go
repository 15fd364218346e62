package diag

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func window(n int, fill func(i int, s *Sample)) []Sample {
	w := make([]Sample, n)
	for i := range w {
		for k := range w[i] {
			w[i][k] = math.NaN()
		}
		fill(i, &w[i])
	}
	return w
}

// TestFeaturesByHand checks features against values worked by hand.
func TestFeaturesByHand(t *testing.T) {
	w := window(60, func(i int, s *Sample) {
		s[InCellMax] = 4.000
		s[InCellMin] = 3.980 - 0.0001*float64(i) // spread 20 mV growing 0.1 mV/s = 6 mV/min
		s[InCellAvg] = 3.990
		s[InTempMax] = 30 + 0.1*float64(i) // 6 °C/min
		s[InTempMin] = 28
		s[InCoolantIn], s[InCoolantOut] = 25, 27
		s[InPackV] = 360
		s[InPackI] = 0         // at rest
		s[InInsulation] = 3600 // kΩ: 3.6 MΩ / 360 V = 10 kΩ/V -> log10 = 4
		s[InLVVoltage] = 12.0 + 0.01*float64(i)
		s[InSOC] = 50
		s[InAmbient] = 20
		s[InMotorTemp] = 70 - 0.05*float64(i) // cooling down 3 °C/min
	})
	var f [NumFeatures]float32
	var sc FeatureScratch
	np := Features(w, &f, &sc)
	near := func(name string, got float32, want float64, tol float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > tol {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Mean spread: 20 + 0.1 * mean(i) = 20 + 0.1*29.5 = 22.95 mV.
	near("cell spread", f[FCellSpread], 22.95, 1e-3)
	near("cell spread slope", f[FCellSpreadSlope], 6, 1e-3)
	// avg - min: 10 + 2.95 = 12.95 mV, all at rest.
	near("cell low dev", f[FCellLowDev], 12.95, 1e-3)
	near("cell low dev at zero current", f[FCellLowDev0], 12.95, 1e-3)
	near("cell low dev on current (no current)", f[FCellLowDevR], 0, 0)
	near("cell high dev", f[FCellHighDev], 10, 1e-3)
	// No pump duty: the cooling ratio is not measurable.
	near("cool valid", f[FCoolValid], 0, 0)
	near("soc", f[FSOC], 50, 0)
	near("temp max slope", f[FTempMaxSlope], 6, 1e-3)
	// Temp spread: 30 + 2.95 - 28 = 4.95; over coolant: 32.95 - 25 = 7.95.
	near("temp spread", f[FTempSpread], 4.95, 1e-3)
	near("temp over coolant", f[FTempOverCoolant], 7.95, 1e-3)
	near("coolant delta", f[FCoolantDelta], 2, 1e-6)
	near("insulation", f[FInsulationLog], 4, 1e-6)
	near("insulation slope", f[FInsulationSlope], 0, 1e-9)
	near("lv mean", f[FLVMean], 12.295, 1e-4)
	near("lv min", f[FLVMin], 12.0, 1e-6)
	near("current rms", f[FCurrentRMS], 0, 0)
	near("heat residual (no current)", f[FHeatResidual], 6, 1e-3)
	near("soc residual", f[FSOCResidual], 0, 1e-9)
	near("motor slope", f[FMotorSlope], -3, 1e-3)
	// Mean motor 70 - 0.05*29.5 = 68.525 °C, 20 °C outside, no torque.
	near("motor over load", f[FMotorOverLoad], 48.525, 1e-3)
	if np != 14 {
		t.Errorf("%d inputs present, want 14", np)
	}
}

func TestFeaturesMissingAndAllocs(t *testing.T) {
	w := window(60, func(int, *Sample) {})
	var f [NumFeatures]float32
	var sc FeatureScratch
	if np := Features(w, &f, &sc); np != 0 {
		t.Errorf("present %d", np)
	}
	for i, v := range f {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Errorf("%s = %v with no inputs", FeatureNames[i], v)
		}
	}
	if f[FInsulationLog] != 4 || f[FLVMean] != 13.5 || f[FAmbient] != 20 {
		t.Errorf("neutral values: %v", f)
	}
	full := window(60, func(i int, s *Sample) {
		for k := range s {
			s[k] = float64(i%7) + float64(k)
		}
	})
	if n := testing.AllocsPerRun(100, func() { Features(full, &f, &sc) }); n != 0 {
		t.Errorf("%v allocations per window", n)
	}
}

func FuzzFeatures(f *testing.F) {
	f.Add(uint64(1), 60, 0.1)
	f.Add(uint64(7), 1, 0.9)
	f.Fuzz(func(t *testing.T, seed uint64, n int, nanShare float64) {
		if n < 0 || n > 600 {
			return
		}
		r := rand.New(rand.NewPCG(seed, 1))
		w := window(n, func(i int, s *Sample) {
			for k := range s {
				if r.Float64() >= nanShare {
					s[k] = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(8)))
				}
			}
		})
		var out [NumFeatures]float32
		var sc FeatureScratch
		Features(w, &out, &sc)
		for i, v := range out {
			if math.IsNaN(float64(v)) {
				t.Fatalf("%s is NaN", FeatureNames[i])
			}
		}
		// The long-horizon state takes the window three times at SOCs 10 %
		// apart (so the cell deficit finds an OCV slope).
		var l LongFeatures
		var long [NumLongFeatures]float32
		for k := range 3 {
			l.avg0, l.avg0OK = sc.avg0+float64(k), sc.avg0OK
			l.ironLoad, l.motorOK = sc.ironLoad, sc.motorOK
			out[FSOC] = float32(20 + 10*k)
			l.Update(&out, &long)
		}
		for i, v := range long {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s is %v", LongFeatureNames[i], v)
			}
		}
	})
}

func BenchmarkFeatures(b *testing.B) {
	w := window(60, func(i int, s *Sample) {
		for k := range s {
			s[k] = float64(i%7) + float64(k)
		}
	})
	var f [NumFeatures]float32
	var sc FeatureScratch
	b.ReportAllocs()
	for b.Loop() {
		Features(w, &f, &sc)
	}
}

// TestLongFeatures: the first window sets the averages, a rising cell
// deviation shows in the rise feature, the 12 V low is kept, no allocation.
func TestLongFeatures(t *testing.T) {
	var l LongFeatures
	var f [NumFeatures]float32
	var out [NumLongFeatures]float32
	f[FCellLowDev0], f[FLVMin], f[FMotorSlope] = 10, 12, -3
	l.Update(&f, &out)
	if out[LCellLowDev0] != 10 || out[LCellLowDevRise] != 0 || out[LLVLow] != 12 || out[LMotorTrend] != -3 {
		t.Fatalf("first window: %v", out)
	}
	f[FCellLowDev0], f[FLVMin], f[FMotorSlope] = 20, 13, 1
	l.Update(&f, &out)
	// EWMA weight 0.1: 10 + 0.1*(20-10) = 11; -3 + 0.1*(1+3) = -2.6.
	if out[LCellLowDev0] != 11 || out[LCellLowDevRise] != 1 || out[LLVLow] != 12 || math.Abs(float64(out[LMotorTrend])+2.6) > 1e-6 {
		t.Errorf("second window: %v", out)
	}
	if n := testing.AllocsPerRun(100, func() { l.Update(&f, &out) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	l.Reset()
	l.Update(&f, &out)
	if out[LCellLowDev0] != 20 {
		t.Errorf("after Reset: %v", out)
	}
}

// TestCellDevTime: a deviation growing 6 mV/h at constant SOC and current
// (a self-discharging cell) shows as the time coefficient; one growing
// with the SOC swing (a small cell) as the SOC coefficient instead.
func TestCellDevTime(t *testing.T) {
	var l LongFeatures
	var f [NumFeatures]float32
	var out [NumLongFeatures]float32
	for k := range 240 { // 4 h
		f[FSOC], f[FCurrentMean] = 60, 0
		f[FCellLowDev] = float32(10 + 6*float64(k)/60)
		l.Update(&f, &out)
	}
	if got := out[LCellDevTime]; math.Abs(float64(got)-6) > 1 {
		t.Errorf("self-discharge: time coefficient %v mV/h, want about 6", got)
	}
	l.Reset()
	for k := range 240 { // SOC up and down 40 % every hour, deviation 3 mV per 10 %
		soc := 40 + 40*math.Abs(math.Mod(float64(k)/30, 2)-1)
		f[FSOC], f[FCellLowDev] = float32(soc), float32(10+0.3*(80-soc))
		l.Update(&f, &out)
	}
	if got := out[LCellDevTime]; math.Abs(float64(got)) > 0.5 {
		t.Errorf("small cell: time coefficient %v mV/h, want about 0", got)
	}
	if got := out[LCellDevSOC]; got > -2 || got < -3.2 { // the ridge shrinks it a little
		t.Errorf("small cell: SOC coefficient %v mV per 10 %%, want about -3", got)
	}
}

// TestCellSameSOC: the rest gap is compared with its value at the first
// visit of the same SOC. A car cycling 40..80 % SOC every hour (a small
// cell: the gap follows SOC only) shows no rise; the same car whose gap
// also grows 6 mV/h (a short) shows a rate near 6 mV/h and a rise that
// grows with the hours since each bin's first visit.
func TestCellSameSOC(t *testing.T) {
	run := func(perHour float64) [NumLongFeatures]float32 {
		var l LongFeatures
		var f [NumFeatures]float32
		var out [NumLongFeatures]float32
		for k := range 240 { // 4 h
			soc := 40 + 40*math.Abs(math.Mod(float64(k)/30, 2)-1)
			f[FSOC] = float32(soc)
			f[FCellLowDev0] = float32(10 + 0.3*(80-soc) + perHour*float64(k)/60)
			l.Update(&f, &out)
		}
		return out
	}
	small := run(0)
	// The gap moves 0.75 mV across a 2.5 % bin: the rise stays within that.
	if r := small[LCellSameSOCRise]; math.Abs(float64(r)) > 0.8 {
		t.Errorf("small cell: same-SOC rise %v mV, want about 0", r)
	}
	short := run(6)
	if r := short[LCellSameSOCRate]; math.Abs(float64(r)-6) > 1.5 {
		t.Errorf("short: same-SOC rate %v mV/h, want about 6", r)
	}
	// Every bin was first visited in the first 30 min, going down. The last
	// ten windows (k = 230..239, going up at SOC 73..80 %) are 220..238
	// windows after those visits (k0 = 239 - k + 1 .. 10): 6 mV/h times
	// 3.7..4.0 h = 22..24 mV; the EWMA lags a little.
	if r := short[LCellSameSOCRise]; r < 20 || r > 24 {
		t.Errorf("short: same-SOC rise %v mV, want 20..24", r)
	}
	// Below sameSOCMin (the OCV knee) and while charging nothing is compared.
	for _, c := range []struct {
		name          string
		soc, charging float32
	}{{"at 5 % SOC", 5, 0}, {"charging at 50 % SOC", 50, 1}} {
		var l LongFeatures
		var f [NumFeatures]float32
		var out [NumLongFeatures]float32
		for k := range 120 {
			f[FSOC], f[FChargingShare], f[FCellLowDev0] = c.soc, c.charging, float32(k)
			l.Update(&f, &out)
		}
		if out[LCellSameSOCRise] != 0 || out[LCellSameSOCRate] != 0 {
			t.Errorf("%s: rise %v, rate %v, want 0", c.name, out[LCellSameSOCRise], out[LCellSameSOCRate])
		}
	}
}

// TestCellSameSOCAcrossSleep: a new run after a sleep (Continue) still
// compares the rest gap with its value at the first visit of the same SOC
// in the runs before, the sleep counted in the age; the run's other
// state starts over. A cell whose gap grew from 10 to 40 mV over a 2 h
// sleep at 60 % SOC: rise 30 mV, rate 30 / (2 h + 30 min of windows
// since the visit) = 12 mV/h. A healthy cell's unchanged gap: 0. After a
// sleep longer than MaxSleepMemory, or Reset, nothing is compared.
func TestCellSameSOCAcrossSleep(t *testing.T) {
	var f [NumFeatures]float32
	var out [NumLongFeatures]float32
	run := func(l *LongFeatures, gap float32, windows int) {
		f[FSOC], f[FCellLowDev0] = 60, gap
		for range windows {
			l.Update(&f, &out)
		}
	}
	var l LongFeatures
	run(&l, 10, 30) // first visit at window 1, 30 windows: 29 min old at the last
	l.Continue(2 * time.Hour)
	run(&l, 40, 1) // 29 + 120 + 1 = 150 min after the visit
	if r, rate := out[LCellSameSOCRise], out[LCellSameSOCRate]; r != 30 || math.Abs(float64(rate)-12) > 0.01 {
		t.Errorf("short across a 2 h sleep: rise %v mV, rate %v mV/h; want 30 and 12", r, rate)
	}
	if out[LCellLowDev0] != 40 || out[LCellLowDevRise] != 0 {
		t.Errorf("the run's own averages did not start over: %v", out)
	}
	if n := testing.AllocsPerRun(10, func() { l.Continue(time.Hour) }); n != 0 {
		t.Errorf("Continue: %v allocations", n)
	}
	l = LongFeatures{}
	run(&l, 10, 30)
	l.Continue(8 * time.Hour)
	run(&l, 10, 1)
	if r := out[LCellSameSOCRise]; r != 0 {
		t.Errorf("healthy cell after 8 h: rise %v mV, want 0", r)
	}
	for _, c := range []struct {
		name  string
		reset func(*LongFeatures)
	}{
		{"a sleep over MaxSleepMemory", func(l *LongFeatures) { l.Continue(MaxSleepMemory + time.Hour) }},
		{"a negative sleep", func(l *LongFeatures) { l.Continue(-time.Minute) }},
		{"Reset", func(l *LongFeatures) { l.Reset() }},
	} {
		l = LongFeatures{}
		run(&l, 10, 30)
		c.reset(&l)
		run(&l, 40, 1)
		if out[LCellSameSOCRise] != 0 || out[LCellSameSOCRate] != 0 {
			t.Errorf("after %s: rise %v, rate %v, want 0 (nothing remembered)", c.name, out[LCellSameSOCRise], out[LCellSameSOCRate])
		}
	}
}

// TestStreamStuckAndLost: a reading that stops changing while its partner
// moves counts as stuck; an input that disappears counts as lost; Push
// does not allocate.
func TestStreamStuckAndLost(t *testing.T) {
	var s Stream
	in := make([]float32, NumInputs)
	sample := func(i int) Sample {
		var x Sample
		for k := range x {
			x[k] = 1 + float64(i%5)*0.01*float64(k+1)
		}
		x[InTempMin] = 20 + 0.5*float64(i/10)
		x[InTempMax] = x[InTempMin] + 3
		return x
	}
	i := 0
	push := func(n int, edit func(*Sample)) {
		for range n {
			x := sample(i)
			i++
			if edit != nil {
				edit(&x)
			}
			s.Push(x, in)
		}
	}
	push(120, nil)
	if in[NumFeatures+LStuck] > 1 || in[NumFeatures+LLost] != 0 {
		t.Fatalf("healthy: stuck %v, lost %v", in[NumFeatures+LStuck], in[NumFeatures+LLost])
	}
	push(120, func(x *Sample) { x[InTempMax] = 25; x[InCoolantIn] = math.NaN() })
	if in[NumFeatures+LStuck] < 2 || in[NumFeatures+LLost] != 1 {
		t.Errorf("stuck and dropped: stuck %v, lost %v", in[NumFeatures+LStuck], in[NumFeatures+LLost])
	}
	x := sample(0)
	if n := testing.AllocsPerRun(200, func() { x[InPackI]++; s.Push(x, in) }); n != 0 {
		t.Errorf("%v allocations per Push", n)
	}
	s.Reset()
	push(60, nil)
	if in[NumFeatures+LStuck] > 1 || in[NumFeatures+LLost] != 0 {
		t.Errorf("after Reset: stuck %v, lost %v", in[NumFeatures+LStuck], in[NumFeatures+LLost])
	}
	// A BMS that reports temperatures in whole degrees: the hottest module
	// holds 25 °C for an hour while the coolest toggles between 21 and 22
	// every few seconds. The partner's range is 1 °C, two steps of 0.5:
	// log1p(2) = 1.10, however long it goes on (a sum of its steps would
	// reach 2 every toggle, over 2 000 in the hour).
	s.Reset()
	push(3600, func(x *Sample) { x[InTempMax] = 25; x[InTempMin] = 21 + float64(i/3%2) })
	if got, want := float64(in[NumFeatures+LStuck]), math.Log1p(2); math.Abs(got-want) > 1e-6 {
		t.Errorf("toggling partner: stuck %v, want log1p(2) = %.4f", got, want)
	}
}

// TestCellDeficit: the cell gap in mV divided by the OCV slope the run
// learns. The test's OCV curve (the average cell at zero current, as
// Stream would set it) is twice as steep at 60 % SOC as at 30 %; the
// expected deficits are worked by hand from the gaps put in.
func TestCellDeficit(t *testing.T) {
	// Slope 4 mV/% at 30 % rising linearly to 8 at 60 %: V = 3600 +
	// 4(s-30) + (s-30)²/15.
	ocv := func(soc float64) float64 { return 3600 + 4*(soc-30) + (soc-30)*(soc-30)/15 }
	slopeAt := func(soc float64) float64 { return 4 + 2*(soc-30)/15 }
	// Discharge 60 → 30 % SOC in 3 h at 50 A, then 2 h parked at 30 %;
	// the features at the end of the discharge and at the end.
	run := func(deficit func(soc, h float64) float64) (drive, end [NumLongFeatures]float32) {
		var l LongFeatures
		var f [NumFeatures]float32
		var out [NumLongFeatures]float32
		for k := range 300 {
			h := float64(k) / 60
			soc, cur := 60-10*h, 50.0
			if h >= 3 {
				soc, cur = 30, 0
			}
			f[FSOC], f[FCurrentMean] = float32(soc), float32(cur)
			f[FCellLowDev0] = float32(deficit(soc, h) * slopeAt(soc))
			l.avg0, l.avg0OK = ocv(soc), true
			l.Update(&f, &out)
			if k == 179 {
				drive = out
			}
		}
		return drive, out
	}
	// A healthy cell 2 % below the others: 16 mV at 60 % SOC and 8 mV at
	// 30 %; in mV it "falls", in % it stays. Parked at 30 % the slope
	// comes from the 30 and 35 % bins, (ocv(35)-ocv(30))/5 = 4.33 mV/%
	// against the true 4: 2·4/4.33 = 1.85 %.
	_, offset := run(func(soc, h float64) float64 { return 2 })
	if d := offset[LCellDeficit]; math.Abs(float64(d)-1.85) > 0.1 {
		t.Errorf("offset cell: deficit %v %%, want 1.85", d)
	}
	if r := offset[LCellDeficitRise]; r > 0.2 {
		t.Errorf("offset cell: deficit rise %v %%, want about 0", r)
	}
	if c := offset[LCellDeficitTime]; math.Abs(float64(c)) > 0.1 {
		t.Errorf("offset cell: time coefficient %v %%/h, want about 0", c)
	}
	// A short losing 1.5 % of SOC an hour: deficit 2 + 1.5 h. While
	// driving, SOC/10 = 6 - h: time and SOC cannot be told apart, the
	// equal ridge splits the slope, β_time - β_SOC = 1.5 times the chord
	// slope's bias (the slope from s to s+5 %: 4.33 for 4 at 30 %, 8.33
	// for 8 at 60 %), about 1.35. Parked, the
	// deficit keeps growing at constant SOC and the fit moves it to time.
	// At the end: 9.5 % · 4/4.33 = 8.77 %, less the EWMA's lag of 10 min
	// (0.23 %).
	sDrive, short := run(func(soc, h float64) float64 { return 2 + 1.5*h })
	if d := sDrive[LCellDeficitTime] - sDrive[LCellDeficitSOC]; math.Abs(float64(d)-1.35) > 0.1 {
		t.Errorf("short, driving: time - SOC coefficient %v, want about 1.35", d)
	}
	if c := short[LCellDeficitTime]; c < 1 || c > 1.6 {
		t.Errorf("short, parked: time coefficient %v %%/h, want 1..1.5", c)
	}
	if d := short[LCellDeficit]; math.Abs(float64(d)-8.54) > 0.3 {
		t.Errorf("short: deficit %v %%, want about 8.5", d)
	}
	// The first deficit comes 5 % of SOC into the run (no slope before),
	// at 55 %: 2.75 · 8/8.33 = 2.64 %, the run's lowest; 8.54 - 2.64.
	if r := short[LCellDeficitRise]; math.Abs(float64(r)-5.9) > 0.3 {
		t.Errorf("short: deficit rise %v %%, want about 5.9", r)
	}
	// A cell with 10 % less capacity: its SOC falls 1.1 % for each 1 % of
	// the pack's (1/0.9), its deficit 2 + 0.11(60 - SOC) grows 1.1 % an
	// hour while driving (β_time - β_SOC = 1.1, about 1.0 with the chord
	// slope's bias) and not at all parked:
	// the fit moves it to SOC.
	cDrive, small := run(func(soc, h float64) float64 { return 2 + 0.11*(60-soc) })
	if d := cDrive[LCellDeficitTime] - cDrive[LCellDeficitSOC]; math.Abs(float64(d)-1.0) > 0.1 {
		t.Errorf("small cell, driving: time - SOC coefficient %v, want about 1.0", d)
	}
	if c := small[LCellDeficitTime]; math.Abs(float64(c)) > 0.15 {
		t.Errorf("small cell, parked: time coefficient %v %%/h, want about 0", c)
	}
	if c := small[LCellDeficitSOC]; c > -0.6 || c < -1.1 {
		t.Errorf("small cell, parked: SOC coefficient %v %% per 10 %%, want -0.6..-1.1", c)
	}
	// No slope yet (one SOC), below 8 % SOC or charging: nothing.
	for _, c := range []struct {
		name string
		soc  float32
		ok   bool
	}{{"one SOC", 50, true}, {"at 5 % SOC", 5, true}, {"charging", 50, false}} {
		var l LongFeatures
		var f [NumFeatures]float32
		var out [NumLongFeatures]float32
		for k := range 60 {
			f[FSOC], f[FCellLowDev0] = c.soc, 20
			if c.name == "charging" {
				f[FSOC] = 50 + float32(k)/2
			}
			l.avg0, l.avg0OK = ocv(float64(f[FSOC])), c.ok
			l.Update(&f, &out)
		}
		if out[LCellDeficit] != 0 || out[LCellDeficitTime] != 0 {
			t.Errorf("%s: deficit %v, time coefficient %v, want 0", c.name, out[LCellDeficit], out[LCellDeficitTime])
		}
	}
}

// TestAvg0: the average cell at rest (under 12 A RMS) is the pack's OCV
// estimate; not while driving or charging.
func TestAvg0(t *testing.T) {
	var f [NumFeatures]float32
	var sc FeatureScratch
	window := func(cur func(i int) float64, charging float64) []Sample {
		w := make([]Sample, 60)
		for i := range w {
			for k := range w[i] {
				w[i][k] = math.NaN()
			}
			w[i][InPackI] = cur(i)
			w[i][InCellAvg] = 3.7 - 0.0005*cur(i)
			w[i][InCharging] = charging
		}
		return w
	}
	Features(window(func(i int) float64 { return 2 + 8*math.Sin(float64(i)/5) }, 0), &f, &sc)
	if !sc.avg0OK || math.Abs(sc.avg0-3699) > 0.1 { // 3.7 V - 0.5 mΩ · 2 A mean
		t.Errorf("standing: avg0 %v (ok %v), want 3699 mV", sc.avg0, sc.avg0OK)
	}
	for name, w := range map[string][]Sample{
		"driving":  window(func(i int) float64 { return 50 + 40*math.Sin(float64(i)/5) }, 0),
		"charging": window(func(i int) float64 { return -5 + 2*math.Sin(float64(i)) }, 1),
	} {
		Features(w, &f, &sc)
		if sc.avg0OK {
			t.Errorf("%s: avg0 %v measured, want none", name, sc.avg0)
		}
	}
}

// TestMotorDrift: a healthy motor whose temperature over the coolant is
// 30 K per (100 Nm)² of torque, 20 K per (100 km/h)^1.5 and reads 4 K
// hot per °C/min it is cooling (stored heat), under a load that changes
// every window, shows no drift; the same motor whose cooling worsens by
// 12 K/h at the same load shows a drift of about 12 K/h (the ridge,
// against an hour's weighted spread of time, shrinks it by up to 20 %).
func TestMotorDrift(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drift float64
	}{{"healthy", 0}, {"cooling worsening", 12}} {
		var l LongFeatures
		var f [NumFeatures]float32
		var out [NumLongFeatures]float32
		for k := range 180 { // 3 h
			tq := 0.5 + 0.5*math.Sin(float64(k)*0.7)    // 0..1 (×100 Nm)
			iron := 0.6 + 0.4*math.Cos(float64(k)*0.31) // (speed/100)^1.5
			trend := 1.5 * math.Sin(float64(k)*0.13+1)  // °C/min
			over := 30*tq*tq + 20*iron - 4*trend + 5 + tc.drift*float64(k)/60
			f[FTorqueRMS], f[FMotorSlope], f[FMotorOverCoolant] = float32(100*tq), float32(trend), float32(over)
			l.ironLoad, l.motorOK = iron, true
			l.Update(&f, &out)
		}
		if got := float64(out[LMotorDrift]); got > tc.drift+0.5 || got < 0.8*tc.drift-0.5 {
			t.Errorf("%s: drift %.2f K/h, want %v", tc.name, got, tc.drift)
		}
	}
	// Without the motor's temperatures the fit is not fed.
	var l LongFeatures
	var f [NumFeatures]float32
	var out [NumLongFeatures]float32
	for k := range 60 {
		f[FMotorOverCoolant] = float32(k)
		l.Update(&f, &out)
	}
	if out[LMotorDrift] != 0 {
		t.Errorf("motor temperatures absent: drift %v, want 0", out[LMotorDrift])
	}
}
