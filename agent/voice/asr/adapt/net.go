package adapt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	int8nn "github.com/evedge/evedge/models/int8"
)

// layer is a dense float layer, W row-major [out][in].
type layer struct {
	in, out int
	w, b    []float32
	relu    bool
	// Adam moments
	mw, vw, mb, vb []float32
}

// NewNet makes a network of in inputs, two ReLU layers of hidden units
// and out logits, with He-initialised weights.
func NewNet(rng *rand.Rand, in, hidden, out int) *Net {
	return &Net{layers: []*layer{
		newLayer(rng, in, hidden, true),
		newLayer(rng, hidden, hidden, true),
		newLayer(rng, hidden, out, false),
	}}
}

func newLayer(rng *rand.Rand, in, out int, relu bool) *layer {
	l := &layer{in: in, out: out, relu: relu, w: make([]float32, in*out), b: make([]float32, out),
		mw: make([]float32, in*out), vw: make([]float32, in*out), mb: make([]float32, out), vb: make([]float32, out)}
	s := math.Sqrt(2 / float64(in))
	for i := range l.w {
		l.w[i] = float32(rng.NormFloat64() * s)
	}
	return l
}

func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// Net is a float network of dense layers (ReLU on the hidden ones) and
// its Adam state: the acoustic model while it trains.
type Net struct{ layers []*layer }

// Worker holds one goroutine's activations and gradients, and the loss
// and right answers of the samples it has run since they were last reset.
type Worker struct {
	acts   [][]float32 // per layer input, then output of the last
	dacts  [][]float32
	gw, gb [][]float32
	Loss   float64
	Right  int
}

// NewWorker makes a worker for m.
func (m *Net) NewWorker() *Worker {
	w := &Worker{}
	w.acts = make([][]float32, len(m.layers)+1)
	w.dacts = make([][]float32, len(m.layers)+1)
	w.acts[0] = make([]float32, m.layers[0].in)
	w.dacts[0] = make([]float32, m.layers[0].in)
	for i, l := range m.layers {
		w.acts[i+1] = make([]float32, l.out)
		w.dacts[i+1] = make([]float32, l.out)
		w.gw = append(w.gw, make([]float32, len(l.w)))
		w.gb = append(w.gb, make([]float32, l.out))
	}
	return w
}

// Forward runs x through m with w's buffers and returns the logits
// (valid until w's next use).
func (m *Net) Forward(w *Worker, x []float32) []float32 {
	copy(w.acts[0], x)
	for i, l := range m.layers {
		in, out := w.acts[i], w.acts[i+1]
		for c := 0; c < l.out; c++ {
			s := dot(l.w[c*l.in:(c+1)*l.in], in) + l.b[c]
			if l.relu && s < 0 {
				s = 0
			}
			out[c] = s
		}
	}
	return w.acts[len(m.layers)]
}

// sample does forward and backward of one example with label smoothing.
func (m *Net) sample(w *Worker, x []float32, y int, smooth float32) {
	z := m.Forward(w, x)
	k := len(z)
	mx := z[0]
	arg := 0
	for i, v := range z {
		if v > mx {
			mx, arg = v, i
		}
	}
	if arg == y {
		w.Right++
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v - mx))
	}
	lse := float64(mx) + math.Log(s)
	w.Loss += lse - float64(z[y])
	d := w.dacts[len(m.layers)]
	for i, v := range z {
		p := float32(math.Exp(float64(v) - lse))
		t := smooth / float32(k)
		if i == y {
			t += 1 - smooth
		}
		d[i] = p - t
	}
	for li := len(m.layers) - 1; li >= 0; li-- {
		l := m.layers[li]
		in, dout, din := w.acts[li], w.dacts[li+1], w.dacts[li]
		if l.relu {
			out := w.acts[li+1]
			for c := range dout {
				if out[c] <= 0 {
					dout[c] = 0
				}
			}
		}
		if li > 0 {
			clear(din)
		}
		for c := 0; c < l.out; c++ {
			g := dout[c]
			if g == 0 {
				continue
			}
			w.gb[li][c] += g
			axpy(w.gw[li][c*l.in:(c+1)*l.in], g, in)
			if li > 0 {
				axpy(din, g, l.w[c*l.in:(c+1)*l.in])
			}
		}
	}
}

// Step trains on one batch (softmax cross-entropy, label smoothing 0.1)
// on len(ws) goroutines and applies Adam at learning rate lr; t counts
// the steps from 1.
func (m *Net) Step(ws []*Worker, xs [][]float32, ys []int, lr float32, t int) {
	var wg sync.WaitGroup
	for wi, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := wi; i < len(xs); i += len(ws) {
				m.sample(w, xs[i], ys[i], 0.1)
			}
		}()
	}
	wg.Wait()
	const b1, b2, eps = 0.9, 0.999, 1e-8
	c1 := float32(1 - math.Pow(b1, float64(t)))
	c2 := float32(1 - math.Pow(b2, float64(t)))
	inv := 1 / float32(len(xs))
	for li, l := range m.layers {
		adam := func(p, mm, vv []float32, grads func(i int) float32) {
			for i := range p {
				g := grads(i) * inv
				mm[i] = b1*mm[i] + (1-b1)*g
				vv[i] = b2*vv[i] + (1-b2)*g*g
				p[i] -= lr * (mm[i] / c1) / (float32(math.Sqrt(float64(vv[i]/c2))) + eps)
			}
		}
		adam(l.w, l.mw, l.vw, func(i int) float32 {
			var s float32
			for _, w := range ws {
				s += w.gw[li][i]
				w.gw[li][i] = 0
			}
			return s
		})
		adam(l.b, l.mb, l.vb, func(i int) float32 {
			var s float32
			for _, w := range ws {
				s += w.gb[li][i]
				w.gb[li][i] = 0
			}
			return s
		})
	}
}

// FloatDense returns m's layers for int8nn.Quantize.
func (m *Net) FloatDense() []int8nn.FloatDense {
	var out []int8nn.FloatDense
	for _, l := range m.layers {
		fd := int8nn.FloatDense{B: append([]float32(nil), l.b...)}
		for c := 0; c < l.out; c++ {
			fd.W = append(fd.W, append([]float32(nil), l.w[c*l.in:(c+1)*l.in]...))
		}
		if l.relu {
			fd.Act = int8nn.ActReLU
		}
		out = append(out, fd)
	}
	return out
}

// Dequantise turns an int8 network back into float layers: weight
// W·WScale[c], bias Bias·inScale·WScale[c] with inScale the layer's input
// scale (the model's InScale for the first, the previous layer's OutScale
// after). The float network then takes standardised inputs, as training
// does.
func Dequantise(q *int8nn.Model) (*Net, error) {
	m := &Net{}
	in := q.InScale
	for li, l := range q.Layers {
		if len(l.W) != l.In*l.Out || len(l.WScale) != l.Out || len(l.Bias) != l.Out {
			return nil, fmt.Errorf("layer %d is malformed", li)
		}
		fl := &layer{in: l.In, out: l.Out, relu: l.Act == int8nn.ActReLU,
			w: make([]float32, l.In*l.Out), b: make([]float32, l.Out),
			mw: make([]float32, l.In*l.Out), vw: make([]float32, l.In*l.Out), mb: make([]float32, l.Out), vb: make([]float32, l.Out)}
		for c := range l.Out {
			for i := range l.In {
				fl.w[c*l.In+i] = float32(l.W[c*l.In+i]) * l.WScale[c]
			}
			fl.b[c] = float32(l.Bias[c]) * in * l.WScale[c]
		}
		m.layers = append(m.layers, fl)
		in = l.OutScale
	}
	return m, nil
}

// Mix moves m's weights and biases to (1−a)·base + a·m: the fine-tuned
// network interpolated with the one it started from (weight-space
// ensembling, WiSE-FT: Wortsman et al., CVPR 2022), which keeps more of
// the base's robustness to unseen conditions for most of the gain. base
// must have m's shape; a = 1 leaves m as it is.
func (m *Net) Mix(base *Net, a float32) error {
	if len(base.layers) != len(m.layers) {
		return fmt.Errorf("adapt: mixing networks of %d and %d layers", len(base.layers), len(m.layers))
	}
	for li, l := range m.layers {
		b := base.layers[li]
		if b.in != l.in || b.out != l.out {
			return fmt.Errorf("adapt: mixing layer %d of %dx%d with %dx%d", li, l.out, l.in, b.out, b.in)
		}
		for i := range l.w {
			l.w[i] = (1-a)*b.w[i] + a*l.w[i]
		}
		for i := range l.b {
			l.b[i] = (1-a)*b.b[i] + a*l.b[i]
		}
	}
	return nil
}
