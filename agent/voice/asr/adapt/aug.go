package adapt

import (
	"math"
	"math/rand/v2"

	"github.com/evedge/evedge/agent/voice/asr"
	noisegen "github.com/evedge/evedge/agent/voice/asr/noise"
	"github.com/evedge/evedge/drivers/audio"
)

// Aug holds the augmentation settings of one copy of an utterance.
type Aug struct {
	Warp     float64 // resample factor (vocal tract length and tempo), 1 = none
	Band8k   bool    // through 8 kHz and back (telephone / FSDD band)
	Tilt     float64 // first-order filter coefficient
	Reverb   bool
	SNR      float64 // dB; +Inf = clean
	PeakSNR  bool    // SNR between the loudest 2048-sample frames (the speech-to-intent benchmark's), not the mean powers
	Noise    int     // a noise.Kind: 0 white, 1 pink, 2 brown, 3 cabin (brown + hum), 4 café, 5 kitchen
	PadStart int     // samples of noise before and after
	PadEnd   int
}

// Augmenter draws and applies augmentations.
type Augmenter struct {
	// Kinds is how many of package noise's kinds the noisy copies draw
	// from: 4 (the steady ones) or 6 (with café and kitchen).
	Kinds int
	// Talkers are the background voices of café and kitchen noise
	// (Talkers); without them café noise is room tone and clatter only.
	Talkers [][]float32
}

// Random draws one copy's augmentation; without heavy, none (a clean
// copy).
func (ag *Augmenter) Random(rng *rand.Rand, heavy bool) Aug {
	a := Aug{Warp: 1, SNR: math.Inf(1)}
	if !heavy {
		return a
	}
	if rng.Float64() < 0.6 {
		a.Warp = 0.86 + 0.28*rng.Float64()
	}
	a.Band8k = rng.Float64() < 0.4
	if rng.Float64() < 0.6 {
		a.Tilt = -0.7 + 1.4*rng.Float64()
	}
	a.Reverb = rng.Float64() < 0.3
	if rng.Float64() < 0.8 {
		a.SNR = 25 * rng.Float64()
		a.Noise = rng.IntN(max(ag.Kinds, 1))
	}
	a.PadStart = rng.IntN(asr.SampleRate / 3)
	a.PadEnd = rng.IntN(asr.SampleRate / 3)
	return a
}

// Apply returns x augmented by a and the sample position map's scale and
// offset (label positions move with warping and padding).
func (ag *Augmenter) Apply(rng *rand.Rand, a Aug, x []float32) (y []float32, scale float64, offset int) {
	scale = 1
	y = append([]float32(nil), x...)
	if a.Warp != 1 {
		out := int(math.Round(asr.SampleRate*a.Warp/100)) * 100
		if z, err := audio.Resample(y, asr.SampleRate, out); err == nil {
			y = z
			scale = float64(out) / asr.SampleRate
		}
	}
	if a.Band8k {
		if z, err := audio.Resample(y, asr.SampleRate, 8000); err == nil {
			if w, err := audio.Resample(z, 8000, asr.SampleRate); err == nil {
				y = w[:min(len(w), len(y))]
			}
		}
	}
	if a.Tilt != 0 {
		var p float32
		t := float32(a.Tilt)
		for i, v := range y {
			y[i] = v - t*p
			p = v
		}
	}
	if a.Reverb {
		y = Reverb(rng, y)
	}
	pad := make([]float32, a.PadStart+len(y)+a.PadEnd)
	copy(pad[a.PadStart:], y)
	y = pad
	offset = a.PadStart
	// gain: normalise speech to a random level
	var pw float64
	for _, v := range y {
		pw += float64(v) * float64(v)
	}
	pw /= float64(len(y))
	g := float32(math.Pow(10, (-30+24*rng.Float64())/20) / math.Sqrt(pw+1e-12))
	for i := range y {
		y[i] *= g
	}
	pw *= float64(g) * float64(g)
	if !math.IsInf(a.SNR, 1) {
		n := ag.Noise(rng, a.Noise, len(y))
		var k float32
		if a.PeakSNR {
			k = noisegen.PeakSNRScale(y, n, a.SNR)
		} else {
			pn := noisegen.Energy(n) / float64(len(n))
			k = float32(math.Sqrt(pw / (pn + 1e-20) / math.Pow(10, a.SNR/10)))
		}
		for i := range y {
			y[i] += k * n[i]
		}
	}
	return y, scale, offset
}

// Noise is n samples of the kind of noise (noise.Kind), café and kitchen
// from the talkers.
func (ag *Augmenter) Noise(rng *rand.Rand, kind, n int) []float32 {
	return noisegen.Make(rng, noisegen.Kind(kind), n, ag.Talkers)
}

// Reverb convolves x with a sparse exponentially decaying impulse
// response (0.1..0.5 s to −60 dB).
func Reverb(rng *rand.Rand, x []float32) []float32 {
	rt := 0.1 + 0.4*rng.Float64() // seconds to -60 dB
	type tap struct {
		d int
		g float32
	}
	taps := []tap{{0, 1}}
	for range 40 {
		d := 1 + rng.IntN(int(rt*asr.SampleRate/2))
		g := math.Pow(10, -3*float64(d)/(rt*asr.SampleRate)) * (rng.Float64() - 0.5)
		taps = append(taps, tap{d, float32(g)})
	}
	y := make([]float32, len(x))
	for _, t := range taps {
		for i := t.d; i < len(x); i++ {
			y[i] += t.g * x[i-t.d]
		}
	}
	return y
}
