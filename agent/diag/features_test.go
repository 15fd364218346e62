package diag

import (
	"math"
	"math/rand/v2"
	"testing"
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
	if np != 13 {
		t.Errorf("%d inputs present, want 13", np)
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
	f[FCellLowDev0], f[FLVMin] = 10, 12
	l.Update(&f, &out)
	if out[LCellLowDev0] != 10 || out[LCellLowDevRise] != 0 || out[LLVLow] != 12 {
		t.Fatalf("first window: %v", out)
	}
	f[FCellLowDev0], f[FLVMin] = 20, 13
	l.Update(&f, &out)
	if out[LCellLowDev0] != 11 || out[LCellLowDevRise] != 1 || out[LLVLow] != 12 {
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
}
