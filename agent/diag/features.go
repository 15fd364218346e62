package diag

import (
	"math"
	"time"
)

// The fault model reads windows of 1 Hz samples of these VSS inputs. A
// vehicle whose signal map provides them gets model-based detection; the
// sim board's private paths stand in where VSS has no leaf.
const (
	InCellMax = iota
	InCellMin
	InCellAvg
	InTempMax
	InTempMin
	InPackV
	InPackI
	InSOC
	InCoolantIn
	InCoolantOut
	InPumpDuty
	InInsulation
	InLVVoltage
	InMotorTemp
	InInverterTemp
	InTorque
	InSpeed
	InCharging
	InAmbient
	NumModelInputs
)

// ModelInputPaths are the VSS paths of the model inputs, in order.
var ModelInputPaths = [NumModelInputs]string{
	"Vehicle.Powertrain.TractionBattery.CellVoltage.Max",
	"Vehicle.Powertrain.TractionBattery.CellVoltage.Min",
	"Vehicle.Private.EvedgeSim.CellVoltageAverage",
	"Vehicle.Powertrain.TractionBattery.Temperature.Max",
	"Vehicle.Powertrain.TractionBattery.Temperature.Min",
	"Vehicle.Powertrain.TractionBattery.CurrentVoltage",
	"Vehicle.Powertrain.TractionBattery.CurrentCurrent",
	"Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
	"Vehicle.Private.EvedgeSim.CoolantInletTemperature",
	"Vehicle.Private.EvedgeSim.CoolantOutletTemperature",
	"Vehicle.Private.EvedgeSim.CoolantPumpDuty",
	"Vehicle.Private.EvedgeSim.InsulationResistance",
	"Vehicle.LowVoltageBattery.CurrentVoltage",
	"Vehicle.Powertrain.ElectricMotor.Temperature",
	"Vehicle.Private.EvedgeSim.InverterTemperature",
	"Vehicle.Powertrain.ElectricMotor.Torque",
	"Vehicle.Speed",
	"Vehicle.Powertrain.TractionBattery.Charging.IsCharging",
	"Vehicle.Exterior.AirTemperature",
}

// Sample is one second of model inputs; NaN marks a missing value.
type Sample [NumModelInputs]float64

// Window features (see Features), in order.
const (
	FCellSpread      = iota // mean highest - lowest cell, mV
	FCellSpreadSlope        // its trend over the window, mV/min
	FCellLowDev             // mean average - lowest cell, mV (one weak cell pulls the minimum)
	FCellLowDevRest         // the same at rest (|I| < 5 A), mV; NaN-free: 0 when never at rest
	FTempSpread             // mean hottest - coolest module, °C
	FTempMaxSlope           // hottest module trend, °C/min
	FTempOverCoolant        // hottest module - coolant inlet, °C
	FCoolantDelta           // coolant outlet - inlet, °C
	FPumpDuty               // mean commanded pump duty, %
	FHeatResidual           // hottest module trend minus what I² explains, °C/min per (100 A)²
	FCurrentRMS             // RMS pack current, A
	FInsulationLog          // log10 insulation resistance per volt, log10(Ω/V)
	FInsulationSlope        // its trend, per hour
	FLVMean                 // 12 V mean, V
	FLVMin                  // 12 V minimum, V
	FMotorTemp              // mean motor temperature, °C
	FMotorOverLoad          // motor temperature minus a load-driven expectation, °C
	FInverterTemp           // mean inverter temperature, °C
	FTorqueRMS              // RMS motor torque, Nm
	FTempMaxStill           // fraction of seconds the hottest module reading did not change while current flowed
	FCellMinStill           // the same for the lowest cell
	FSOCResidual            // SOC change minus coulomb-counted change, % per hour
	FChargingShare          // fraction of the window charging
	FAmbient                // mean ambient, °C
	NumFeatures
)

// FeatureNames name the features, for the model file's input spec.
var FeatureNames = [NumFeatures]string{
	"cell_spread_mv", "cell_spread_slope_mv_min", "cell_low_dev_mv", "cell_low_dev_rest_mv",
	"temp_spread_c", "temp_max_slope_c_min", "temp_over_coolant_c", "coolant_delta_c", "pump_duty_pct",
	"heat_residual", "current_rms_a", "insulation_log_ohm_per_v", "insulation_slope_per_h",
	"lv_mean_v", "lv_min_v", "motor_temp_c", "motor_over_load_c", "inverter_temp_c", "torque_rms_nm",
	"temp_max_still", "cell_min_still", "soc_residual_pct_h", "charging_share", "ambient_c",
}

// slope fits a least-squares line through ys sampled once a second and
// returns its slope per second, skipping NaN; 0 with fewer than 2 points.
func slope(ys []float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for i, y := range ys {
		if math.IsNaN(y) {
			continue
		}
		x := float64(i)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// FeatureScratch holds the buffers Features needs, so that computing a
// window's features does not allocate.
type FeatureScratch struct {
	a, b []float64
}

func (s *FeatureScratch) buf(n int) ([]float64, []float64) {
	if cap(s.a) < n {
		s.a, s.b = make([]float64, n), make([]float64, n)
	}
	return s.a[:n], s.b[:n]
}

// Features computes the window features of w (1 Hz samples, oldest first)
// into out. Missing inputs give neutral values (0, or the input's typical
// value), never NaN. It reports how many of the inputs were present at
// least once.
func Features(w []Sample, out *[NumFeatures]float32, s *FeatureScratch) int {
	n := len(w)
	*out = [NumFeatures]float32{}
	if n == 0 {
		return 0
	}
	present := [NumModelInputs]bool{}
	mean := func(k int) (float64, bool) {
		var sum, c float64
		for i := range w {
			if v := w[i][k]; !math.IsNaN(v) {
				sum += v
				c++
			}
		}
		if c == 0 {
			return 0, false
		}
		present[k] = true
		return sum / c, true
	}
	diffMean := func(k1, k2 int, scale float64) float64 {
		var sum, c float64
		for i := range w {
			a, b := w[i][k1], w[i][k2]
			if !math.IsNaN(a) && !math.IsNaN(b) {
				sum += (a - b) * scale
				c++
			}
		}
		if c == 0 {
			return 0
		}
		return sum / c
	}
	series, series2 := s.buf(n)
	col := func(k int, dst []float64) []float64 {
		for i := range w {
			dst[i] = w[i][k]
		}
		return dst
	}
	rms := func(k int) float64 {
		var sum, c float64
		for i := range w {
			if v := w[i][k]; !math.IsNaN(v) {
				sum += v * v
				c++
			}
		}
		if c == 0 {
			return 0
		}
		return math.Sqrt(sum / c)
	}
	still := func(k int) float64 {
		var same, c float64
		for i := 1; i < n; i++ {
			a, b, cur := w[i-1][k], w[i][k], w[i][InPackI]
			if math.IsNaN(a) || math.IsNaN(b) || math.IsNaN(cur) || math.Abs(cur) < 20 {
				continue
			}
			c++
			if a == b {
				same++
			}
		}
		if c == 0 {
			return 0
		}
		return same / c
	}
	for k := 0; k < NumModelInputs; k++ {
		mean(k)
	}
	f := out
	f[FCellSpread] = float32(diffMean(InCellMax, InCellMin, 1000))
	for i := range w {
		series[i] = (w[i][InCellMax] - w[i][InCellMin]) * 1000
	}
	f[FCellSpreadSlope] = float32(slope(series) * 60)
	f[FCellLowDev] = float32(diffMean(InCellAvg, InCellMin, 1000))
	var restSum, restN float64
	for i := range w {
		a, m, cur := w[i][InCellAvg], w[i][InCellMin], w[i][InPackI]
		if !math.IsNaN(a) && !math.IsNaN(m) && !math.IsNaN(cur) && math.Abs(cur) < 5 {
			restSum += (a - m) * 1000
			restN++
		}
	}
	if restN > 0 {
		f[FCellLowDevRest] = float32(restSum / restN)
	}
	f[FTempSpread] = float32(diffMean(InTempMax, InTempMin, 1))
	tslope := slope(col(InTempMax, series)) * 60
	f[FTempMaxSlope] = float32(tslope)
	f[FTempOverCoolant] = float32(diffMean(InTempMax, InCoolantIn, 1))
	f[FCoolantDelta] = float32(diffMean(InCoolantOut, InCoolantIn, 1))
	if v, ok := mean(InPumpDuty); ok {
		f[FPumpDuty] = float32(v)
	}
	irms := rms(InPackI)
	f[FCurrentRMS] = float32(irms)
	// Heat the current explains: the trend per (100 A)² of RMS current.
	f[FHeatResidual] = float32(tslope / (1 + (irms/100)*(irms/100)))
	if iso, ok := mean(InInsulation); ok {
		v, okV := mean(InPackV)
		if okV && v > 50 && iso > 0 {
			f[FInsulationLog] = float32(math.Log10(iso * 1000 / v))
		} else if iso > 0 {
			f[FInsulationLog] = float32(math.Log10(iso * 1000 / 350))
		}
		for i := range w {
			if x := w[i][InInsulation]; !math.IsNaN(x) && x > 0 {
				series2[i] = math.Log10(x)
			} else {
				series2[i] = math.NaN()
			}
		}
		f[FInsulationSlope] = float32(slope(series2) * 3600)
	} else {
		f[FInsulationLog] = 4 // 10 kΩ/V: healthy
	}
	if v, ok := mean(InLVVoltage); ok {
		f[FLVMean] = float32(v)
		lo := math.Inf(1)
		for i := range w {
			if x := w[i][InLVVoltage]; !math.IsNaN(x) {
				lo = math.Min(lo, x)
			}
		}
		f[FLVMin] = float32(lo)
	} else {
		f[FLVMean], f[FLVMin] = 13.5, 13.5
	}
	mt, _ := mean(InMotorTemp)
	amb, okAmb := mean(InAmbient)
	if !okAmb {
		amb = 20
	}
	trms := rms(InTorque)
	f[FMotorTemp] = float32(mt)
	// A motor at steady load sits roughly 40 °C above ambient per 100 Nm
	// RMS (a crude expectation; the model learns the rest).
	if present[InMotorTemp] {
		f[FMotorOverLoad] = float32(mt - amb - 0.4*trms)
	}
	if v, ok := mean(InInverterTemp); ok {
		f[FInverterTemp] = float32(v)
	}
	f[FTorqueRMS] = float32(trms)
	f[FTempMaxStill] = float32(still(InTempMax))
	f[FCellMinStill] = float32(still(InCellMin))
	// SOC residual: observed SOC change minus what the current explains,
	// for a nominal 180 Ah pack (the model learns the scale).
	socs := col(InSOC, series)
	var ah float64
	for i := range w {
		if c := w[i][InPackI]; !math.IsNaN(c) {
			ah += c / 3600
		}
	}
	f[FSOCResidual] = float32((slope(socs)*float64(n) + ah/180*100) * 3600 / float64(n))
	if v, ok := mean(InCharging); ok {
		f[FChargingShare] = float32(v)
	}
	f[FAmbient] = float32(amb)
	np := 0
	for _, p := range present {
		if p {
			np++
		}
	}
	return np
}

// WindowLength is the model's window: 60 one-second samples.
const WindowLength = 60 * time.Second

// Long-horizon features (see LongFeatures), in order. Slow faults (a
// cell's self-discharge, a weak coolant pump, a tired 12 V battery) move
// the window features by less than healthy cars differ from each other in
// one minute; averaged over tens of minutes and compared with the run's
// own start they stand out.
const (
	LCellLowDev      = iota // EWMA of FCellLowDev, mV
	LCellLowDevRest         // EWMA of FCellLowDevRest over windows with rest, mV
	LCellLowDevRise         // EWMA of FCellLowDev minus its lowest value so far in the run, mV
	LCellSpread             // EWMA of FCellSpread, mV
	LHeatResidual           // EWMA of FHeatResidual
	LTempOverCoolant        // EWMA of FTempOverCoolant, °C
	LTempOverRise           // EWMA of FTempOverCoolant minus its lowest value so far, °C
	LCoolantDelta           // EWMA of FCoolantDelta, °C
	LLVMean                 // EWMA of FLVMean, V
	LLVMin                  // EWMA of FLVMin, V
	LLVLow                  // lowest FLVMin so far in the run, V
	NumLongFeatures
)

// LongFeatureNames name the long-horizon features.
var LongFeatureNames = [NumLongFeatures]string{
	"ew_cell_low_dev_mv", "ew_cell_low_dev_rest_mv", "ew_cell_low_dev_rise_mv", "ew_cell_spread_mv",
	"ew_heat_residual", "ew_temp_over_coolant_c", "ew_temp_over_coolant_rise_c", "ew_coolant_delta_c",
	"ew_lv_mean_v", "ew_lv_min_v", "lv_min_run_v",
}

// LongAlpha is the EWMA weight of a new window: a time constant of about
// ten windows (10 min).
const LongAlpha = 0.1

// LongFeatures is the per-run state behind the long-horizon features: one
// per vehicle, updated once per window with that window's Features, reset
// when the vehicle starts a new run (ignition, agent start). The zero
// value is ready; it does not allocate.
type LongFeatures struct {
	n                  int
	ew                 [NumLongFeatures]float64
	restSeen           bool
	lowDevMin, overMin float64
	lvLow              float64
}

// Reset forgets the run.
func (l *LongFeatures) Reset() { *l = LongFeatures{} }

// Update folds the window features f into the state and writes the
// long-horizon features into out.
func (l *LongFeatures) Update(f *[NumFeatures]float32, out *[NumLongFeatures]float32) {
	a := LongAlpha
	first := l.n == 0
	l.n++
	ew := func(k int, v float64) {
		if first {
			l.ew[k] = v
			return
		}
		l.ew[k] += a * (v - l.ew[k])
	}
	ew(LCellLowDev, float64(f[FCellLowDev]))
	if r := float64(f[FCellLowDevRest]); r != 0 {
		if !l.restSeen {
			l.ew[LCellLowDevRest], l.restSeen = r, true
		} else {
			l.ew[LCellLowDevRest] += a * (r - l.ew[LCellLowDevRest])
		}
	}
	ew(LCellSpread, float64(f[FCellSpread]))
	ew(LHeatResidual, float64(f[FHeatResidual]))
	ew(LTempOverCoolant, float64(f[FTempOverCoolant]))
	ew(LCoolantDelta, float64(f[FCoolantDelta]))
	ew(LLVMean, float64(f[FLVMean]))
	ew(LLVMin, float64(f[FLVMin]))
	if first {
		l.lowDevMin, l.overMin, l.lvLow = l.ew[LCellLowDev], l.ew[LTempOverCoolant], float64(f[FLVMin])
	}
	l.lowDevMin = math.Min(l.lowDevMin, l.ew[LCellLowDev])
	l.overMin = math.Min(l.overMin, l.ew[LTempOverCoolant])
	l.lvLow = math.Min(l.lvLow, float64(f[FLVMin]))
	l.ew[LCellLowDevRise] = l.ew[LCellLowDev] - l.lowDevMin
	l.ew[LTempOverRise] = l.ew[LTempOverCoolant] - l.overMin
	l.ew[LLVLow] = l.lvLow
	for k, v := range l.ew {
		out[k] = float32(v)
	}
}

// NumInputs is the fault model's input count: the window features then
// the long-horizon features.
const NumInputs = NumFeatures + NumLongFeatures

// InputNames name the fault model's inputs, in order.
func InputNames() []string {
	return append(append([]string(nil), FeatureNames[:]...), LongFeatureNames[:]...)
}

// Stream turns a vehicle's 1 Hz samples into the fault model's inputs: it
// keeps the last WindowLength of samples and, every WindowLength, computes
// the window and long-horizon features. Training and the agent both feed
// samples through a Stream, so they compute the same inputs. One per
// vehicle; Reset at the start of a run. The zero value is ready; Push does
// not allocate after the first window.
type Stream struct {
	ring    []Sample
	n       int
	long    LongFeatures
	scratch FeatureScratch
	wf      [NumFeatures]float32
	lf      [NumLongFeatures]float32
	window  []Sample
}

// Reset forgets the run.
func (s *Stream) Reset() {
	s.n = 0
	s.long.Reset()
}

// Push adds one sample. When it completes a window it writes the model
// inputs into in (length NumInputs) and returns true with the number of
// model inputs present in the window.
func (s *Stream) Push(x Sample, in []float32) (bool, int) {
	size := int(WindowLength / time.Second)
	if s.ring == nil {
		s.ring = make([]Sample, size)
		s.window = make([]Sample, size)
	}
	s.ring[s.n%size] = x
	s.n++
	if s.n%size != 0 {
		return false, 0
	}
	// A full window ends at the ring's end: ring is in time order.
	np := Features(s.ring, &s.wf, &s.scratch)
	s.long.Update(&s.wf, &s.lf)
	copy(in, s.wf[:])
	copy(in[NumFeatures:], s.lf[:])
	copy(s.window, s.ring)
	return true, np
}

// Window returns the samples of the last completed window, oldest first;
// valid until the next completed window.
func (s *Stream) Window() []Sample { return s.window }
