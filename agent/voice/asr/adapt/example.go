package adapt

import (
	"math"
	"math/rand/v2"

	"github.com/evedge/evedge/agent/voice/asr"
)

// Seg is where a phone (or silence, class 0) starts, in 16 kHz samples.
type Seg struct {
	Start int
	C     asr.Class
}

// Utt is an utterance at 16 kHz with its phone segments in order.
type Utt struct {
	Samples []float32
	Segs    []Seg
}

// Example is one augmented utterance's features (T frames of asr.Bands,
// as asr.Features computes them) and frame labels.
type Example struct {
	Frames []float32
	T      int
	Lab    []uint8
}

// Featurize returns copies augmented copies of each utterance as
// features and frame labels: the first clean one time in four when heavy
// (the others all augmented), none augmented without heavy.
func Featurize(rng *rand.Rand, g *Augmenter, us []Utt, copies int, heavy bool) []Example {
	f := asr.NewFeatures()
	var ex []Example
	for _, u := range us {
		for k := 0; k < copies; k++ {
			a := g.Random(rng, heavy && (k > 0 || rng.IntN(4) != 0))
			y, scale, off := g.Apply(rng, a, u.Samples)
			segs := make([]Seg, len(u.Segs))
			for i, s := range u.Segs {
				segs[i] = Seg{int(float64(s.Start)*scale) + off, s.C}
			}
			if off > 0 {
				segs = append([]Seg{{0, 0}}, segs...)
			}
			fr, t := f.Compute(y)
			ex = append(ex, Example{Frames: append([]float32(nil), fr...), T: t, Lab: Labels(segs, t)})
		}
	}
	return ex
}

// Labels returns the class of each 10 ms frame (its centre's segment).
func Labels(segs []Seg, t int) []uint8 {
	out := make([]uint8, t)
	k := 0
	for i := range out {
		c := i*160 + 200
		for k+1 < len(segs) && segs[k+1].Start <= c {
			k++
		}
		out[i] = uint8(segs[k].C)
	}
	return out
}

// AlignSegs force-aligns phones (optional silence around them) against
// 16 kHz samples with em's model and returns the phone segments in
// samples; false when the utterance is too short for its phones.
func AlignSegs(f *asr.Features, em *asr.Emitter, samples []float32, phones []asr.Class) ([]Seg, bool) {
	frames, t := f.Compute(samples)
	if t < len(phones)+2 {
		return nil, false
	}
	e := make([][]float32, t)
	for i := range t {
		e[i] = make([]float32, asr.NumClasses)
		em.Emit(e[i], frames, t, i)
	}
	lab := forceAlign(e, phones)
	var segs []Seg
	for i, cl := range lab {
		if i == 0 || cl != lab[i-1] {
			start := i*160 + 120
			if i == 0 {
				start = 0
			}
			segs = append(segs, Seg{start, cl})
		}
	}
	return segs, true
}

// forceAlign returns the best frame labelling of em (log-likelihoods per
// frame and class) that reads: optional silence, phones in order (each at
// least one frame), optional silence.
func forceAlign(em [][]float32, phones []asr.Class) []asr.Class {
	seq := append(append([]asr.Class{0}, phones...), 0) // sil p1..pK sil
	S, T := len(seq), len(em)
	neg := math.Inf(-1)
	score := make([][]float64, T)
	back := make([][]int8, T) // 0 stay, 1 from s-1, 2 from s-2 (skipping the optional leading silence is only at t=0)
	for t := range score {
		score[t] = make([]float64, S)
		back[t] = make([]int8, S)
		for s := range S {
			score[t][s] = neg
		}
	}
	score[0][0] = float64(em[0][seq[0]])
	score[0][1] = float64(em[0][seq[1]])
	for t := 1; t < T; t++ {
		for s := range S {
			best, from := score[t-1][s], int8(0)
			if s > 0 && score[t-1][s-1] > best {
				best, from = score[t-1][s-1], 1
			}
			// The trailing silence is optional: the last phone may also
			// be the end (handled at the end); nothing to skip here.
			if best == neg {
				continue
			}
			score[t][s] = best + float64(em[t][seq[s]])
			back[t][s] = from
		}
	}
	end := S - 1
	if score[T-1][S-2] > score[T-1][S-1] {
		end = S - 2
	}
	out := make([]asr.Class, T)
	s := end
	for t := T - 1; t >= 0; t-- {
		out[t] = seq[s]
		if t > 0 {
			s -= int(back[t][s])
		}
	}
	return out
}
