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

// Window features (see Features), in order. They are physical quantities
// of the window that do not depend on one car's sizes where that can be
// avoided: differences between cells and sensors of the same car, ratios
// that heat-exchange physics fixes, residuals against simple balances.
const (
	FCellSpread          = iota // mean highest - lowest cell, mV
	FCellSpreadSlope            // its trend over the window, mV/min
	FCellLowDev                 // mean average - lowest cell, mV (one weak cell pulls the minimum)
	FCellLowDev0                // average - lowest cell at zero current (regression on pack current), mV
	FCellLowDevR                // its slope on pack current, mV per 100 A (a resistance outlier)
	FCellHighDev                // mean highest - average cell, mV
	FTempSpread                 // mean hottest - coolest module, °C
	FTempMaxSlope               // hottest module trend, °C/min
	FTempOverCoolant            // hottest module - coolant inlet, °C
	FCoolantDelta               // coolant outlet - inlet, °C
	FPumpDuty                   // mean commanded pump duty, %
	FCoolRatio                  // (outlet - inlet)/(hottest module - inlet): UA/(flow·cp), set by the flow only; 0 when not measurable
	FCoolRatioDuty              // FCoolRatio times duty (0..1): about constant for a healthy pump, grows as the delivered flow falls
	FCoolValid                  // 1 when FCoolRatio was measurable (pump on, module ≥ 2 °C above the coolant)
	FHeatResidual               // hottest module trend minus what I² explains, °C/min per (100 A)²
	FCurrentRMS                 // RMS pack current, A
	FCurrentMean                // mean pack current, A (+ discharge)
	FIdleCurrent                // mean pack current while standing, not charging, no torque, A; 0 when never
	FInsulationLog              // log10 insulation resistance per volt, log10(Ω/V)
	FInsulationSlope            // its trend, per hour
	FLVMean                     // 12 V mean, V
	FLVMin                      // 12 V minimum, V
	FMotorTemp                  // mean motor temperature, °C
	FMotorOverLoad              // motor temperature minus a load-driven expectation, °C
	FMotorOverCoolant           // motor temperature - coolant inlet, °C
	FInverterOverCoolant        // inverter temperature - coolant inlet, °C
	FTorqueRMS                  // RMS motor torque, Nm
	FTempMaxStill               // fraction of seconds the hottest module reading did not change while current flowed
	FCellMinStill               // the same for the lowest cell
	FSOCResidual                // SOC change minus coulomb-counted change, % per hour
	FSOC                        // mean state of charge, %
	FChargingShare              // fraction of the window charging
	FAmbient                    // mean ambient, °C
	FMotorSlope                 // motor temperature trend, °C/min (a hot motor that is cooling down is not overheating)
	NumFeatures
)

// FeatureNames name the features, for the model file's input spec.
var FeatureNames = [NumFeatures]string{
	"cell_spread_mv", "cell_spread_slope_mv_min", "cell_low_dev_mv", "cell_low_dev0_mv", "cell_low_dev_r_mv_100a",
	"cell_high_dev_mv", "temp_spread_c", "temp_max_slope_c_min", "temp_over_coolant_c", "coolant_delta_c",
	"pump_duty_pct", "cool_ratio", "cool_ratio_duty", "cool_valid", "heat_residual", "current_rms_a",
	"current_mean_a", "idle_current_a", "insulation_log_ohm_per_v", "insulation_slope_per_h",
	"lv_mean_v", "lv_min_v", "motor_temp_c", "motor_over_load_c", "motor_over_coolant_c",
	"inverter_over_coolant_c", "torque_rms_nm", "temp_max_still", "cell_min_still", "soc_residual_pct_h",
	"soc_pct", "charging_share", "ambient_c", "motor_temp_slope_c_min",
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
	// avg0 is the average cell at rest (mV), an estimate of the pack's
	// open-circuit voltage; avg0OK says the window was at rest and not
	// charging. Not a model input: its level
	// is the chemistry's, only its slope against SOC is used
	// (LongFeatures).
	avg0   float64
	avg0OK bool
	// ironLoad is the window's mean (speed/100 km/h)^1.5, a proxy of the
	// motor's iron and friction losses; motorOK says the motor and
	// coolant temperatures were both present. Not model inputs: they feed
	// the motor's heat-balance fit (LongFeatures.motorFit).
	ironLoad float64
	motorOK  bool
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
	f[FCellHighDev] = float32(diffMean(InCellMax, InCellAvg, 1000))
	// average - lowest cell against pack current: the intercept is the
	// load-free deviation (state of charge: a self-discharging or small
	// cell), the slope a resistance outlier. With too little current
	// variation the slope is 0 and the intercept the mean.
	{
		var c, si, sy, sii, siy float64
		for i := range w {
			a, m, cur := w[i][InCellAvg], w[i][InCellMin], w[i][InPackI]
			if math.IsNaN(a) || math.IsNaN(m) || math.IsNaN(cur) {
				continue
			}
			y, x := (a-m)*1000, cur/100
			c++
			si += x
			sy += y
			sii += x * x
			siy += x * y
		}
		if c > 0 {
			mx, my := si/c, sy/c
			vx := sii/c - mx*mx
			b := 0.0
			if vx > 0.01 { // current varied by more than about 10 A RMS
				b = (siy/c - mx*my) / vx
			}
			f[FCellLowDev0] = float32(my - b*mx)
			f[FCellLowDevR] = float32(b)
		}
	}
	// The average cell at rest (pack current under 12 A RMS: standing,
	// auxiliaries only) is the pack's open-circuit voltage per cell, up
	// to a little polarisation. Under load the polarisation (tens of mV,
	// with time constants of a minute) hides the OCV's slope.
	irms := rms(InPackI)
	s.avg0OK = false
	if v, ok := mean(InCellAvg); ok && present[InPackI] && irms < 12 {
		s.avg0, s.avg0OK = v*1000, true
	}
	f[FTempSpread] = float32(diffMean(InTempMax, InTempMin, 1))
	tslope := slope(col(InTempMax, series)) * 60
	f[FTempMaxSlope] = float32(tslope)
	f[FTempOverCoolant] = float32(diffMean(InTempMax, InCoolantIn, 1))
	f[FCoolantDelta] = float32(diffMean(InCoolantOut, InCoolantIn, 1))
	if v, ok := mean(InPumpDuty); ok {
		f[FPumpDuty] = float32(v)
	}
	// The coolant warms across the pack by Q/(mdot·cp) and the pack gives
	// it Q = UA·(T_module - T_coolant): their ratio is UA/(mdot·cp), which
	// depends on the flow and not on the load, the weather or the charger.
	{
		var c, num, den, duty float64
		for i := range w {
			tin, tout, tmax, d := w[i][InCoolantIn], w[i][InCoolantOut], w[i][InTempMax], w[i][InPumpDuty]
			if math.IsNaN(tin) || math.IsNaN(tout) || math.IsNaN(tmax) || math.IsNaN(d) || d < 5 {
				continue
			}
			c++
			num += tout - tin
			den += tmax - tin
			duty += d
		}
		if c >= float64(n)/2 && den/c >= 2 {
			r := max(0, min(4, num/den))
			f[FCoolRatio] = float32(r)
			f[FCoolRatioDuty] = float32(r * duty / c / 100)
			f[FCoolValid] = 1
		}
	}
	f[FCurrentRMS] = float32(irms)
	if v, ok := mean(InPackI); ok {
		f[FCurrentMean] = float32(v)
	}
	// Standing, not charging, no torque: the pack feeds only the
	// auxiliaries (a few A) or nothing with the contactors open; a current
	// sensor offset shows here.
	{
		var c, sum float64
		for i := range w {
			cur, sp, tq, ch := w[i][InPackI], w[i][InSpeed], w[i][InTorque], w[i][InCharging]
			if math.IsNaN(cur) || math.IsNaN(sp) || sp > 0.5 || (!math.IsNaN(tq) && math.Abs(tq) > 1) || ch > 0 {
				continue
			}
			c++
			sum += cur
		}
		if c >= 10 {
			f[FIdleCurrent] = float32(sum / c)
		}
	}
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
	if present[InMotorTemp] && present[InCoolantIn] {
		f[FMotorOverCoolant] = float32(diffMean(InMotorTemp, InCoolantIn, 1))
	}
	if present[InInverterTemp] && present[InCoolantIn] {
		f[FInverterOverCoolant] = float32(diffMean(InInverterTemp, InCoolantIn, 1))
	}
	f[FTorqueRMS] = float32(trms)
	if present[InMotorTemp] {
		f[FMotorSlope] = float32(slope(col(InMotorTemp, series)) * 60)
	}
	s.motorOK = present[InMotorTemp] && present[InCoolantIn]
	{
		var sum, c float64
		for i := range w {
			if v := w[i][InSpeed]; !math.IsNaN(v) {
				v = max(0, v) / 100
				sum += v * math.Sqrt(v)
				c++
			}
		}
		s.ironLoad = 0
		if c > 0 {
			s.ironLoad = sum / c
		}
	}
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
	if v, ok := mean(InSOC); ok {
		f[FSOC] = float32(v)
	} else {
		f[FSOC] = 50
	}
	if v, ok := mean(InCharging); ok {
		f[FChargingShare] = float32(v)
		if v >= 0.5 {
			s.avg0OK = false
		}
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
	LCellLowDev0      = iota // EWMA of FCellLowDev0, mV
	LCellLowDevRise          // EWMA of FCellLowDev0 minus its lowest value so far in the run, mV
	LCellDevTime             // d(average - lowest cell)/dt at constant SOC and current, mV/h (self-discharge)
	LCellDevSOC              // d(average - lowest cell)/dSOC, mV per 10 % (capacity outlier)
	LCellDevCurrent          // d(average - lowest cell)/dI, mV per 100 A (resistance outlier)
	LCellHighSOC             // d(highest - average cell)/dSOC, mV per 10 %
	LCellSpread              // EWMA of FCellSpread, mV
	LHeatResidual            // EWMA of FHeatResidual
	LTempOverCoolant         // EWMA of FTempOverCoolant, °C
	LTempOverRise            // EWMA of FTempOverCoolant minus its lowest value so far, °C
	LCoolantDelta            // EWMA of FCoolantDelta, °C
	LCoolRatioDuty           // EWMA of FCoolRatioDuty over the windows where it was measurable
	LCoolSeen                // EWMA of FCoolValid
	LMotorOverCoolant        // EWMA of FMotorOverCoolant, °C
	LIdleCurrent             // EWMA of FIdleCurrent over windows with standing time, A
	LLVMean                  // EWMA of FLVMean, V
	LLVMin                   // EWMA of FLVMin, V
	LLVLow                   // lowest FLVMin so far in the run, V
	LCellSameSOCRise         // average - lowest cell at rest now minus at the first visit of the same SOC (2.5 % bins), mV: a short's self-discharge, whatever the OCV curve
	LCellSameSOCRate         // that rise per hour since the first visit, mV/h (EWMA over windows at least 20 min after it)
	LCellDeficit             // EWMA of the lowest cell's charge deficit, % of SOC: rest gap over the OCV slope the run has learnt (cellDeficit)
	LCellDeficitRise         // LCellDeficit minus its lowest value so far in the run, %
	LCellDeficitTime         // d(deficit)/dt at constant SOC and current, % per hour (a short's self-discharge)
	LCellDeficitSOC          // d(deficit)/dSOC, % per 10 % SOC (a capacity outlier)
	LCellSurplusSOC          // d(highest cell's surplus)/dSOC, % per 10 % SOC
	LMotorTrend              // EWMA of FMotorSlope, °C/min: whether the motor has been warming or cooling over the last ten minutes
	LMotorDrift              // d(motor - coolant)/dt at constant load and temperature trend, K/h: the motor's cooling or losses getting worse (motorFit)
	LStuck                   // widest range of a coupled signal (Stream) since a model input last changed, in typical steps
	LLost                    // inputs present earlier in the run and missing for the whole window (Stream)
	NumLongFeatures
)

// LongFeatureNames name the long-horizon features.
var LongFeatureNames = [NumLongFeatures]string{
	"ew_cell_low_dev0_mv", "ew_cell_low_dev0_rise_mv", "cell_dev_time_mv_h", "cell_dev_soc_mv_10pct",
	"cell_dev_current_mv_100a", "cell_high_soc_mv_10pct", "ew_cell_spread_mv", "ew_heat_residual",
	"ew_temp_over_coolant_c", "ew_temp_over_coolant_rise_c", "ew_coolant_delta_c", "ew_cool_ratio_duty",
	"ew_cool_seen", "ew_motor_over_coolant_c", "ew_idle_current_a", "ew_lv_mean_v", "ew_lv_min_v",
	"lv_min_run_v", "cell_same_soc_rise_mv", "cell_same_soc_rate_mv_h", "ew_cell_deficit_pct",
	"ew_cell_deficit_rise_pct", "cell_deficit_time_pct_h", "cell_deficit_soc_pct_10pct", "cell_surplus_soc_pct_10pct",
	"ew_motor_temp_slope_c_min", "motor_drift_k_h", "stuck_steps", "inputs_lost",
}

// LongAlpha is the EWMA weight of a new window: a time constant of about
// ten windows (10 min).
const LongAlpha = 0.1

// regWindows is the time constant of the cell deviation regression, in
// windows: a self-discharge of a few mV an hour needs an hour or more.
const regWindows = 90

// ewReg is an exponentially weighted least-squares fit of two responses
// on three regressors, with a ridge that keeps a coefficient at 0 until
// its regressor has varied.
type ewReg struct {
	ridge *[3]float64 // nil: regRidge
	w     float64
	sx    [3]float64
	sxx   [3][3]float64
	sy    [2]float64
	sxy   [2][3]float64
	beta  [2][3]float64
}

var regRidge = [3]float64{0.3, 0.05, 0.1} // (SOC/10)², h², (I/100)²

// defRidge is the deficit fit's ridge: a smaller one on SOC, whose
// swings the deficit's SOC coefficient is about.
var defRidge = [3]float64{0.05, 0.05, 0.1}

func (r *ewReg) add(x [3]float64, y [2]float64) {
	d := 1 - 1.0/regWindows
	r.w = r.w*d + 1
	for i := range 3 {
		r.sx[i] = r.sx[i]*d + x[i]
		for j := range 3 {
			r.sxx[i][j] = r.sxx[i][j]*d + x[i]*x[j]
		}
	}
	for k := range 2 {
		r.sy[k] = r.sy[k]*d + y[k]
		for i := range 3 {
			r.sxy[k][i] = r.sxy[k][i]*d + y[k]*x[i]
		}
	}
	// Centred covariance plus ridge; solve by Gaussian elimination.
	var a [3][3]float64
	var b [2][3]float64
	for i := range 3 {
		mi := r.sx[i] / r.w
		for j := range 3 {
			a[i][j] = r.sxx[i][j]/r.w - mi*r.sx[j]/r.w
		}
		if r.ridge != nil {
			a[i][i] += r.ridge[i]
		} else {
			a[i][i] += regRidge[i]
		}
		for k := range 2 {
			b[k][i] = r.sxy[k][i]/r.w - mi*r.sy[k]/r.w
		}
	}
	for c := range 3 {
		piv := a[c][c]
		for rr := c + 1; rr < 3; rr++ {
			fct := a[rr][c] / piv
			for j := c; j < 3; j++ {
				a[rr][j] -= fct * a[c][j]
			}
			for k := range 2 {
				b[k][rr] -= fct * b[k][c]
			}
		}
	}
	for k := range 2 {
		for i := 2; i >= 0; i-- {
			s := b[k][i]
			for j := i + 1; j < 3; j++ {
				s -= a[i][j] * r.beta[k][j]
			}
			r.beta[k][i] = s / a[i][i]
		}
	}
}

// LongFeatures is the per-run state behind the long-horizon features: one
// per vehicle, updated once per window with that window's Features, reset
// when the vehicle starts a new run (ignition, agent start). The zero
// value is ready; it does not allocate. LStuck and LLost need the samples
// and are filled by Stream (0 here).
type LongFeatures struct {
	n                int
	ew               [NumLongFeatures]float64
	coolSeen, idleOK bool
	lowDevMin        float64
	overMin          float64
	lvLow            float64
	reg              ewReg
	// socGap is the rest gap (FCellLowDev0) at the first visit of each
	// sameSOCBin-wide SOC bin, socAt the clock then, socSeen whether it
	// was visited. clock counts windows of driving and of sleep between runs
	// (Continue): the same-SOC comparison is the one memory a run keeps of
	// the runs before it, so a cell that loses charge while the car sleeps
	// shows at the next wake-up.
	socGap  [sameSOCBins]float32
	socAt   [sameSOCBins]int64
	socSeen [sameSOCBins]bool
	clock   int64 // in windows
	// avg0 and avg0OK: the window's average cell at rest (set by
	// Stream from FeatureScratch before Update).
	avg0   float64
	avg0OK bool
	// ocv is the run's learnt open-circuit voltage per cell (mV) in 1 %
	// SOC bins (EWMA of avg0), ocvN how many windows fed each bin.
	ocv    [101]float32
	ocvN   [101]uint8
	defReg ewReg
	defOK  bool
	defMin float64
	// ironLoad and motorOK: the window's iron-loss proxy and whether its
	// motor heat balance is measurable (set by Stream from
	// FeatureScratch before Update).
	ironLoad float64
	motorOK  bool
	motor    motorFit
}

// motorWindows is the time constant of the motor's heat-balance fit, in
// windows: a cooling fault or a growing loss develops over tens of
// minutes, a run lasts one to a few hours.
const motorWindows = 60

// motorRidge keeps each coefficient of the motor fit at 0 until its
// regressor has varied: (torque/100 Nm)², (speed/100 km/h)^1.5, the
// temperature trend in °C/min and hours.
var motorRidge = [4]float64{0.05, 0.05, 0.05, 0.05}

// motorFit is an exponentially weighted ridge regression of the motor's
// temperature over its coolant on what a healthy motor's heat balance
// needs: copper losses (torque²), iron and friction losses (speed^1.5),
// the stored heat (its temperature trend: a motor cooling down reads hot
// for its load) and time. In a healthy motor the first three explain
// the temperature whatever its size, conductance and time constant, and
// the time coefficient stays near 0; a failing motor cooling or growing
// losses make the same load read hotter hour by hour.
type motorFit struct {
	w    float64
	sx   [4]float64
	sxx  [4][4]float64
	sy   float64
	sxy  [4]float64
	beta [4]float64
}

func (r *motorFit) add(x [4]float64, y float64) {
	d := 1 - 1.0/motorWindows
	r.w = r.w*d + 1
	r.sy = r.sy*d + y
	for i := range 4 {
		r.sx[i] = r.sx[i]*d + x[i]
		r.sxy[i] = r.sxy[i]*d + y*x[i]
		for j := range 4 {
			r.sxx[i][j] = r.sxx[i][j]*d + x[i]*x[j]
		}
	}
	// Centred covariance plus ridge (positive definite): Gaussian
	// elimination without pivoting.
	var a [4][4]float64
	var b [4]float64
	for i := range 4 {
		mi := r.sx[i] / r.w
		for j := range 4 {
			a[i][j] = r.sxx[i][j]/r.w - mi*r.sx[j]/r.w
		}
		a[i][i] += motorRidge[i]
		b[i] = r.sxy[i]/r.w - mi*r.sy/r.w
	}
	for c := range 4 {
		for rr := c + 1; rr < 4; rr++ {
			fct := a[rr][c] / a[c][c]
			for j := c; j < 4; j++ {
				a[rr][j] -= fct * a[c][j]
			}
			b[rr] -= fct * b[c]
		}
	}
	for i := 3; i >= 0; i-- {
		s := b[i]
		for j := i + 1; j < 4; j++ {
			s -= a[i][j] * r.beta[j]
		}
		r.beta[i] = s / a[i][i]
	}
}

// sameSOCBin is the SOC bin width, %, of the same-SOC comparison, and
// sameSOCMin the SOC below which it is not made (the OCV knee: a 0.5 %
// SOC step moves the gap by tens of mV there).
const (
	sameSOCBin  = 2.5
	sameSOCBins = 41
	sameSOCMin  = 8
	sameSOCAge  = 20 // windows after the first visit before the rate counts
)

// Reset forgets the run and the runs before it.
func (l *LongFeatures) Reset() { *l = LongFeatures{} }

// RunGap is the default pause in a vehicle's data after which the fault
// model starts a new run (detect.Options.Gap); shorter pauses are missing
// samples inside one run.
const RunGap = 5 * time.Minute

// MaxSleepMemory is the longest sleep after which a new run still compares
// the cells at the same SOC with the runs before it (Continue).
const MaxSleepMemory = 7 * 24 * time.Hour

// Continue starts a new run after the vehicle slept for sleep: the run's
// state is forgotten as by Reset, except the rest cell gap at each SOC
// first visited in the runs before, with the sleep counted in its age.
// A vehicle's SOC does not move while it sleeps, so a healthy cell's gap
// at the same SOC is the same after the sleep, while a cell with an
// internal short has lost charge and shows a larger gap. A sleep longer
// than MaxSleepMemory, or a negative one, resets instead.
func (l *LongFeatures) Continue(sleep time.Duration) {
	if sleep < 0 || sleep > MaxSleepMemory {
		l.Reset()
		return
	}
	gap, at, seen, clock := l.socGap, l.socAt, l.socSeen, l.clock+int64(sleep/WindowLength)
	*l = LongFeatures{socGap: gap, socAt: at, socSeen: seen, clock: clock}
}

// Update folds the window features f into the state and writes the
// long-horizon features into out.
func (l *LongFeatures) Update(f *[NumFeatures]float32, out *[NumLongFeatures]float32) {
	a := LongAlpha
	first := l.n == 0
	hours := float64(l.n) * WindowLength.Hours()
	l.n++
	l.clock++
	ew := func(k int, v float64) {
		if first {
			l.ew[k] = v
			return
		}
		l.ew[k] += a * (v - l.ew[k])
	}
	ew(LCellLowDev0, float64(f[FCellLowDev0]))
	ew(LCellSpread, float64(f[FCellSpread]))
	ew(LHeatResidual, float64(f[FHeatResidual]))
	ew(LTempOverCoolant, float64(f[FTempOverCoolant]))
	ew(LCoolantDelta, float64(f[FCoolantDelta]))
	ew(LCoolSeen, float64(f[FCoolValid]))
	ew(LMotorOverCoolant, float64(f[FMotorOverCoolant]))
	ew(LMotorTrend, float64(f[FMotorSlope]))
	ew(LLVMean, float64(f[FLVMean]))
	ew(LLVMin, float64(f[FLVMin]))
	if f[FCoolValid] > 0 {
		if !l.coolSeen {
			l.ew[LCoolRatioDuty], l.coolSeen = float64(f[FCoolRatioDuty]), true
		} else {
			l.ew[LCoolRatioDuty] += a * (float64(f[FCoolRatioDuty]) - l.ew[LCoolRatioDuty])
		}
	}
	if v := float64(f[FIdleCurrent]); v != 0 {
		if !l.idleOK {
			l.ew[LIdleCurrent], l.idleOK = v, true
		} else {
			l.ew[LIdleCurrent] += a * (v - l.ew[LIdleCurrent])
		}
	}
	if first {
		l.lowDevMin, l.overMin, l.lvLow = l.ew[LCellLowDev0], l.ew[LTempOverCoolant], float64(f[FLVMin])
	}
	l.lowDevMin = math.Min(l.lowDevMin, l.ew[LCellLowDev0])
	l.overMin = math.Min(l.overMin, l.ew[LTempOverCoolant])
	l.lvLow = math.Min(l.lvLow, float64(f[FLVMin]))
	l.ew[LCellLowDevRise] = l.ew[LCellLowDev0] - l.lowDevMin
	l.ew[LTempOverRise] = l.ew[LTempOverCoolant] - l.overMin
	l.ew[LLVLow] = l.lvLow
	if soc := float64(f[FSOC]); soc >= sameSOCMin && soc <= 100 && f[FChargingShare] < 0.5 {
		b := int(soc / sameSOCBin)
		gap := f[FCellLowDev0]
		if !l.socSeen[b] {
			l.socGap[b], l.socAt[b], l.socSeen[b] = gap, l.clock, true
		}
		rise := float64(gap - l.socGap[b])
		if age := l.clock - l.socAt[b]; age >= sameSOCAge {
			ew(LCellSameSOCRise, rise)
			ew(LCellSameSOCRate, rise/(float64(age)*WindowLength.Hours()))
		}
	}
	l.cellDeficit(f, hours)
	if l.motorOK {
		tq := float64(f[FTorqueRMS]) / 100
		l.motor.add([4]float64{tq * tq, l.ironLoad, float64(f[FMotorSlope]), hours}, float64(f[FMotorOverCoolant]))
	}
	l.reg.add([3]float64{float64(f[FSOC]) / 10, hours, float64(f[FCurrentMean]) / 100},
		[2]float64{float64(f[FCellLowDev]), float64(f[FCellHighDev])})
	clip := func(v float64) float64 { return max(-100, min(100, v)) }
	l.ew[LCellDevSOC] = clip(l.reg.beta[0][0])
	l.ew[LCellDevTime] = clip(l.reg.beta[0][1])
	l.ew[LCellDevCurrent] = clip(l.reg.beta[0][2])
	l.ew[LCellHighSOC] = clip(l.reg.beta[1][0])
	l.ew[LMotorDrift] = clip(l.motor.beta[3])
	for k, v := range l.ew {
		out[k] = float32(v)
	}
}

// Deficit settings: the OCV slope is taken between rest bins at least
// ocvSpan and at most ocvReach % of SOC apart (a chord: rests at
// different SOC are hours apart), and is at least
// minOCVSlope mV per % (a flat plateau would blow the deficit up).
const (
	ocvSpan     = 5
	ocvReach    = 40
	minOCVSlope = 1.0
	maxDeficit  = 50.0
)

// cellDeficit turns the cell gaps from mV into % of SOC: the gap between
// the average and the lowest cell at rest is (SOC difference) × (OCV
// slope), and the OCV slope changes several times across the SOC range
// (steep near empty and full, flat in the middle), so a healthy offset
// cell's mV gap changes with SOC while its SOC gap does not. The slope
// comes from the car itself: the average cell at zero current against
// the pack SOC, learnt over the run in 1 % bins, so no chemistry's curve
// is built in. A short's deficit grows with time, a small cell's with
// the SOC swing; both are fitted like the mV gaps (ewReg). The features
// stay 0 until the run has seen enough SOC to know a slope.
func (l *LongFeatures) cellDeficit(f *[NumFeatures]float32, hours float64) {
	soc := float64(f[FSOC])
	if !l.avg0OK || !(soc >= sameSOCMin && soc <= 100) {
		return
	}
	b := int(soc + 0.5)
	if l.ocvN[b] == 0 {
		l.ocv[b] = float32(l.avg0)
	} else {
		l.ocv[b] += float32(0.2 * (l.avg0 - float64(l.ocv[b])))
	}
	l.ocvN[b] = min(255, l.ocvN[b]+1)
	lo, hi := -1, -1
	for k := b - ocvSpan; k >= max(0, b-ocvReach); k-- {
		if l.ocvN[k] > 0 {
			lo = k
			break
		}
	}
	for k := b + ocvSpan; k <= min(100, b+ocvReach); k++ {
		if l.ocvN[k] > 0 {
			hi = k
			break
		}
	}
	var sl float64
	switch {
	case lo >= 0 && hi >= 0:
		sl = float64(l.ocv[hi]-l.ocv[lo]) / float64(hi-lo)
	case lo >= 0:
		sl = float64(l.ocv[b]-l.ocv[lo]) / float64(b-lo)
	case hi >= 0:
		sl = float64(l.ocv[hi]-l.ocv[b]) / float64(hi-b)
	default:
		return
	}
	sl = max(sl, minOCVSlope)
	clip := func(v float64) float64 { return max(-maxDeficit, min(maxDeficit, v)) }
	low, high := clip(float64(f[FCellLowDev0])/sl), clip(float64(f[FCellHighDev])/sl)
	if !l.defOK {
		l.defReg.ridge = &defRidge
		l.ew[LCellDeficit], l.defMin, l.defOK = low, low, true
	} else {
		l.ew[LCellDeficit] += LongAlpha * (low - l.ew[LCellDeficit])
	}
	l.defMin = math.Min(l.defMin, l.ew[LCellDeficit])
	l.ew[LCellDeficitRise] = l.ew[LCellDeficit] - l.defMin
	l.defReg.add([3]float64{soc / 10, hours, float64(f[FCurrentMean]) / 100}, [2]float64{low, high})
	l.ew[LCellDeficitSOC] = clip(l.defReg.beta[0][0])
	l.ew[LCellDeficitTime] = clip(l.defReg.beta[0][1])
	l.ew[LCellSurplusSOC] = clip(l.defReg.beta[1][0])
}

// NumInputs is the fault model's input count: the window features then
// the long-horizon features.
const NumInputs = NumFeatures + NumLongFeatures

// InputNames name the fault model's inputs, in order.
func InputNames() []string {
	return append(append([]string(nil), FeatureNames[:]...), LongFeatureNames[:]...)
}

// stuckPairs couple an input with one that moves whenever it should: a
// reading that stays put while its partner moves a lot is stuck. step is
// the partner's typical movement per second that counts, in its units.
var stuckPairs = [...]struct {
	in, partner int
	step        float64
}{
	{InTempMax, InTempMin, 0.5},
	{InCellMin, InCellAvg, 0.002},
	{InCoolantIn, InCoolantOut, 0.2},
	{InMotorTemp, InInverterTemp, 1},
	{InPackI, InTorque, 5},
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
	prev    Sample
	havePrv bool
	seen    [NumModelInputs]bool
	winSeen [NumModelInputs]bool
	// lo, hi: the partner's range since the input last changed (NaN: not
	// tracking); its width in steps is how far the partner moved. A range,
	// not a sum of steps: a noisy or coarsely quantised partner that
	// toggles between two readings for an hour has moved one step, not
	// thousands.
	lo, hi [len(stuckPairs)]float64
}

// Reset forgets the run and the runs before it.
func (s *Stream) Reset() {
	s.n = 0
	s.long.Reset()
	s.resetRun()
}

// Continue starts a new run after the vehicle slept for sleep
// (LongFeatures.Continue).
func (s *Stream) Continue(sleep time.Duration) {
	s.n = 0
	s.long.Continue(sleep)
	s.resetRun()
}

func (s *Stream) resetRun() {
	s.havePrv = false
	s.seen = [NumModelInputs]bool{}
	s.winSeen = [NumModelInputs]bool{}
	s.resetStuck()
}

func (s *Stream) resetStuck() {
	for k := range stuckPairs {
		s.lo[k], s.hi[k] = math.NaN(), math.NaN()
	}
}

// Push adds one sample. When it completes a window it writes the model
// inputs into in (length NumInputs) and returns true with the number of
// model inputs present in the window.
func (s *Stream) Push(x Sample, in []float32) (bool, int) {
	size := int(WindowLength / time.Second)
	if s.ring == nil {
		s.ring = make([]Sample, size)
		s.window = make([]Sample, size)
		s.resetStuck()
	}
	for k, v := range x {
		if !math.IsNaN(v) {
			s.winSeen[k] = true
		}
	}
	if s.havePrv {
		for k, p := range stuckPairs {
			a, b, pa, pb := x[p.in], x[p.partner], s.prev[p.in], s.prev[p.partner]
			switch {
			case math.IsNaN(a) || math.IsNaN(pa) || a != pa:
				s.lo[k], s.hi[k] = math.NaN(), math.NaN()
			case math.IsNaN(b):
			case math.IsNaN(s.lo[k]):
				s.lo[k], s.hi[k] = b, b
				if !math.IsNaN(pb) {
					s.lo[k], s.hi[k] = min(b, pb), max(b, pb)
				}
			default:
				s.lo[k], s.hi[k] = min(s.lo[k], b), max(s.hi[k], b)
			}
		}
	}
	s.prev, s.havePrv = x, true
	s.ring[s.n%size] = x
	s.n++
	if s.n%size != 0 {
		return false, 0
	}
	// A full window ends at the ring's end: ring is in time order.
	np := Features(s.ring, &s.wf, &s.scratch)
	s.long.avg0, s.long.avg0OK = s.scratch.avg0, s.scratch.avg0OK
	s.long.ironLoad, s.long.motorOK = s.scratch.ironLoad, s.scratch.motorOK
	s.long.Update(&s.wf, &s.lf)
	stuck, lost := 0.0, 0
	for k, p := range stuckPairs {
		if !math.IsNaN(s.lo[k]) {
			stuck = max(stuck, min(1000, (s.hi[k]-s.lo[k])/p.step))
		}
	}
	for k := range s.seen {
		if s.seen[k] && !s.winSeen[k] {
			lost++
		}
		s.seen[k] = s.seen[k] || s.winSeen[k]
	}
	s.winSeen = [NumModelInputs]bool{}
	s.lf[LStuck] = float32(math.Log1p(stuck))
	s.lf[LLost] = float32(lost)
	copy(in, s.wf[:])
	copy(in[NumFeatures:], s.lf[:])
	copy(s.window, s.ring)
	return true, np
}

// Window returns the samples of the last completed window, oldest first;
// valid until the next completed window.
func (s *Stream) Window() []Sample { return s.window }
