package asr

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFeaturesNorm: every band has zero mean over the utterance, and the
// band of a tone whose level swings by 20 dB keeps that swing.
func TestFeaturesNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, SampleRate) // 1 s: a 440 Hz tone whose level swings 20 dB, over white noise
	for i := range x {
		lvl := 0.05 + 0.45*float64((i/1600)%2)
		x[i] = float32(lvl*math.Sin(2*math.Pi*440*float64(i)/SampleRate) + 0.01*r.NormFloat64())
	}
	{
		f := NewFeatures()
		fr, n := f.Compute(x)
		if n < 90 {
			t.Fatalf("%d frames", n)
		}
		for b := 0; b < Bands; b++ {
			var m, sq float64
			for i := 0; i < n; i++ {
				m += float64(fr[i*Bands+b])
				sq += float64(fr[i*Bands+b]) * float64(fr[i*Bands+b])
			}
			m /= float64(n)
			sd := math.Sqrt(sq/float64(n) - m*m)
			if math.Abs(m) > 1e-4 {
				t.Errorf("band %d: mean %.5f", b, m)
			}
			// The tone's band (440 Hz) swings by 20 dB, ln 100 = 4.6 in
			// log power, half the time each way: a standard deviation of
			// about 2.3.
			if b == 6 && math.Abs(sd-2.3) > 0.2 {
				t.Errorf("tone band sd %.3f, want about 2.3", sd)
			}
		}
	}
}
