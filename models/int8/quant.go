package int8nn

import (
	"fmt"
	"math"
)

// QuantizeDense quantises a float layer, w[c][i] for output channel c and
// input i, with per-output-channel symmetric scales (max|w[c]|/127; an
// all-zero row gets scale 1) and the bias to int32 at scale
// inScale*wScale[c]. The caller sets Act and OutScale.
func QuantizeDense(w [][]float32, b []float32, inScale float32) (DenseLayer, error) {
	if len(w) < 1 || len(w) > MaxWidth || len(w[0]) < 1 || len(w[0]) > MaxWidth {
		return DenseLayer{}, fmt.Errorf("quantize dense: %d outputs, want 1..%d of 1..%d inputs", len(w), MaxWidth, MaxWidth)
	}
	if len(b) != len(w) {
		return DenseLayer{}, fmt.Errorf("quantize dense: %d biases for %d outputs", len(b), len(w))
	}
	if err := checkScale("quantize dense: input scale", inScale); err != nil {
		return DenseLayer{}, err
	}
	in := len(w[0])
	l := DenseLayer{In: in, Out: len(w), W: make([]int8, in*len(w)),
		WScale: make([]float32, len(w)), Bias: make([]int32, len(w))}
	for c, row := range w {
		if len(row) != in {
			return DenseLayer{}, fmt.Errorf("quantize dense: row %d has %d weights, row 0 has %d", c, len(row), in)
		}
		var maxAbs float64
		for _, v := range row {
			if !finite(v) {
				return DenseLayer{}, fmt.Errorf("quantize dense: row %d: weight %v", c, v)
			}
			maxAbs = max(maxAbs, math.Abs(float64(v)))
		}
		s := float32(maxAbs / 127)
		if s == 0 || !finite(s) {
			s = 1
		}
		l.WScale[c] = s
		for i, v := range row {
			l.W[c*in+i] = sat(float64(v) / float64(s))
		}
		q := math.Round(float64(b[c]) / (float64(inScale) * float64(s)))
		if !(math.Abs(q) <= math.MaxInt32/2) {
			return DenseLayer{}, fmt.Errorf("quantize dense: bias %d (%v) does not fit int32 at scale %g", c, b[c], float64(inScale)*float64(s))
		}
		l.Bias[c] = int32(q)
	}
	return l, nil
}

// FloatDense is a trained float layer, out = W*in + B then Act.
type FloatDense struct {
	W   [][]float32 // W[c][i], one row per output
	B   []float32
	Act Activation
}

// Quantize builds a model from float layers. The input scale and every
// hidden layer's output scale are calibrated as max|value|/127 over the
// calibration inputs (raw, unstandardised), each layer seeing the
// fake-quantised outputs of the one before. The model has no golden vectors
// yet: call [Model.SetGolden].
func Quantize(name, version string, inputs []Input, layers []FloatDense, calib [][]float32) (*Model, error) {
	if len(calib) == 0 {
		return nil, fmt.Errorf("quantize %s: no calibration inputs", name)
	}
	m := &Model{Name: name, Version: version, Inputs: inputs}
	var maxAbs float64
	xs := make([][]float64, len(calib))
	for k, v := range calib {
		if len(v) != len(inputs) {
			return nil, fmt.Errorf("quantize %s: calibration vector %d has %d inputs, want %d", name, k, len(v), len(inputs))
		}
		xs[k] = make([]float64, len(v))
		for i, x := range v {
			z := (float64(x) - float64(inputs[i].Mean)) / float64(inputs[i].Std)
			xs[k][i] = z
			maxAbs = max(maxAbs, math.Abs(z))
		}
	}
	m.InScale = calibScale(maxAbs)
	for _, x := range xs {
		for i, z := range x {
			x[i] = float64(sat(z/float64(m.InScale))) * float64(m.InScale)
		}
	}
	inScale := m.InScale
	for li, fl := range layers {
		l, err := QuantizeDense(fl.W, fl.B, inScale)
		if err != nil {
			return nil, fmt.Errorf("quantize %s: layer %d: %w", name, li, err)
		}
		l.Act = fl.Act
		final := li == len(layers)-1
		if !final {
			maxAbs = 0
			for k, x := range xs {
				// final=true: the float output, before the output
				// scale it calibrates exists.
				xs[k] = denseRef(&l, float64(inScale), x, true)
				for _, y := range xs[k] {
					maxAbs = max(maxAbs, math.Abs(y))
				}
			}
			l.OutScale = calibScale(maxAbs)
			for _, x := range xs {
				for i, y := range x {
					x[i] = float64(sat(y/float64(l.OutScale))) * float64(l.OutScale)
				}
			}
			inScale = l.OutScale
		}
		m.Layers = append(m.Layers, l)
	}
	return m, nil
}

func calibScale(maxAbs float64) float32 {
	s := float32(maxAbs / 127)
	if s == 0 || !finite(s) {
		return 1
	}
	return s
}

// SetGolden stores the inputs with their outputs from [Model.RunFloatRef]
// as the golden vectors, and the tolerance.
func (m *Model) SetGolden(inputs [][]float32, absTol, relTol float32) error {
	if err := m.validateLayers(); err != nil {
		return fmt.Errorf("set golden: %w", err)
	}
	m.Golden = m.Golden[:0]
	for k, in := range inputs {
		if len(in) != len(m.Inputs) {
			return fmt.Errorf("set golden: vector %d has %d inputs, want %d", k, len(in), len(m.Inputs))
		}
		m.Golden = append(m.Golden, Golden{In: append([]float32(nil), in...), Out: m.RunFloatRef(in)})
	}
	m.AbsTol, m.RelTol = absTol, relTol
	return nil
}
