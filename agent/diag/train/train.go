package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/evedge/evedge/agent/signals"
	int8nn "github.com/evedge/evedge/models/int8"
)

// Seed ranges: training and evaluation scenarios never share a seed.
const (
	trainSeedBase = 1_000_000
	evalSeedBase  = 9_000_000
)

// ModelName and ModelVersion are written into the model file.
const (
	ModelName    = "evedge-fault"
	ModelVersion = "1"
)

// Threshold is the alarm threshold on the smoothed Score (Smoother) for
// the committed model (models/fault/fault.evnn): the highest smoothed
// score seen on the held-out normal driving of `evedge eval fault` (no
// false alarm there), just above it. Retraining changes it; eval prints
// the new one.
const Threshold = 25.019916439116745

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

	// Training.
	HealthyRuns  int // healthy training scenarios (default 120)
	RunsPerFault int // training scenarios per fault kind (default 30)
	Epochs       int // default 120

	// Evaluation.
	NormalHours      float64 // held-out healthy driving for the threshold (default 300)
	EvalRunsPerFault int     // held-out scenarios per fault kind (default 12)
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
	def(&o.Workers, runtime.GOMAXPROCS(0))
	def(&o.HealthyRuns, 120)
	def(&o.RunsPerFault, 30)
	def(&o.Epochs, 120)
	def(&o.EvalRunsPerFault, 12)
	if o.NormalHours <= 0 {
		o.NormalHours = 300
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
	SimTime       time.Duration
	FitTime       time.Duration
}

// scenarios lists healthy then faulty scenarios with seeds from base.
func scenarios(db *signals.Database, base uint64, healthy, perFault int, minH, maxH float64) []Scenario {
	var out []Scenario
	seed := base
	for range healthy {
		out = append(out, newScenario(db, seed, "", minH, maxH))
		seed++
	}
	for _, k := range faultKinds {
		for range perFault {
			out = append(out, newScenario(db, seed, k, minH, maxH))
			seed++
		}
	}
	return out
}

// simulateAll runs the scenarios on workers goroutines; results are in
// scenario order whatever the scheduling.
func simulateAll(scs []Scenario, db *signals.Database, workers int) ([]Run, error) {
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
		next <- i
	}
	close(next)
	wg.Wait()
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
	scs := scenarios(opts.DBC, trainSeedBase, opts.HealthyRuns, opts.RunsPerFault, 1, 2)
	runs, err := simulateAll(scs, opts.DBC, opts.Workers)
	if err != nil {
		return nil, rep, err
	}
	rep.SimTime = time.Since(t0)
	rep.Runs = len(runs)
	var raw [][NumInputs]float32
	var ys []int
	rep.PerClass = make([]int, len(Classes))
	for i, r := range runs {
		rep.SimHours += r.Duration.Hours()
		for _, w := range r.Windows {
			if scs[i].Fault != nil && w.Class == 0 {
				continue // faulty run before LabelLevel: left out
			}
			raw = append(raw, w.F)
			ys = append(ys, w.Class)
			rep.PerClass[w.Class]++
		}
	}
	rep.Windows = len(raw)
	for c, n := range rep.PerClass {
		if n == 0 {
			return nil, rep, fmt.Errorf("train: no training windows of class %s", Classes[c])
		}
	}

	// Standardisation from the training windows.
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
	for c, n := range rep.PerClass {
		cw[c] = float64(len(raw)) / float64(len(Classes)*n)
	}
	// False alarms cost more than a late detection: normal weighs more.
	cw[0] *= normalWeight
	t1 := time.Now()
	rng := rand.New(rand.NewPCG(42, 7))
	net := newMLP(rng, NumInputs, 32, 16, len(Classes))
	rep.Loss = net.fit(rng, xs, ys, cw, opts.Epochs, 64, 3e-3)
	rep.FitTime = time.Since(t1)
	acts := net.newActs()
	var ok int
	for k, x := range xs {
		if argmax(net.forward(x, acts)) == ys[k] {
			ok++
		}
	}
	rep.TrainAccuracy = float64(ok) / float64(len(xs))

	// Calibrate on the training windows, clipped as in training.
	calib := make([][]float32, 0, len(raw)+2)
	for _, f := range raw {
		v := make([]float32, NumInputs)
		for j := range v {
			z := max(-zClip, min(zClip, (float64(f[j])-float64(inputs[j].Mean))/float64(inputs[j].Std)))
			v[j] = float32(float64(inputs[j].Mean) + z*float64(inputs[j].Std))
		}
		calib = append(calib, v)
	}
	m, err := int8nn.Quantize(ModelName, ModelVersion, inputs, net.layers(), calib)
	if err != nil {
		return nil, rep, err
	}
	// Golden vectors: 16 windows of held-out scenarios, two per kind.
	gs := scenarios(opts.DBC, evalSeedBase-1000, 0, 1, 1, 1)
	gruns, err := simulateAll(gs, opts.DBC, opts.Workers)
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
	return m, rep, nil
}

func standardise(inputs []int8nn.Input, f []float32) []float64 {
	x := make([]float64, len(f))
	for j, v := range f {
		z := (float64(v) - float64(inputs[j].Mean)) / float64(inputs[j].Std)
		x[j] = max(-zClip, min(zClip, z))
	}
	return x
}

func argmax(v []float64) int {
	b := 0
	for i := range v {
		if v[i] > v[b] {
			b = i
		}
	}
	return b
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
const SmoothWindows = 5

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
