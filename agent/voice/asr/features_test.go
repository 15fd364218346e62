package asr

import (
	"fmt"
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

func TestParseOffsets(t *testing.T) {
	got, err := ParseOffsets("-12,-9,-7,-5..5,7,9,12")
	want := []int{-12, -9, -7, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 7, 9, 12}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ParseOffsets = %v, %v; want %v", got, err, want)
	}
	if got, err := ParseOffsets(" -2 .. 1 "); err != nil || fmt.Sprint(got) != "[-2 -1 0 1]" {
		t.Errorf("ParseOffsets(spaced range) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1..3", "0,0", "-31,0", "0,31", "-2000000000..2000000000", "a", "3..1", "-1..", "0,,1", "2,0"} {
		if o, err := ParseOffsets(bad); err == nil {
			t.Errorf("ParseOffsets(%q) = %v, want an error", bad, o)
		}
	}
}

// TestStackAt: three frames of two bands each, stacked at offsets -2, 0,
// +2 around frame 1: frame 0 (clamped from -1), frame 1, frame 2 (clamped
// from 3).
func TestStackAt(t *testing.T) {
	frames := make([]float32, 3*Bands)
	for i := range 3 {
		frames[i*Bands] = float32(10 * (i + 1))
		frames[i*Bands+Bands-1] = float32(-(i + 1))
	}
	dst := make([]float32, 3*Bands)
	StackAt(dst, frames, 3, 1, []int{-2, 0, 2})
	for k, want := range []float32{10, 20, 30} {
		if dst[k*Bands] != want || dst[k*Bands+Bands-1] != -want/10 {
			t.Errorf("slot %d: %v %v, want %v %v", k, dst[k*Bands], dst[k*Bands+Bands-1], want, -want/10)
		}
	}
}

func FuzzParseOffsets(f *testing.F) {
	for _, s := range []string{"-5..5", "-12,-9,-7,-5..5,7,9,12", "0", "1..3", "-31..0", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOffsets(s)
		if err != nil {
			return
		}
		if CheckOffsets(o) != nil || len(o) > 2*MaxOffset+1 {
			t.Fatalf("ParseOffsets(%q) = %v accepted", s, o)
		}
	})
}
