package int8nn

import (
	"fmt"
	"math"
)

// Runner runs a model on one input at a time with preallocated buffers:
// Run does not allocate. A Runner is not safe for concurrent use; make one
// per goroutine (they share the model, which they never modify).
type Runner struct {
	m     *Model
	inMul []float64 // 1/(std*inScale) per input
	mul   [][]float64
	acc   [][]int32 // last accumulators per layer, after the activation
	// span[l][c] is the range of row c of layer l's weights outside which
	// they are all 0 (a merged ensemble is block-diagonal): Run multiplies
	// only inside it, with the same result.
	span   [][][2]int32
	a, b   []int8 // ping-pong activations
	nOut   int
	finalL int
}

// NewRunner prepares a runner. The model must be valid (as returned by
// [Read] or accepted by [Model.Verify]); NewRunner panics on a model whose
// layers do not fit together.
func (m *Model) NewRunner() *Runner {
	r := &Runner{m: m, finalL: len(m.Layers) - 1, nOut: m.NumOutputs()}
	width := len(m.Inputs)
	r.inMul = make([]float64, len(m.Inputs))
	for i, in := range m.Inputs {
		r.inMul[i] = 1 / (float64(in.Std) * float64(m.InScale))
	}
	inScale := float64(m.InScale)
	r.mul = make([][]float64, len(m.Layers))
	r.acc = make([][]int32, len(m.Layers))
	r.span = make([][][2]int32, len(m.Layers))
	for li, l := range m.Layers {
		if len(l.W) != l.In*l.Out || len(l.WScale) != l.Out || len(l.Bias) != l.Out {
			panic(fmt.Sprintf("int8nn: layer %d is malformed", li))
		}
		width = max(width, l.Out)
		r.mul[li] = make([]float64, l.Out)
		r.acc[li] = make([]int32, l.Out)
		r.span[li] = make([][2]int32, l.Out)
		for c := range l.Out {
			row := l.W[c*l.In : (c+1)*l.In]
			lo, hi := 0, len(row)
			for lo < hi && row[lo] == 0 {
				lo++
			}
			for hi > lo && row[hi-1] == 0 {
				hi--
			}
			r.span[li][c] = [2]int32{int32(lo), int32(hi)}
			s := inScale * float64(l.WScale[c])
			if li != r.finalL {
				s /= float64(l.OutScale)
			}
			r.mul[li][c] = s
		}
		inScale = float64(l.OutScale)
	}
	r.a = make([]int8, width)
	r.b = make([]int8, width)
	return r
}

// sat rounds half away from zero and saturates to [-127, 127].
func sat(v float64) int8 {
	v = math.Round(v)
	if v > 127 {
		return 127
	}
	if v < -127 {
		return -127
	}
	return int8(v)
}

// quantInput standardises and quantises input i; shared by Run and
// RunFloatRef so both see the same int8 inputs.
func quantInput(x float32, mean float32, mul float64) int8 {
	return sat((float64(x) - float64(mean)) * mul)
}

// dot is the int8 x int8 -> int32 inner product; len(x) >= len(w).
func dot(w, x []int8) int32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(w); i += 4 {
		s0 += int32(w[i]) * int32(x[i])
		s1 += int32(w[i+1]) * int32(x[i+1])
		s2 += int32(w[i+2]) * int32(x[i+2])
		s3 += int32(w[i+3]) * int32(x[i+3])
	}
	for ; i < len(w); i++ {
		s0 += int32(w[i]) * int32(x[i])
	}
	return s0 + s1 + s2 + s3
}

// Run computes the model's outputs for the raw inputs in into out; len(in)
// must be the number of inputs and len(out) at least [Model.NumOutputs].
// It does not allocate, except to build an error.
func (r *Runner) Run(in, out []float32) error {
	m := r.m
	if len(in) != len(r.inMul) {
		return fmt.Errorf("run: %d inputs, the model has %d", len(in), len(r.inMul))
	}
	if len(out) < r.nOut {
		return fmt.Errorf("run: room for %d outputs, the model has %d", len(out), r.nOut)
	}
	x := r.a[:len(in)]
	for i, v := range in {
		if !finite(v) {
			return fmt.Errorf("run: input %d (%s) is %v", i, m.Inputs[i].Name, v)
		}
		x[i] = quantInput(v, m.Inputs[i].Mean, r.inMul[i])
	}
	next := r.b
	for li := range m.Layers {
		l := &m.Layers[li]
		acc, mul := r.acc[li][:l.Out], r.mul[li][:l.Out]
		bias, span := l.Bias[:l.Out], r.span[li][:l.Out]
		for c := range acc {
			lo, hi := int(span[c][0]), int(span[c][1])
			s := dot(l.W[c*l.In+lo:c*l.In+hi], x[lo:]) + bias[c]
			if l.Act == ActReLU && s < 0 {
				s = 0
			}
			acc[c] = s
		}
		if li == r.finalL {
			o := out[:len(acc)]
			for c, s := range acc {
				o[c] = float32(float64(s) * mul[c])
			}
			return nil
		}
		y := next[:len(acc)]
		for c, s := range acc {
			y[c] = sat(float64(s) * mul[c])
		}
		x, next = y, x[:cap(x)]
	}
	return nil
}

// RunFloatRef runs the model in float64 with the same quantisation points
// as the int8 runner (fake quantisation: inputs, weights, biases and hidden
// activations take their quantised values, everything else is float) and
// returns the float outputs. The trainer uses it to produce golden vectors.
// It allocates, and panics on a wrong number of inputs.
func (m *Model) RunFloatRef(in []float32) []float32 {
	if len(in) != len(m.Inputs) {
		panic(fmt.Sprintf("int8nn: RunFloatRef: %d inputs, the model has %d", len(in), len(m.Inputs)))
	}
	inScale := float64(m.InScale)
	x := make([]float64, len(in))
	for i, v := range in {
		mul := 1 / (float64(m.Inputs[i].Std) * inScale)
		x[i] = float64(quantInput(v, m.Inputs[i].Mean, mul)) * inScale
	}
	for li := range m.Layers {
		l := &m.Layers[li]
		x = denseRef(l, inScale, x, li == len(m.Layers)-1)
		inScale = float64(l.OutScale)
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// denseRef is one fake-quant layer: float64 arithmetic on the dequantised
// weights and bias, the activation, then (hidden layers) quantisation to
// the output scale.
func denseRef(l *DenseLayer, inScale float64, x []float64, final bool) []float64 {
	y := make([]float64, l.Out)
	for c := range l.Out {
		ws := float64(l.WScale[c])
		sum := float64(l.Bias[c]) * inScale * ws
		for i, xv := range x {
			sum += xv * (float64(l.W[c*l.In+i]) * ws)
		}
		if l.Act == ActReLU && sum < 0 {
			sum = 0
		}
		if !final {
			os := float64(l.OutScale)
			sum = float64(sat(sum/os)) * os
		}
		y[c] = sum
	}
	return y
}
