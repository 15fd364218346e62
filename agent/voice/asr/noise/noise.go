// Package noise makes the background noise the acoustic model is trained
// and measured in (asrtrain): steady kinds (white, pink, brown, a cabin's
// rumble and hum) and places where people talk and things clatter (a café,
// a kitchen), the conditions of the speech-to-intent benchmark, whose
// real commands are mixed with a café and a kitchen recording. Cabin
// noise is steady and has no speech in it, so a model trained on it alone
// has never been asked to ignore a voice behind the speaker or a plate set
// down mid-word.
//
// There is no recording of either place here, so both are made:
//   - café: 3..7 other talkers (clips of background speech the caller
//     gives, e.g. espeak-ng reading prose), each dulled by distance, at
//     levels 0..8 dB apart, over pink room tone, with a cup or a plate now
//     and then;
//   - kitchen: dishes and cutlery (bursts of a few damped resonances
//     0.6..7 kHz with a click), running water (high-passed hiss that
//     starts and stops), an extractor's hum and rumble, and in half of
//     them one talker further away.
//
// Mixing at the benchmark's SNR (PeakSNRScale) compares the loudest
// 2048-sample frames of speech and noise, as its mixer does. (asrtrain
// trains at mean-power SNRs of 0..25 dB, as for the steady kinds, and
// evaluates at the benchmark's peak-frame ones.)
package noise

import (
	"math"
	"math/rand/v2"
)

// SampleRate is the rate noise is made at (the recogniser's).
const SampleRate = 16000

// Kind is a kind of noise.
type Kind int

// The kinds; Cafe and Kitchen need talkers for their voices (without them
// a café is room tone and clatter, a kitchen has no talker).
const (
	White Kind = iota
	Pink
	Brown
	Cabin // brown rumble + an engine or road hum of 40..120 Hz
	Cafe
	Kitchen
)

// Make returns n samples of the kind of noise. Cafe and Kitchen draw
// their voices from talkers (clips at SampleRate) and come at unit RMS;
// the steady kinds come at their filters' natural level.
func Make(rng *rand.Rand, kind Kind, n int, talkers [][]float32) []float32 {
	if n <= 0 {
		return nil
	}
	switch kind {
	case Cafe:
		return cafe(rng, n, talkers)
	case Kitchen:
		return kitchen(rng, n, talkers)
	}
	out := make([]float32, n)
	var b0, b1, b2, br float64
	hum := 40 + 80*rng.Float64()
	for i := range out {
		w := rng.NormFloat64()
		switch kind {
		case White:
			out[i] = float32(w)
		case Pink: // Paul Kellet's economy filter
			b0 = 0.99765*b0 + w*0.0990460
			b1 = 0.96300*b1 + w*0.2965164
			b2 = 0.57000*b2 + w*1.0526913
			out[i] = float32(b0 + b1 + b2 + w*0.1848)
		default: // brown; cabin adds engine/road hum
			br = 0.995*br + w*0.1
			v := br
			if kind == Cabin {
				v += 0.5 * math.Sin(2*math.Pi*hum*float64(i)/SampleRate)
			}
			out[i] = float32(v)
		}
	}
	return out
}

// cafe is n samples of café noise at unit RMS.
func cafe(rng *rand.Rand, n int, talkers [][]float32) []float32 {
	out := Normalise(Make(rng, Pink, n, nil)) // room tone
	for i := range out {
		out[i] *= 0.25
	}
	for range 3 + rng.IntN(5) {
		talk(rng, out, math.Pow(10, -8*rng.Float64()/20), talkers)
	}
	clatter(rng, out, 0.1+0.4*rng.Float64(), 2)
	return Normalise(out)
}

// kitchen is n samples of kitchen noise at unit RMS.
func kitchen(rng *rand.Rand, n int, talkers [][]float32) []float32 {
	out := Normalise(Make(rng, Brown, n, nil)) // extractor rumble
	hum := 50 + 100*rng.Float64()
	hg := 0.3 * rng.Float64()
	for i := range out {
		t := float64(i) / SampleRate
		out[i] = 0.3*out[i] + float32(hg*(math.Sin(2*math.Pi*hum*t)+0.5*math.Sin(4*math.Pi*hum*t)))
	}
	// Running water: high-passed hiss in 0..2 stretches.
	for range rng.IntN(3) {
		start := rng.IntN(n)
		end := min(n, start+int((0.5+3*rng.Float64())*SampleRate))
		g := 0.3 + 0.7*rng.Float64()
		var prev float64
		for i := start; i < end; i++ {
			w := rng.NormFloat64()
			out[i] += float32(g * (w - 0.9*prev))
			prev = w
		}
	}
	clatter(rng, out, 0.5+1.5*rng.Float64(), 8)
	if rng.IntN(2) == 0 {
		talk(rng, out, 0.3+0.4*rng.Float64(), talkers)
	}
	return Normalise(out)
}

// talk adds one talker at RMS gain g to out: clips of talkers one after
// the other with pauses of 0.1..0.8 s, starting at a random point,
// through a one-pole low-pass (distance).
func talk(rng *rand.Rand, out []float32, g float64, talkers [][]float32) {
	if len(talkers) == 0 {
		return
	}
	a := float32(0.2 + 0.6*rng.Float64()) // low-pass pole: more is duller
	var lp float32
	pos := -rng.IntN(2 * SampleRate)
	for pos < len(out) {
		c := talkers[rng.IntN(len(talkers))]
		for j, v := range c {
			i := pos + j
			if i < 0 {
				continue
			}
			if i >= len(out) {
				break
			}
			lp = a*lp + (1-a)*v
			out[i] += float32(g) * lp
		}
		pos += len(c) + int((0.1+0.7*rng.Float64())*SampleRate)
	}
}

// clatter adds impacts at rate per second to out, each at a level up to
// peak: two to four damped resonances between 0.6 and 7 kHz (a cup, a
// plate, cutlery) after a click of a few milliseconds.
func clatter(rng *rand.Rand, out []float32, rate, peak float64) {
	t := 0
	for {
		t += int(rng.ExpFloat64() / rate * SampleRate)
		if t >= len(out) {
			return
		}
		amp := peak * math.Pow(10, -20*rng.Float64()/20)
		click := int((0.002 + 0.004*rng.Float64()) * SampleRate)
		for j := 0; j < click && t+j < len(out); j++ {
			out[t+j] += float32(amp * rng.NormFloat64() * (1 - float64(j)/float64(click)))
		}
		for range 2 + rng.IntN(3) {
			f := 600 * math.Pow(7000.0/600, rng.Float64())
			tau := (0.03 + 0.27*rng.Float64()) * SampleRate
			ph := 2 * math.Pi * rng.Float64()
			g := amp * (0.2 + 0.6*rng.Float64())
			for j := 0; float64(j) < 5*tau && t+j < len(out); j++ {
				out[t+j] += float32(g * math.Exp(-float64(j)/tau) * math.Sin(ph+2*math.Pi*f*float64(j)/SampleRate))
			}
		}
	}
}

// Normalise scales x to unit RMS in place and returns it (all zeros stay).
func Normalise(x []float32) []float32 {
	p := Energy(x)
	if p == 0 {
		return x
	}
	g := float32(1 / math.Sqrt(p/float64(len(x))))
	for i := range x {
		x[i] *= g
	}
	return x
}

// PeakSNRScale is the gain that puts noise n under speech y at snr dB
// measured as the speech-to-intent benchmark's mixer does: the loudest
// 2048-sample frame of each (0 when the noise is silent).
func PeakSNRScale(y, n []float32, snr float64) float32 {
	ps, pn := MaxFrameEnergy(y), MaxFrameEnergy(n)
	if pn == 0 {
		return 0
	}
	return float32(math.Sqrt(ps / (pn * math.Pow(10, snr/10))))
}

// MaxFrameEnergy is the energy of x's loudest whole 2048-sample frame (of
// x itself when it is shorter).
func MaxFrameEnergy(x []float32) float64 {
	const frame = 2048
	if len(x) < frame {
		return Energy(x)
	}
	best := 0.0
	for s := 0; s+frame <= len(x); s += frame {
		best = max(best, Energy(x[s:s+frame]))
	}
	return best
}

// Energy is the sum of x's squares.
func Energy(x []float32) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}
