package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/sim"
	int8nn "github.com/evedge/evedge/models/int8"
)

// Seed ranges: training, validation (the alarm threshold) and evaluation
// scenarios never share a seed; nothing is tuned on the evaluation seeds.
const (
	trainSeedBase = 1_000_000
	validSeedBase = 5_000_000
	evalSeedBase  = 9_000_000
	// validFaultSeedBase: faulty validation runs, for choosing between
	// training variants without looking at the evaluation seeds.
	validFaultSeedBase = 6_000_000
)

// ModelName and ModelVersion are written into the model file.
const (
	ModelName    = "evedge-fault"
	ModelVersion = "5"
)

// Threshold is the alarm threshold on the smoothed Score (Smoother) for
// the committed model (models/fault/fault.evnn): ThresholdMargin above the
// highest smoothed score of the healthy validation driving (seeds
// validSeedBase+, never the evaluation seeds), after calibrate has moved
// each fault class to its own healthy tail. Retraining changes it;
// `evedge eval fault --train` prints the new one.
const Threshold = 1.5434999435273273

// zClip bounds standardised features: training clips to it and the int8
// input scale is calibrated to it, so outliers (a collapsed insulation)
// saturate instead of costing every input its resolution.
const zClip = 6

// normalWeight multiplies the balanced weight of the normal class.
const normalWeight = 4

// Options configure Train and Evaluate. Zero fields take the defaults.
type Options struct {
	DBC     *signals.Database // the sim DBC (board/sim/sim-ev.dbc); required
	Workers int               // parallel simulations; default GOMAXPROCS
	// Ctx stops Train and Evaluate early (between scenarios and between
	// training epochs) with its error; nil: never.
	Ctx context.Context

	// Training.
	HealthyRuns     int     // healthy training scenarios (default 600)
	RunsPerFault    int     // training scenarios per fault kind (default 60)
	Epochs          int     // default 100
	ValidationHours float64 // healthy validation driving that sets the threshold (default 2000)

	// Evaluation.
	NormalHours      float64 // held-out healthy driving for the false-alarm rate (default 1000)
	EvalRunsPerFault int     // held-out scenarios per fault kind (default 12)
	Threshold        float64 // alarm threshold to evaluate; 0: the committed Threshold

	// Breaks pauses the data of about half the training, validation and
	// evaluation scenarios (drawBreaks): the car sleeps and the model's
	// stream continues after it. Off for the committed model (round 8 in
	// models/fault/README.md).
	Breaks bool
}

func (o Options) withDefaults() (Options, error) {
	if o.DBC == nil {
		return o, errors.New("train: Options.DBC is nil: load board/sim/sim-ev.dbc")
	}
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	if o.Ctx == nil {
		o.Ctx = context.Background()
	}
	def(&o.Workers, runtime.GOMAXPROCS(0))
	def(&o.HealthyRuns, 600)
	def(&o.RunsPerFault, 60)
	def(&o.Epochs, 100)
	def(&o.EvalRunsPerFault, 12)
	if o.NormalHours <= 0 {
		o.NormalHours = 1000
	}
	if o.ValidationHours <= 0 {
		o.ValidationHours = 2000
	}
	if o.Threshold == 0 {
		o.Threshold = Threshold
	}
	return o, nil
}

// Report describes a training run.
type Report struct {
	Runs, Windows int
	SimHours      float64
	PerClass      []int // training windows per class
	Loss          float64
	TrainAccuracy float64 // float model, training windows
	// Threshold is the alarm threshold set on the validation driving:
	// ThresholdMargin above its highest smoothed score.
	Threshold       float64
	ValidationHours float64
	ValidationMax   float64
	Shifts          []float64 // logit shift per class from calibrate
	SimTime         time.Duration
	FitTime         time.Duration
	ValidTime       time.Duration
}

// span is a range of run lengths, hours; slow faults run at least Slow
// hours past the end of their ramp.
type span struct{ Min, Max, Slow float64 }

// scenarios lists healthy then faulty scenarios with seeds from base,
// with pauses in their data when breaks is set (Options.Breaks).
func scenarios(db *signals.Database, base uint64, healthy int, hs span, perFault int, fs span, breaks bool) []Scenario {
	var out []Scenario
	if breaks {
		defer func() {
			for i := range out {
				drawBreaks(&out[i])
			}
		}()
	}
	seed := base
	for range healthy {
		out = append(out, newScenario(db, seed, "", hs.Min, hs.Max))
		seed++
	}
	for _, k := range faultKinds {
		for range perFault {
			out = append(out, newScenarioSlow(db, seed, k, fs.Min, fs.Max, fs.Slow))
			seed++
		}
	}
	return out
}

// simulateAll runs the scenarios on workers goroutines; results are in
// scenario order whatever the scheduling. Once ctx is done it starts no
// more scenarios and returns ctx's error.
func simulateAll(ctx context.Context, scs []Scenario, db *signals.Database, workers int) ([]Run, error) {
	q, err := newQuantizer(db)
	if err != nil {
		return nil, err
	}
	runs := make([]Run, len(scs))
	errs := make([]error, len(scs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				runs[i], errs[i] = simulate(scs[i], q)
			}
		}()
	}
	for i := range scs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("train: scenario %d: %w", i, err)
		}
	}
	return runs, nil
}

// Train simulates the training scenarios, fits the network and returns it
// quantised, with golden vectors from held-out windows.
func Train(opts Options) (*int8nn.Model, Report, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, Report{}, err
	}
	var rep Report
	t0 := time.Now()
	scs := scenarios(opts.DBC, trainSeedBase, opts.HealthyRuns, span{1, 4, 0}, opts.RunsPerFault, span{1, 2, 1.5}, opts.Breaks)
	runs, err := simulateAll(opts.Ctx, scs, opts.DBC, opts.Workers)
	if err != nil {
		return nil, rep, err
	}
	rep.SimTime = time.Since(t0)
	rep.Runs = len(runs)
	for _, r := range runs {
		rep.SimHours += r.Duration.Hours()
	}
	raw, ys, perClass := trainingSet(scs, runs)
	rep.Windows, rep.PerClass = len(raw), perClass
	for c, n := range rep.PerClass {
		if n == 0 {
			return nil, rep, fmt.Errorf("train: no training windows of class %s", Classes[c])
		}
	}
	t1 := time.Now()
	net, inputs, xs, loss := fitNet(opts.Ctx, raw, ys, perClass, opts.Epochs)
	if err := opts.Ctx.Err(); err != nil {
		return nil, rep, err
	}
	rep.Loss = loss
	rep.FitTime = time.Since(t1)
	acts := net.newActs()
	var ok int
	for k, x := range xs {
		if Argmax(net.forward(x, acts)) == ys[k] {
			ok++
		}
	}
	rep.TrainAccuracy = float64(ok) / float64(len(xs))

	// Healthy validation driving (its own seeds): it shifts each fault
	// class to its own healthy tail (calibrate) and sets the threshold,
	// run in int8 as the agent runs it.
	t2 := time.Now()
	nv := int(math.Ceil(opts.ValidationHours / normalRunH))
	vs := scenarios(opts.DBC, validSeedBase, nv, span{normalRunH, normalRunH, 0}, 0, span{}, opts.Breaks)
	vruns, err := simulateAll(opts.Ctx, vs, opts.DBC, opts.Workers)
	if err != nil {
		return nil, rep, err
	}
	for _, r := range vruns {
		rep.ValidationHours += r.Duration.Hours()
	}
	rep.Shifts = calibrate(net, inputs, vruns)
	m, err := quantize(net, inputs, raw)
	if err != nil {
		return nil, rep, err
	}
	if rep.ValidationMax, err = validationMax(m, vruns); err != nil {
		return nil, rep, err
	}
	rep.ValidTime = time.Since(t2)

	// Golden vectors: 16 windows of held-out scenarios, two per kind.
	gs := scenarios(opts.DBC, evalSeedBase-1000, 0, span{}, 1, span{1, 1, 0}, false)
	gruns, err := simulateAll(opts.Ctx, gs, opts.DBC, opts.Workers)
	if err != nil {
		return nil, rep, err
	}
	var golden [][]float32
	for _, r := range gruns {
		for _, k := range []int{len(r.Windows) / 3, len(r.Windows) - 1} {
			if len(golden) < 16 && k >= 0 && k < len(r.Windows) {
				golden = append(golden, append([]float32(nil), r.Windows[k].F[:]...))
			}
		}
	}
	if err := m.SetGolden(golden, 1e-3, 1e-3); err != nil {
		return nil, rep, err
	}
	rep.Threshold = rep.ValidationMax + ThresholdMargin
	return m, rep, nil
}

// trainingSet returns the training windows of runs with their classes and
// the count per class. Windows of a faulty run whose fault is present but
// below LabelLevel are left out; those before onset are healthy driving.
func trainingSet(scs []Scenario, runs []Run) ([][NumInputs]float32, []int, []int) {
	var raw [][NumInputs]float32
	var ys []int
	perClass := make([]int, len(Classes))
	for i, r := range runs {
		relabel(scs[i], r)
		for _, w := range r.Windows {
			if scs[i].Fault != nil && w.Class == 0 && w.Level > 0 {
				continue // fault present but not yet visible: left out
			}
			raw = append(raw, w.F)
			ys = append(ys, w.Class)
			perClass[w.Class]++
		}
	}
	return raw, ys, perClass
}

// relabel sets the class of r's windows: a window is a fault window when
// Visible says the fault's physical effect is large enough and, for a
// cooling loss, the pack needed cooling (FCoolValid: pump on, hottest
// module ≥ 2 °C above the coolant) in that window or one of the
// coolDemandWindows before it: a pump that delivers too little changes
// nothing a sensor can see while the pack is colder than its coolant.
func relabel(sc Scenario, r Run) {
	last := -1 << 30
	for k := range r.Windows {
		w := &r.Windows[k]
		if w.F[diag.FCoolValid] > 0 {
			last = k
		}
		w.Class = 0
		if !Visible(sc, w.End) {
			continue
		}
		if sc.Fault.Kind == sim.FaultCoolingLoss && k-last > coolDemandWindows {
			continue
		}
		if !w.Exercised {
			continue
		}
		w.Class = sc.Class
	}
}

// coolDemandWindows is how long after the last window with cooling
// demand a cooling loss still counts as visible: the long-horizon
// features remember about ten windows.
const coolDemandWindows = 10

// fitNet standardises the training windows and fits the float network.
// fitNet stops between epochs once ctx is done (the caller checks ctx).
func fitNet(ctx context.Context, raw [][NumInputs]float32, ys []int, perClass []int, epochs int) (*mlp, []int8nn.Input, [][]float64, float64) {
	names := InputNames()
	inputs := make([]int8nn.Input, NumInputs)
	for j := range NumInputs {
		var s, ss float64
		for _, f := range raw {
			s += float64(f[j])
		}
		mean := s / float64(len(raw))
		for _, f := range raw {
			d := float64(f[j]) - mean
			ss += d * d
		}
		std := math.Sqrt(ss / float64(len(raw)))
		if std < 1e-6 {
			std = 1
		}
		inputs[j] = int8nn.Input{Name: names[j], Mean: float32(mean), Std: float32(std)}
	}
	xs := make([][]float64, len(raw))
	for k, f := range raw {
		xs[k] = standardise(inputs, f[:])
	}
	cw := make([]float64, len(Classes))
	for c, n := range perClass {
		cw[c] = float64(len(raw)) / float64(len(Classes)*max(1, n))
	}
	// False alarms cost more than a late detection: normal weighs more.
	cw[0] *= normalWeight
	// An ensemble of networks from different seeds, trained in parallel
	// and merged into one (mergeEnsemble): averaging their logits removes
	// most of the seed-to-seed spread of the healthy tail.
	members := make([]*mlp, EnsembleSize)
	losses := make([]float64, EnsembleSize)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rng := rand.New(rand.NewPCG(42+uint64(k), 7))
			members[k] = newMLP(rng, NumInputs, hidden1, hidden2, len(Classes))
			losses[k] = members[k].fit(ctx, rng, xs, ys, cw, epochs, 64, 3e-3)
		}()
	}
	wg.Wait()
	var loss float64
	for _, l := range losses {
		loss += l / float64(len(losses))
	}
	return mergeEnsemble(members), inputs, xs, loss
}

// EnsembleSize is how many networks fitNet trains and merges.
var EnsembleSize = 5

// mergeEnsemble returns one network whose logits are the mean of the
// members' (all of the same sizes): hidden layers side by side, the
// second block-diagonal, the output layer averaging. It runs as one
// int8 network; the runner skips the zeros at the ends of each weight
// row (int8nn.Runner), so the blocks cost no more than the members.
func mergeEnsemble(ms []*mlp) *mlp {
	if len(ms) == 1 {
		return ms[0]
	}
	K := len(ms)
	sz := ms[0].sizes
	L := len(sz) - 1
	out := &mlp{sizes: make([]int, len(sz))}
	out.sizes[0], out.sizes[L] = sz[0], sz[L]
	for l := 1; l < L; l++ {
		out.sizes[l] = K * sz[l]
	}
	for l := range L {
		in, o := out.sizes[l], out.sizes[l+1]
		w, b := make([]float64, in*o), make([]float64, o)
		mi, mo := sz[l], sz[l+1] // a member's sizes
		for k, m := range ms {
			for r := range mo {
				for c := range mi {
					v := m.w[l][r*mi+c]
					switch {
					case l == 0: // rows side by side, full input
						w[(k*mo+r)*in+c] = v
					case l == L-1: // averaging output
						w[r*in+k*mi+c] += v / float64(K)
					default: // block-diagonal
						w[(k*mo+r)*in+k*mi+c] = v
					}
				}
				if l == L-1 {
					b[r] += m.b[l][r] / float64(K)
				} else {
					b[k*mo+r] = m.b[l][r]
				}
			}
		}
		out.w = append(out.w, w)
		out.b = append(out.b, b)
	}
	return out
}

// quantize converts net to int8, calibrated on the training windows
// clipped as in training.
func quantize(net *mlp, inputs []int8nn.Input, raw [][NumInputs]float32) (*int8nn.Model, error) {
	calib := make([][]float32, 0, len(raw))
	for _, f := range raw {
		v := make([]float32, NumInputs)
		for j := range v {
			z := max(-zClip, min(zClip, (float64(f[j])-float64(inputs[j].Mean))/float64(inputs[j].Std)))
			v[j] = float32(float64(inputs[j].Mean) + z*float64(inputs[j].Std))
		}
		calib = append(calib, v)
	}
	return int8nn.Quantize(ModelName, ModelVersion, inputs, net.layers(), calib)
}

// calibrate shifts the fault logits of net so that, in the healthy
// validation runs, every fault class's smoothed log-odds against normal
// (z_c − z_0, averaged as Smoother averages Score) peaks at 0: each class
// then alarms relative to its own healthy tail, and a class whose healthy
// driving never comes near it (an insulation collapse) is not held back by
// the class whose healthy tail is highest. It returns the shifts.
func calibrate(net *mlp, inputs []int8nn.Input, runs []Run) []float64 {
	K := len(Classes)
	peak := make([]float64, K)
	for c := range peak {
		peak[c] = math.Inf(-1)
	}
	acts := net.newActs()
	sms := make([]Smoother, K)
	for _, r := range runs {
		for c := range sms {
			sms[c].Reset()
		}
		for _, w := range r.Windows {
			z := net.forward(standardise(inputs, w.F[:]), acts)
			for c := 1; c < K; c++ {
				if w.Restart {
					sms[c].Reset()
				}
				peak[c] = max(peak[c], sms[c].Add(z[c]-z[0]))
			}
		}
	}
	last := len(net.b) - 1
	shift := make([]float64, K)
	for c := 1; c < K; c++ {
		if !math.IsInf(peak[c], 0) {
			shift[c] = -peak[c]
			net.b[last][c] += shift[c]
		}
	}
	return shift
}

// validationMax is the highest smoothed score of runs under m.
func validationMax(m *int8nn.Model, runs []Run) (float64, error) {
	hi := math.Inf(-1)
	for _, r := range runs {
		s, err := runScores(m, r)
		if err != nil {
			return 0, err
		}
		for _, v := range s {
			hi = max(hi, v)
		}
	}
	return hi, nil
}

// ThresholdMargin is how far above the highest smoothed score of the
// validation driving the threshold sits, in log-odds: the evaluation
// drives longer and other cars than validation does.
const ThresholdMargin = 1.0

// hidden1 and hidden2 are the network's hidden layer widths.
const hidden1, hidden2 = 48, 24

// normalRunH is the length of a healthy validation or evaluation run, h.
const normalRunH = 3.0

// runScores returns the smoothed scores of a run's windows under m.
func runScores(m *int8nn.Model, r Run) ([]float64, error) {
	rn := m.NewRunner()
	out := make([]float32, m.NumOutputs())
	var sm Smoother
	s := make([]float64, 0, len(r.Windows))
	for _, w := range r.Windows {
		if err := rn.Run(w.F[:], out); err != nil {
			return nil, err
		}
		if w.Restart {
			sm.Reset()
		}
		s = append(s, sm.Add(Score(out)))
	}
	return s, nil
}

func standardise(inputs []int8nn.Input, f []float32) []float64 {
	x := make([]float64, len(f))
	for j, v := range f {
		z := (float64(v) - float64(inputs[j].Mean)) / float64(inputs[j].Std)
		x[j] = max(-zClip, min(zClip, z))
	}
	return x
}

// Score is the fault score of a window's model outputs (logits): the
// log-odds of a fault against normal, log Σ_{c>0} exp(z_c) − z_0. Unlike
// 1 − P(normal) it does not saturate, so healthy and faulty windows stay
// apart at the top of the range.
func Score(logits []float32) float64 {
	m := math.Inf(-1)
	for _, v := range logits[1:] {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range logits[1:] {
		sum += math.Exp(float64(v) - m)
	}
	return m + math.Log(sum) - float64(logits[0])
}

// SmoothWindows is how many consecutive window scores the alarm averages:
// a fault persists, a healthy window that looks odd rarely does.
const SmoothWindows = 10

// Smoother averages the Score of the last SmoothWindows windows of a run;
// the alarm compares that mean with Threshold. One per vehicle, reset
// with its diag.LongFeatures. The zero value is ready.
type Smoother struct {
	last [SmoothWindows]float64
	n    int
}

// Reset forgets the run.
func (s *Smoother) Reset() { *s = Smoother{} }

// Add records a window's score and returns the mean over the last
// SmoothWindows windows (fewer at the start of a run).
func (s *Smoother) Add(score float64) float64 {
	s.last[s.n%SmoothWindows] = score
	s.n++
	k := min(s.n, SmoothWindows)
	var sum float64
	for i := range k {
		sum += s.last[i]
	}
	return sum / float64(k)
}

// Argmax returns the index of the largest value (the first of equals), 0
// for an empty slice: the predicted class of a model's outputs.
func Argmax[T cmp.Ordered](v []T) int {
	b := 0
	for i := range v {
		if v[i] > v[b] {
			b = i
		}
	}
	return b
}
