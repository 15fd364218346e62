package main

import (
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

type mlp struct{ layers []*layer }

// worker holds per-goroutine activations and gradients.
type worker struct {
	acts   [][]float32 // per layer input, then output of the last
	dacts  [][]float32
	gw, gb [][]float32
	loss   float64
	right  int
}

func (m *mlp) newWorker() *worker {
	w := &worker{}
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

func (m *mlp) forward(w *worker, x []float32) []float32 {
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
func (m *mlp) sample(w *worker, x []float32, y int, smooth float32) {
	z := m.forward(w, x)
	k := len(z)
	mx := z[0]
	arg := 0
	for i, v := range z {
		if v > mx {
			mx, arg = v, i
		}
	}
	if arg == y {
		w.right++
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v - mx))
	}
	lse := float64(mx) + math.Log(s)
	w.loss += lse - float64(z[y])
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

// step trains on one batch with nw goroutines and applies Adam.
func (m *mlp) step(ws []*worker, xs [][]float32, ys []int, lr float32, t int) {
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

func (m *mlp) floatDense() []int8nn.FloatDense {
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
