package adapt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/evedge/evedge/agent/voice/asr"
	int8nn "github.com/evedge/evedge/models/int8"
)

// FitConfig tunes Fit.
type FitConfig struct {
	Inputs []int8nn.Input // the standardisation of the stacked inputs
	Offs   []int          // the frames stacked (asr.StackAt)
	// Epochs of Frames frames each, drawn uniformly from all examples'
	// frames, in batches of 256.
	Epochs, Frames int
	// LR is the peak of the cosine learning-rate schedule (down to 1e-4).
	LR      float64
	Threads int
	// SpecAug is the share of frames given SpecAugment-style masks.
	SpecAug float64
	// Epoch, when set, is called after each epoch with the step, the
	// steps in all, and the epoch's mean training loss and accuracy.
	Epoch func(step, steps int, loss, acc float64)
}

// Fit trains m on the frames of ex (softmax cross-entropy on each
// frame's label, Adam on Threads goroutines): Epochs·Frames/256 batches.
// It stops with ctx's error when ctx ends.
func Fit(ctx context.Context, rng *rand.Rand, m *Net, ex []Example, cfg FitConfig) error {
	nIn := len(cfg.Offs) * asr.Bands
	if len(cfg.Inputs) != nIn || m.layers[0].in != nIn {
		return fmt.Errorf("adapt: %d inputs and a network of %d for %d stacked frames", len(cfg.Inputs), m.layers[0].in, len(cfg.Offs))
	}
	cum := make([]int, len(ex)+1)
	for i, e := range ex {
		cum[i+1] = cum[i] + e.T
	}
	nFrames := cum[len(ex)]
	if nFrames == 0 {
		return fmt.Errorf("adapt: no frames to train on")
	}
	ws := make([]*Worker, max(cfg.Threads, 1))
	for i := range ws {
		ws[i] = m.NewWorker()
	}
	const batch = 256
	xs := make([][]float32, batch)
	for i := range xs {
		xs[i] = make([]float32, nIn)
	}
	ys := make([]int, batch)
	perEpoch := max(cfg.Frames/batch, 1)
	steps := max(cfg.Epochs*cfg.Frames/batch, 1)
	for s := 1; s <= steps; s++ {
		if s%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		for i := range xs {
			f := rng.IntN(nFrames)
			e := sort.SearchInts(cum, f+1) - 1
			j := f - cum[e]
			asr.StackAt(xs[i], ex[e].Frames, ex[e].T, j, cfg.Offs)
			Standardise(xs[i], cfg.Inputs)
			if cfg.SpecAug > 0 && rng.Float64() < cfg.SpecAug {
				specAugment(rng, xs[i], len(cfg.Offs))
			}
			ys[i] = int(ex[e].Lab[j])
		}
		lr := float32(1e-4 + 0.5*(cfg.LR-1e-4)*(1+math.Cos(math.Pi*float64(s)/float64(steps))))
		m.Step(ws, xs, ys, lr, s)
		if s%perEpoch == 0 || s == steps {
			var loss float64
			var right int
			for _, w := range ws {
				loss += w.Loss
				right += w.Right
				w.Loss, w.Right = 0, 0
			}
			if cfg.Epoch != nil {
				n := float64(cfg.Frames)
				cfg.Epoch(s, steps, loss/n, float64(right)/n)
			}
		}
	}
	return nil
}

// Standardise maps stacked raw inputs to the network's: (x−mean)/std.
func Standardise(x []float32, inputs []int8nn.Input) {
	for i := range x {
		x[i] = (x[i] - inputs[i].Mean) / inputs[i].Std
	}
}

// specAugment masks a standardised stacked input in place, as SpecAugment
// (Park et al., 2019) masks spectrograms: one run of 1..8 mel bands in
// every stacked frame, and up to two whole stacked frames, set to 0 (the
// training mean).
func specAugment(rng *rand.Rand, x []float32, frames int) {
	w := 1 + rng.IntN(8)
	b0 := rng.IntN(asr.Bands - w + 1)
	for k := range frames {
		clear(x[k*asr.Bands+b0 : k*asr.Bands+b0+w])
	}
	for range rng.IntN(3) {
		k := rng.IntN(frames)
		clear(x[k*asr.Bands : (k+1)*asr.Bands])
	}
}

// Quantize makes m an int8 acoustic model, its activation ranges
// calibrated on 3 000 frames drawn from ex, with 4 of them as golden
// vectors.
func Quantize(rng *rand.Rand, m *Net, ex []Example, inputs []int8nn.Input, offs []int) (*int8nn.Model, error) {
	var calib [][]float32
	for range 3000 {
		e := ex[rng.IntN(len(ex))]
		x := make([]float32, len(offs)*asr.Bands)
		asr.StackAt(x, e.Frames, e.T, rng.IntN(e.T), offs)
		calib = append(calib, x)
	}
	q, err := int8nn.Quantize("evedge-voice-am", "1", inputs, m.FloatDense(), calib)
	if err != nil {
		return nil, err
	}
	if err := q.SetGolden(calib[:4], 1e-3, 1e-3); err != nil {
		return nil, err
	}
	return q, nil
}
