package asr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	int8nn "github.com/evedge/evedge/models/int8"
)

// Meta describes an acoustic model: its classes and front end, and the
// decoder settings tuned with it. It is stored as JSON beside the model.
type Meta struct {
	Version string   `json:"version"`
	Classes []string `json:"classes"`
	Context int      `json:"context"`
	// Offsets are the frames stacked into the model's input, relative to
	// the current one; absent: DefaultOffsets (-Context..Context).
	Offsets     []int     `json:"offsets,omitempty"`
	Bands       int       `json:"bands"`
	LogPrior    []float32 `json:"log_prior"`    // log class frequency in training
	PriorWeight float32   `json:"prior_weight"` // emission = log posterior - PriorWeight*LogPrior
	WordPenalty float32   `json:"word_penalty"`
	// Threshold: a decoding whose Confidence is below it is rejected.
	Threshold float64 `json:"threshold"`
	// WakeThreshold: a wake graph's decoding whose WakeConfidence is below
	// it is rejected; absent (0): Threshold.
	WakeThreshold float64   `json:"wake_threshold,omitempty"`
	Durations     Durations `json:"durations"`
	Trained       string    `json:"trained,omitempty"` // how: command and data
}

// Model is an acoustic model and its Meta.
type Model struct {
	AM   *int8nn.Model
	Meta Meta
}

// MaxModelSize is the largest acoustic model file read (the head unit's
// budget is 2 MB).
const MaxModelSize = 2_000_000

// ParseModel reads a model from its int8nn file and its JSON meta, and
// checks that they fit the front end and each other.
func ParseModel(am, meta []byte) (*Model, error) {
	m, err := int8nn.Read(bytes.NewReader(am), int8nn.WithMaxSize(MaxModelSize))
	if err != nil {
		return nil, fmt.Errorf("asr: acoustic model: %w", err)
	}
	var md Meta
	if err := json.Unmarshal(meta, &md); err != nil {
		return nil, fmt.Errorf("asr: model meta: %w", err)
	}
	switch {
	case len(md.Classes) != NumClasses:
		return nil, fmt.Errorf("asr: model meta: %d classes, this build has %d", len(md.Classes), NumClasses)
	case len(md.Offsets) == 0 && md.Context != Context:
		return nil, fmt.Errorf("asr: model meta: context %d without offsets, this build has %d", md.Context, Context)
	case md.Bands != Bands:
		return nil, fmt.Errorf("asr: model meta: %d bands, this build has %d", md.Bands, Bands)
	case len(md.LogPrior) != NumClasses:
		return nil, fmt.Errorf("asr: model meta: %d priors, want %d", len(md.LogPrior), NumClasses)
	}
	if len(md.Offsets) == 0 {
		md.Offsets = slices.Clone(DefaultOffsets)
	} else if err := CheckOffsets(md.Offsets); err != nil {
		return nil, fmt.Errorf("asr: model meta: %w", err)
	}
	if in := len(md.Offsets) * Bands; len(m.Inputs) != in || m.NumOutputs() != NumClasses {
		return nil, fmt.Errorf("asr: acoustic model: %d inputs %d outputs, its meta's %d frame offsets want %d and %d", len(m.Inputs), m.NumOutputs(), len(md.Offsets), in, NumClasses)
	}
	for i, c := range md.Classes {
		if c != Classes[i] {
			return nil, fmt.Errorf("asr: model meta: class %d is %q, this build has %q", i, c, Classes[i])
		}
	}
	if md.Durations == (Durations{}) {
		md.Durations = DefaultDurations
	}
	return &Model{AM: m, Meta: md}, nil
}

// Emitter turns stacked frames into emission scores with the model.
type Emitter struct {
	m   *Model
	run *int8nn.Runner
	in  []float32
	out []float32
}

// NewEmitter prepares a runner for m.
func NewEmitter(m *Model) *Emitter {
	return &Emitter{m: m, run: m.AM.NewRunner(), in: make([]float32, len(m.AM.Inputs)), out: make([]float32, NumClasses)}
}

// Emit writes the emission log-likelihoods of frame i (log posterior minus
// weighted log prior) into em (len NumClasses).
func (e *Emitter) Emit(em, frames []float32, t, i int) {
	StackAt(e.in, frames, t, i, e.m.Meta.Offsets)
	if err := e.run.Run(e.in, e.out); err != nil {
		panic(err) // the input width is fixed by construction
	}
	LogSoftmax(em, e.out)
	w := e.m.Meta.PriorWeight
	for c := range em {
		em[c] -= w * e.m.Meta.LogPrior[c]
	}
}

// LogSoftmax writes log softmax(x) into dst.
func LogSoftmax(dst, x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v - m))
	}
	l := m + float32(math.Log(s))
	for i, v := range x {
		dst[i] = v - l
	}
}
