package main

import (
	"math"
	"math/rand/v2"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/drivers/audio"
)

// aug holds the augmentation settings of one copy.
type aug struct {
	Warp     float64 // resample factor (vocal tract length and tempo), 1 = none
	Band8k   bool    // through 8 kHz and back (telephone / FSDD band)
	Tilt     float64 // first-order filter coefficient
	Reverb   bool
	SNR      float64 // dB; +Inf = clean
	Noise    int     // 0 white, 1 pink, 2 brown, 3 cabin (brown + hum)
	PadStart int     // samples of noise before and after
	PadEnd   int
}

func randomAug(rng *rand.Rand, heavy bool) aug {
	a := aug{Warp: 1, SNR: math.Inf(1)}
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
		a.Noise = rng.IntN(4)
	}
	a.PadStart = rng.IntN(asr.SampleRate / 3)
	a.PadEnd = rng.IntN(asr.SampleRate / 3)
	return a
}

// apply returns the augmented samples and the sample position map scale
// and offset (label positions move with warping and padding).
func (a aug) apply(rng *rand.Rand, x []float32) (y []float32, scale float64, offset int) {
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
		y = reverb(rng, y)
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
		n := noise(rng, a.Noise, len(y))
		var pn float64
		for _, v := range n {
			pn += float64(v) * float64(v)
		}
		pn /= float64(len(n))
		k := float32(math.Sqrt(pw / (pn + 1e-20) / math.Pow(10, a.SNR/10)))
		for i := range y {
			y[i] += k * n[i]
		}
	}
	return y, scale, offset
}

func noise(rng *rand.Rand, kind, n int) []float32 {
	out := make([]float32, n)
	var b0, b1, b2, br float64
	hum := 40 + 80*rng.Float64()
	for i := range out {
		w := rng.NormFloat64()
		switch kind {
		case 0:
			out[i] = float32(w)
		case 1: // pink (Paul Kellet's economy filter)
			b0 = 0.99765*b0 + w*0.0990460
			b1 = 0.96300*b1 + w*0.2965164
			b2 = 0.57000*b2 + w*1.0526913
			out[i] = float32(b0 + b1 + b2 + w*0.1848)
		default: // brown, cabin adds engine/road hum
			br = 0.995*br + w*0.1
			v := br
			if kind == 3 {
				v += 0.5 * math.Sin(2*math.Pi*hum*float64(i)/asr.SampleRate)
			}
			out[i] = float32(v)
		}
	}
	return out
}

// reverb convolves with a sparse exponentially decaying impulse response.
func reverb(rng *rand.Rand, x []float32) []float32 {
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
