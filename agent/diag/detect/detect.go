// Package detect runs the int8 fault model on one vehicle's live values:
// it samples the model inputs (diag.ModelInputPaths) once a second of data
// time, scores each window, raises a detection when the smoothed score
// reaches the model's threshold and clears it when the score stays below.
// Describe turns a detection into a diagnosis event with the knowledge
// base's text.
package detect

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/train"
	int8nn "github.com/evedge/evedge/models/int8"
)

// Options tune a Detector. Zero fields take the defaults.
type Options struct {
	// Threshold on the smoothed score (default train.Threshold, set for the
	// committed model on held-out healthy driving).
	Threshold float64
	// Gap: a pause in the data longer than this starts a new run (default
	// 5 min): the long-horizon features and the smoothing start over,
	// except the cell gaps at the same SOC, which are compared across the
	// pause (diag.Stream.Continue) unless it exceeds diag.MaxSleepMemory.
	Gap time.Duration
	// ClearWindows is how many windows in a row must score below the
	// threshold before an active detection clears (default 5).
	ClearWindows int
	// Trace, when set, is called after every scored window (for
	// `evedge diagnose --trace`: why a log did or did not raise). The
	// slices are the Detector's own; copy what is kept.
	Trace func(w Scored)
}

// Scored is one scored window, as passed to Options.Trace.
type Scored struct {
	Time time.Time
	// Score is the window's log-odds of a fault against normal; Smoothed
	// the mean over the last train.SmoothWindows windows, which the
	// detector compares with Threshold.
	Score, Smoothed, Threshold float64
	// Class is the most likely fault class of the window.
	Class int
	// Inputs are the model inputs (diag.InputNames order); Logits the
	// model's calibrated outputs (train.Classes order).
	Inputs, Logits []float32
	// Present counts the signals present in the window; NewRun is set on
	// the first window of a run.
	Present int
	NewRun  bool
}

// Detector is the fault model on one vehicle. Not safe for concurrent use.
type Detector struct {
	opts   Options
	model  *int8nn.Model
	runner *int8nn.Runner
	stream diag.Stream
	sm     train.Smoother
	in     [diag.NumInputs]float32
	out    []float32
	last   time.Time
	x      diag.Sample
	// vss keeps the last window of samples as read (VSS conventions), for
	// the evidence; the model's samples differ in the current's sign.
	vss  []diag.Sample
	nvss int

	active      bool
	activeClass int
	below       int
	windows     int
}

// New checks that m is a fault model for the current inputs and classes
// and returns a Detector running it.
func New(m *int8nn.Model, opts Options) (*Detector, error) {
	if m == nil {
		return nil, errors.New("detect: no model")
	}
	names := diag.InputNames()
	if len(m.Inputs) != len(names) {
		return nil, fmt.Errorf("detect: model %s has %d inputs, the agent computes %d (%s ...): retrain it with this version", m.Name, len(m.Inputs), len(names), names[0])
	}
	for i, in := range m.Inputs {
		if in.Name != names[i] {
			return nil, fmt.Errorf("detect: model %s input %d is %q, the agent computes %q: retrain it with this version", m.Name, i, in.Name, names[i])
		}
	}
	if m.NumOutputs() != len(train.Classes) {
		return nil, fmt.Errorf("detect: model %s has %d outputs, want %d classes", m.Name, m.NumOutputs(), len(train.Classes))
	}
	if opts.Threshold == 0 {
		opts.Threshold = train.Threshold
	}
	if opts.Gap <= 0 {
		opts.Gap = diag.RunGap
	}
	if opts.ClearWindows <= 0 {
		opts.ClearWindows = 5
	}
	return &Detector{opts: opts, model: m, runner: m.NewRunner(), out: make([]float32, m.NumOutputs())}, nil
}

// Missing returns the model inputs that mapped reports absent: a vehicle
// whose signal map lacks any of them does not get model-based detection
// (the model was not trained with inputs left out, and a never-mapped
// input would look like a sensor dropout).
func Missing(mapped func(path string) bool) []string {
	var out []string
	for _, p := range diag.ModelInputPaths {
		if !mapped(p) {
			out = append(out, p)
		}
	}
	return out
}

// Change is a detection starting (Raised) or ending.
type Change struct {
	Time   time.Time
	Raised bool
	// Class indexes train.Classes; Fault is its name (a knowledge-base id).
	Class int
	Fault string
	// Score is the smoothed score (log-odds of a fault against normal,
	// averaged over train.SmoothWindows windows); Threshold the alarm's.
	Score, Threshold float64
	// Confidence is the model's probability of Class for the last window.
	Confidence float64
	// Inputs counts the model inputs present in the window.
	Inputs int
	// Evidence summarises each model input over the last window.
	Evidence map[string]Stat
	// Features are the model inputs furthest from their training mean, in
	// standard deviations, largest first (at most 6).
	Features []Feature
	// Window is the last window's samples, oldest first, ending at Time.
	Window []diag.Sample
}

// Stat summarises one signal over a window; Last is the newest value.
// Missing values are left out; N counts the values present.
type Stat struct {
	Last float64 `json:"last"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	N    int     `json:"n"`
}

// Feature is a model input with its value and distance from the training
// mean.
type Feature struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Z     float64 `json:"z"`
}

// AppendMemory appends what the detector remembers across a sleep (the
// cells' rest gaps per SOC, diag.Stream.AppendMemory) and the time of its
// last sample to b; nil when it has had no sample yet. An agent that
// powers down with the car saves it and gives it to Restore when it
// starts again.
func (d *Detector) AppendMemory(b []byte) []byte {
	if d.last.IsZero() {
		return nil
	}
	return d.stream.AppendMemory(b, d.last)
}

// Restore starts the detector over with a memory from AppendMemory: the
// next sample starts a new run after the sleep since the memory's last
// sample (or, if that is later than the sample, forgets it). A bad
// record is refused with the reason and the detector starts afresh.
func (d *Detector) Restore(b []byte) error {
	d.Reset()
	d.last = time.Time{}
	last, err := d.stream.RestoreMemory(b)
	if err != nil {
		return err
	}
	d.last = last
	return nil
}

// SetTrace sets Options.Trace.
func (d *Detector) SetTrace(f func(w Scored)) { d.opts.Trace = f }

// Active reports the active detection's class (0 when none).
func (d *Detector) Active() (int, bool) { return d.activeClass, d.active }

// Reset starts a new run, forgets the runs before it and an active
// detection.
func (d *Detector) Reset() {
	d.stream.Reset()
	d.resetRun()
}

// continueAfter starts a new run after the vehicle slept for sleep: what the
// stream keeps across a sleep stays (diag.Stream.Continue).
func (d *Detector) continueAfter(sleep time.Duration) {
	d.stream.Continue(sleep)
	d.resetRun()
}

func (d *Detector) resetRun() {
	d.sm.Reset()
	d.nvss = 0
	d.active, d.activeClass, d.below, d.windows = false, 0, 0, 0
}

// Step samples the model inputs through read at now (call it once a second
// of data time, in order) and returns the change a completed window
// brings, or nil. A second with no input present is skipped: it is not a
// sample, and data resuming after more than Gap starts a new run. It does
// not allocate unless it returns a change.
func (d *Detector) Step(now time.Time, read diag.Read) (*Change, error) {
	present := 0
	for i, p := range diag.ModelInputPaths {
		if v, ok := read(p); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			d.x[i] = v
			present++
		} else {
			d.x[i] = math.NaN()
		}
	}
	if present == 0 {
		// No input at all: the car is asleep or its bus silent. Not a
		// sample (it would read as every sensor lost); a silence longer
		// than Gap starts a new run when data comes back.
		return nil, nil
	}
	switch {
	case d.last.IsZero():
	case now.Before(d.last):
		d.Reset() // time went back: another log or a clock set
	case now.Sub(d.last) > d.opts.Gap:
		d.continueAfter(now.Sub(d.last))
	}
	d.last = now
	if d.vss == nil {
		d.vss = make([]diag.Sample, int(diag.WindowLength/time.Second))
	}
	d.vss[d.nvss%len(d.vss)] = d.x
	d.nvss++
	// VSS counts battery current positive into the battery (charging); the
	// model's samples, like the BMS frames it was trained on, count it
	// positive out of the battery.
	d.x[diag.InPackI] = -d.x[diag.InPackI]
	done, np := d.stream.Push(d.x, d.in[:])
	if !done {
		return nil, nil
	}
	d.windows++
	if err := d.runner.Run(d.in[:], d.out); err != nil {
		return nil, err
	}
	raw := train.Score(d.out)
	score := d.sm.Add(raw)
	cls := 1 + train.Argmax(d.out[1:])
	if d.opts.Trace != nil {
		d.opts.Trace(Scored{Time: now, Score: raw, Smoothed: score, Threshold: d.opts.Threshold, Class: cls, Inputs: d.in[:], Logits: d.out, Present: np, NewRun: d.windows == 1})
	}
	switch {
	case !d.active && score >= d.opts.Threshold:
		d.active, d.activeClass, d.below = true, cls, 0
		return d.change(now, true, cls, score, np), nil
	case d.active && score < d.opts.Threshold:
		d.below++
		if d.below >= d.opts.ClearWindows {
			c := d.change(now, false, d.activeClass, score, np)
			d.active, d.activeClass, d.below = false, 0, 0
			return c, nil
		}
	case d.active:
		d.below = 0
	}
	return nil, nil
}

// softmax returns the probability of class c under the logits.
func softmax(logits []float32, c int) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - m)
	}
	return math.Exp(float64(logits[c])-m) / sum
}

func (d *Detector) change(now time.Time, raised bool, cls int, score float64, np int) *Change {
	c := &Change{Time: now, Raised: raised, Class: cls, Fault: train.Classes[cls], Score: score,
		Threshold: d.opts.Threshold, Confidence: softmax(d.out, cls), Inputs: np,
		Window: make([]diag.Sample, 0, len(d.vss))}
	for i := range len(d.vss) { // oldest first
		c.Window = append(c.Window, d.vss[(d.nvss+i)%len(d.vss)])
	}
	c.Evidence = make(map[string]Stat, diag.NumModelInputs)
	for i, p := range diag.ModelInputPaths {
		if s, ok := stat(c.Window, i); ok {
			c.Evidence[p] = s
		}
	}
	feats := make([]Feature, 0, len(d.model.Inputs))
	for i, in := range d.model.Inputs {
		z := (float64(d.in[i]) - float64(in.Mean)) / float64(in.Std)
		feats = append(feats, Feature{Name: in.Name, Value: round(float64(d.in[i]), 4), Z: round(z, 2)})
	}
	sort.SliceStable(feats, func(a, b int) bool { return math.Abs(feats[a].Z) > math.Abs(feats[b].Z) })
	c.Features = feats[:min(6, len(feats))]
	return c
}

func stat(w []diag.Sample, k int) (Stat, bool) {
	s := Stat{Min: math.Inf(1), Max: math.Inf(-1)}
	var sum float64
	for i := range w {
		v := w[i][k]
		if math.IsNaN(v) {
			continue
		}
		s.N++
		sum += v
		s.Last = v
		s.Min, s.Max = math.Min(s.Min, v), math.Max(s.Max, v)
	}
	if s.N == 0 {
		return Stat{}, false
	}
	s.Mean = round(sum/float64(s.N), 4)
	s.Last, s.Min, s.Max = round(s.Last, 4), round(s.Min, 4), round(s.Max, 4)
	return s, true
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// ClassName returns the name of model class c, "" when out of range.
func ClassName(c int) string {
	if c < 0 || c >= len(train.Classes) {
		return ""
	}
	return train.Classes[c]
}
