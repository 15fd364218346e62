package noise

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPeakSNRScale: the benchmark's mixer scales the noise by
// sqrt(E_speech / (E_noise · 10^(snr/10))) with E the loudest 2048-sample
// frame's energy. Worked by hand: a full-scale sine over two frames has
// 1024 a frame, a constant 0.1 has 20.48; at 10 dB the scale is
// sqrt(1024 / 204.8) = sqrt(5).
func TestPeakSNRScale(t *testing.T) {
	y := make([]float32, 4096+1000) // the last, partial frame is not counted
	for i := range 4096 {
		y[i] = float32(math.Sin(2 * math.Pi * float64(i) / 64))
	}
	for i := 4096; i < len(y); i++ {
		y[i] = 5 // would dominate if the partial frame counted
	}
	n := make([]float32, len(y))
	for i := range n {
		n[i] = 0.1
	}
	if got, want := float64(PeakSNRScale(y, n, 10)), math.Sqrt(5); math.Abs(got-want) > 1e-4 {
		t.Errorf("scale %v, want %v", got, want)
	}
	// Shorter than a frame: the whole clip is the frame (200·0.25 against 200·0.01).
	short := []float32{}
	for range 200 {
		short = append(short, 0.5)
	}
	ns := make([]float32, 200)
	for i := range ns {
		ns[i] = 0.1
	}
	if got, want := float64(PeakSNRScale(short, ns, 0)), 5.0; math.Abs(got-want) > 1e-4 {
		t.Errorf("short clip: scale %v, want %v", got, want)
	}
	// Frames are whole 2048-sample blocks from the first sample. Speech of
	// ones at [1024, 3072) puts 1024 in each of its two frames, noise of
	// ones at [0, 2048) 2048 in its first: sqrt(1024 / 2048) at 0 dB. A
	// sliding window or a 4096-sample frame sees 2048 in both: 1.
	burst, nb := make([]float32, 4096), make([]float32, 4096)
	for i := 1024; i < 3072; i++ {
		burst[i] = 1
	}
	for i := range 2048 {
		nb[i] = 1
	}
	if got, want := float64(PeakSNRScale(burst, nb, 0)), math.Sqrt(0.5); math.Abs(got-want) > 1e-4 {
		t.Errorf("burst across two frames: scale %v, want %v", got, want)
	}
	if got := PeakSNRScale(y, make([]float32, len(y)), 10); got != 0 {
		t.Errorf("silent noise: scale %v, want 0", got)
	}
}

// TestPlaceNoise checks café and kitchen noise on made-up talkers (tone
// bursts, so that the test needs no espeak-ng): unit RMS, finite, and the
// shape that sets them apart from the steady kinds: a café's level moves
// with the talkers' syllables and pauses, a kitchen's has impacts (a
// heavy-tailed sample distribution).
func TestPlaceNoise(t *testing.T) {
	var talkers [][]float32
	for k := range 4 {
		c := make([]float32, SampleRate)
		for i := range c {
			env := math.Max(0, math.Sin(2*math.Pi*4*float64(i)/SampleRate)) // 4 syllables a second
			c[i] = float32(env * math.Sin(2*math.Pi*float64(150+50*k)*float64(i)/SampleRate))
		}
		talkers = append(talkers, Normalise(c))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4 * SampleRate
	kurt := func(x []float32) float64 {
		var m2, m4 float64
		for _, v := range x {
			m2 += float64(v) * float64(v)
			m4 += math.Pow(float64(v), 4)
		}
		m2 /= float64(len(x))
		return m4 / float64(len(x)) / (m2 * m2)
	}
	for _, kind := range []Kind{Cafe, Kitchen, Pink} {
		var kurtSum float64
		for trial := range 5 {
			x := Make(rng, kind, n, talkers)
			if len(x) != n {
				t.Fatalf("kind %d: %d samples, want %d", kind, len(x), n)
			}
			var p float64
			for _, v := range x {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("kind %d: %v", kind, v)
				}
				p += float64(v) * float64(v)
			}
			if kind != Pink && math.Abs(p/n-1) > 1e-3 {
				t.Errorf("kind %d: mean power %.4f, want 1", kind, p/n)
			}
			// Level of 50 ms blocks: spread in dB.
			var lv []float64
			for s := 0; s+800 <= n; s += 800 {
				lv = append(lv, 10*math.Log10(Energy(x[s:s+800])/800+1e-12))
			}
			var mean, sd float64
			for _, v := range lv {
				mean += v
			}
			mean /= float64(len(lv))
			for _, v := range lv {
				sd += (v - mean) * (v - mean)
			}
			sd = math.Sqrt(sd / float64(len(lv)))
			k := kurt(x)
			kurtSum += k
			t.Logf("kind %d trial %d: block level sd %.1f dB, kurtosis %.1f", kind, trial, sd, k)
			switch kind {
			case Cafe:
				if sd < 2.5 {
					t.Errorf("café trial %d: block level sd %.1f dB, want the talkers' ups and downs (> 2.5; pink 1.1..1.5)", trial, sd)
				}
			case Pink:
				if k > 3.5 || sd > 2 {
					t.Errorf("pink trial %d: kurtosis %.1f, level sd %.1f dB: not steady", trial, k, sd)
				}
			}
		}
		// One kitchen may have few impacts; five together have the
		// impacts' heavy tail (mean kurtosis 8.7 here; Gaussian 3).
		if kind == Kitchen && kurtSum/5 < 4.5 {
			t.Errorf("kitchen: mean kurtosis %.1f over 5, want > 4.5", kurtSum/5)
		}
	}
}
