package train

import (
	"context"
	"math"
	"math/rand/v2"

	int8nn "github.com/evedge/evedge/models/int8"
)

// mlp is a float network of dense layers, ReLU between them, softmax on top.
type mlp struct {
	sizes []int
	w     [][]float64 // w[l][o*in+i]
	b     [][]float64
}

func newMLP(rng *rand.Rand, sizes ...int) *mlp {
	n := &mlp{sizes: sizes}
	for l := 0; l+1 < len(sizes); l++ {
		in, out := sizes[l], sizes[l+1]
		w := make([]float64, in*out)
		sd := math.Sqrt(2 / float64(in))
		for i := range w {
			w[i] = rng.NormFloat64() * sd
		}
		n.w = append(n.w, w)
		n.b = append(n.b, make([]float64, out))
	}
	return n
}

// forward fills acts[l] (acts[0] is the input) and returns the logits.
func (n *mlp) forward(x []float64, acts [][]float64) []float64 {
	copy(acts[0], x)
	last := len(n.w) - 1
	for l := range n.w {
		in, out := n.sizes[l], n.sizes[l+1]
		a, y, w := acts[l], acts[l+1], n.w[l]
		for o := range out {
			s := n.b[l][o]
			row := w[o*in : (o+1)*in]
			for i, v := range a {
				s += row[i] * v
			}
			if l < last && s < 0 {
				s = 0
			}
			y[o] = s
		}
	}
	return acts[len(acts)-1]
}

func softmax(z, p []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	var sum float64
	for i, v := range z {
		p[i] = math.Exp(v - m)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
}

func (n *mlp) newActs() [][]float64 {
	acts := make([][]float64, len(n.sizes))
	for i, s := range n.sizes {
		acts[i] = make([]float64, s)
	}
	return acts
}

// fitNoise is the standard deviation of the Gaussian noise added to the
// standardised inputs in training and weightDecay Adam's L2 term: both
// keep the network from memorising runs, so that a healthy car a little
// off the training cars does not score as a fault. labelSmooth, the
// probability mass spread over all classes in the targets, is 0: it
// capped a confident fault window's log-odds (about 5.7 at 0.03) below the
// healthy tail, so even an insulation collapse went unreported.
const (
	fitNoise    = 0.3
	labelSmooth = 0
	weightDecay = 1e-3
)

// fit trains with Adam on softmax cross-entropy with per-class weights,
// in a fixed order drawn from rng; it stops between epochs once ctx is
// done.
func (n *mlp) fit(ctx context.Context, rng *rand.Rand, xs [][]float64, ys []int, cw []float64, epochs, batch int, lr float64) (loss float64) {
	type adam struct{ m, v []float64 }
	newAdam := func(k int) adam { return adam{make([]float64, k), make([]float64, k)} }
	L := len(n.w)
	gw, gb := make([][]float64, L), make([][]float64, L)
	aw, ab := make([]adam, L), make([]adam, L)
	for l := range L {
		gw[l], gb[l] = make([]float64, len(n.w[l])), make([]float64, len(n.b[l]))
		aw[l], ab[l] = newAdam(len(n.w[l])), newAdam(len(n.b[l]))
	}
	acts := n.newActs()
	deltas := n.newActs()
	p := make([]float64, n.sizes[L])
	const b1, b2, eps, decay = 0.9, 0.999, 1e-8, weightDecay
	xn := make([]float64, n.sizes[0])
	K := float64(n.sizes[L])
	step := 0
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	update := func(a *adam, w, g []float64, lrt float64, scale float64) {
		for i := range w {
			gi := g[i]*scale + decay*w[i]
			a.m[i] = b1*a.m[i] + (1-b1)*gi
			a.v[i] = b2*a.v[i] + (1-b2)*gi*gi
			w[i] -= lrt * a.m[i] / (math.Sqrt(a.v[i]) + eps)
			g[i] = 0
		}
	}
	for ep := range epochs {
		if ctx.Err() != nil {
			return loss
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		rate := lr * 0.5 * (1 + math.Cos(math.Pi*float64(ep)/float64(epochs)))
		loss = 0
		var wsum float64
		for s := 0; s < len(idx); s += batch {
			e := min(s+batch, len(idx))
			var bw float64
			for _, k := range idx[s:e] {
				for i, v := range xs[k] {
					xn[i] = v + fitNoise*rng.NormFloat64()
				}
				z := n.forward(xn, acts)
				softmax(z, p)
				c := cw[ys[k]]
				bw += c
				loss -= c * math.Log(max(p[ys[k]], 1e-12))
				d := deltas[L]
				for o := range p {
					d[o] = c * (p[o] - labelSmooth/K)
				}
				d[ys[k]] -= c * (1 - labelSmooth)
				for l := L - 1; l >= 0; l-- {
					in, out := n.sizes[l], n.sizes[l+1]
					a, dy, w := acts[l], deltas[l+1], n.w[l]
					dx := deltas[l]
					clear(dx)
					for o := range out {
						g := dy[o]
						if g == 0 {
							continue
						}
						gb[l][o] += g
						row, grow := w[o*in:(o+1)*in], gw[l][o*in:(o+1)*in]
						for i, v := range a {
							grow[i] += g * v
							dx[i] += g * row[i]
						}
					}
					if l > 0 {
						for i, v := range a {
							if v <= 0 {
								dx[i] = 0
							}
						}
					}
				}
			}
			wsum += bw
			step++
			lrt := rate * math.Sqrt(1-math.Pow(b2, float64(step))) / (1 - math.Pow(b1, float64(step)))
			for l := range L {
				update(&aw[l], n.w[l], gw[l], lrt, 1/bw)
				update(&ab[l], n.b[l], gb[l], lrt, 1/bw)
			}
		}
		loss /= wsum
	}
	return loss
}

// layers converts the network for int8nn.Quantize.
func (n *mlp) layers() []int8nn.FloatDense {
	var out []int8nn.FloatDense
	for l := range n.w {
		in, o := n.sizes[l], n.sizes[l+1]
		fl := int8nn.FloatDense{W: make([][]float32, o), B: make([]float32, o), Act: int8nn.ActReLU}
		if l == len(n.w)-1 {
			fl.Act = int8nn.ActNone
		}
		for c := range o {
			fl.W[c] = make([]float32, in)
			for i := range in {
				fl.W[c][i] = float32(n.w[l][c*in+i])
			}
			fl.B[c] = float32(n.b[l][c])
		}
		out = append(out, fl)
	}
	return out
}
