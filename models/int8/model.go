package int8nn

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Limits of the format, checked by [Read] and [Write].
const (
	Version        = 1       // format version written and read
	MaxInputs      = 4096    // inputs of a model
	MaxLayers      = 32      // layers of a model
	MaxWidth       = 65535   // outputs of a layer
	MaxWeights     = 1 << 20 // weights of all layers together
	MaxGolden      = 1024    // golden vectors
	MaxString      = 255     // bytes of a name or version string
	DefaultMaxSize = 256 << 10
)

// Sentinel errors; the errors returned wrap them with the detail.
var (
	ErrFormat   = errors.New("not a valid EVNN model")
	ErrVersion  = errors.New("unknown format version")
	ErrTooLarge = errors.New("file too large")
	ErrTrunc    = errors.New("truncated: the file is incomplete")
	ErrChecksum = errors.New("checksum mismatch: the file is corrupt")
	ErrGolden   = errors.New("golden vector mismatch: the model does not reproduce its reference")
)

// Activation is applied to a layer's int32 accumulators.
type Activation uint8

const (
	ActNone Activation = 0
	ActReLU Activation = 1
)

func (a Activation) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActReLU:
		return "relu"
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// Input is one input feature and its standardisation.
type Input struct {
	Name string  // VSS path or feature name
	Mean float32 // subtracted before scaling
	Std  float32 // divided by after subtracting the mean; > 0
}

// DenseLayer is an int8 fully connected layer, out = W*in + Bias.
type DenseLayer struct {
	In, Out  int
	W        []int8    // Out*In, row-major: W[c*In+i]
	WScale   []float32 // per output channel
	Bias     []int32   // scale inScale*WScale[c]
	Act      Activation
	OutScale float32 // next layer's input scale; 0 on the final layer
}

// Golden is a reference input and the outputs the model must reproduce.
type Golden struct {
	In  []float32 // raw inputs, len = number of inputs
	Out []float32 // expected outputs of the final layer
}

// Model is a quantised network with its golden vectors.
type Model struct {
	Name    string
	Version string
	Inputs  []Input
	InScale float32 // input quantisation scale
	Layers  []DenseLayer
	Golden  []Golden
	AbsTol  float32 // a golden output passes when |got-want| <= AbsTol + RelTol*|want|
	RelTol  float32
}

// NumOutputs is the width of the final layer.
func (m *Model) NumOutputs() int {
	if len(m.Layers) == 0 {
		return 0
	}
	return m.Layers[len(m.Layers)-1].Out
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

func checkString(what, s string, empty bool) error {
	if len(s) > MaxString {
		return fmt.Errorf("%s: %d bytes, the limit is %d", what, len(s), MaxString)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: not valid UTF-8", what)
	}
	if !empty && s == "" {
		return fmt.Errorf("%s: empty", what)
	}
	return nil
}

func checkScale(what string, f float32) error {
	if !finite(f) || f <= 0 {
		return fmt.Errorf("%s: %v, want a finite scale > 0", what, f)
	}
	return nil
}

// validate checks the structure (everything but the golden outputs).
// Errors wrap ErrFormat.
func (m *Model) validate() error {
	if err := m.validateStruct(); err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return nil
}

// validateLayers checks everything but the golden vectors.
func (m *Model) validateLayers() error {
	if err := checkString("name", m.Name, false); err != nil {
		return err
	}
	if err := checkString("version", m.Version, true); err != nil {
		return err
	}
	if len(m.Inputs) < 1 || len(m.Inputs) > MaxInputs {
		return fmt.Errorf("%d inputs, want 1..%d", len(m.Inputs), MaxInputs)
	}
	for i, in := range m.Inputs {
		if err := checkString(fmt.Sprintf("input %d name", i), in.Name, false); err != nil {
			return err
		}
		if !finite(in.Mean) {
			return fmt.Errorf("input %d (%s): mean %v is not finite", i, in.Name, in.Mean)
		}
		if err := checkScale(fmt.Sprintf("input %d (%s): std", i, in.Name), in.Std); err != nil {
			return err
		}
	}
	if err := checkScale("input scale", m.InScale); err != nil {
		return err
	}
	if len(m.Layers) < 1 || len(m.Layers) > MaxLayers {
		return fmt.Errorf("%d layers, want 1..%d", len(m.Layers), MaxLayers)
	}
	prev, weights := len(m.Inputs), 0
	for li := range m.Layers {
		l := &m.Layers[li]
		final := li == len(m.Layers)-1
		if l.In != prev {
			if li == 0 {
				return fmt.Errorf("layer 0: %d inputs, the model has %d", l.In, prev)
			}
			return fmt.Errorf("layer %d: %d inputs, layer %d has %d outputs", li, l.In, li-1, prev)
		}
		if l.Out < 1 || l.Out > MaxWidth {
			return fmt.Errorf("layer %d: %d outputs, want 1..%d", li, l.Out, MaxWidth)
		}
		weights += l.In * l.Out
		if weights > MaxWeights {
			return fmt.Errorf("layer %d: more than %d weights in the model", li, MaxWeights)
		}
		if len(l.W) != l.In*l.Out || len(l.WScale) != l.Out || len(l.Bias) != l.Out {
			return fmt.Errorf("layer %d: %d weights, %d scales, %d biases for %dx%d",
				li, len(l.W), len(l.WScale), len(l.Bias), l.Out, l.In)
		}
		if l.Act != ActNone && l.Act != ActReLU {
			return fmt.Errorf("layer %d: unknown activation %d", li, uint8(l.Act))
		}
		if final {
			if l.OutScale != 0 {
				return fmt.Errorf("layer %d: final layer has output scale %v, want 0 (float output)", li, l.OutScale)
			}
		} else if err := checkScale(fmt.Sprintf("layer %d: output scale", li), l.OutScale); err != nil {
			return err
		}
		for c := 0; c < l.Out; c++ {
			if err := checkScale(fmt.Sprintf("layer %d: channel %d weight scale", li, c), l.WScale[c]); err != nil {
				return err
			}
			bound := int64(l.Bias[c])
			if bound < 0 {
				bound = -bound
			}
			for _, w := range l.W[c*l.In : (c+1)*l.In] {
				if w == -128 {
					return fmt.Errorf("layer %d: channel %d has weight -128, want -127..127", li, c)
				}
				if w < 0 {
					bound += int64(-w) * 127
				} else {
					bound += int64(w) * 127
				}
			}
			if bound > math.MaxInt32 {
				return fmt.Errorf("layer %d: channel %d can overflow the int32 accumulator", li, c)
			}
		}
		prev = l.Out
	}
	return nil
}

func (m *Model) validateStruct() error {
	if err := m.validateLayers(); err != nil {
		return err
	}
	prev := m.NumOutputs()
	if len(m.Golden) < 1 || len(m.Golden) > MaxGolden {
		return fmt.Errorf("%d golden vectors, want 1..%d", len(m.Golden), MaxGolden)
	}
	if !finite(m.AbsTol) || m.AbsTol < 0 || !finite(m.RelTol) || m.RelTol < 0 {
		return fmt.Errorf("tolerance abs %v rel %v, want finite and >= 0", m.AbsTol, m.RelTol)
	}
	for gi, g := range m.Golden {
		if len(g.In) != len(m.Inputs) || len(g.Out) != prev {
			return fmt.Errorf("golden vector %d: %d inputs and %d outputs, want %d and %d",
				gi, len(g.In), len(g.Out), len(m.Inputs), prev)
		}
		for _, v := range g.In {
			if !finite(v) {
				return fmt.Errorf("golden vector %d: input %v is not finite", gi, v)
			}
		}
		for _, v := range g.Out {
			if !finite(v) {
				return fmt.Errorf("golden vector %d: output %v is not finite", gi, v)
			}
		}
	}
	return nil
}

// Verify runs the golden vectors through the int8 runner and checks each
// output within the model's tolerance. Errors wrap ErrGolden (or ErrFormat
// when the model is not well formed).
func (m *Model) Verify() error {
	if err := m.validate(); err != nil {
		return err
	}
	r := m.NewRunner()
	out := make([]float32, m.NumOutputs())
	for gi, g := range m.Golden {
		if err := r.Run(g.In, out); err != nil {
			return fmt.Errorf("%w: golden vector %d: %w", ErrGolden, gi, err)
		}
		for c, want := range g.Out {
			got := out[c]
			tol := float64(m.AbsTol) + float64(m.RelTol)*math.Abs(float64(want))
			if d := math.Abs(float64(got) - float64(want)); !(d <= tol) {
				return fmt.Errorf("%w: golden vector %d output %d: got %v, want %v (tolerance %.3g)",
					ErrGolden, gi, c, got, want, tol)
			}
		}
	}
	return nil
}
