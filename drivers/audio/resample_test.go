package audio

import (
	"fmt"
	"math"
	"testing"
)

func tone(n, rate int, hz, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return x
}

// fitTone returns the amplitude of the hz component of y by least squares
// on sin and cos, and the RMS of what is left.
func fitTone(y []float32, rate int, hz float64) (amp, residual float64) {
	var ss, cc, sc, ys, yc float64
	for i, v := range y {
		a := 2 * math.Pi * hz * float64(i) / float64(rate)
		s, c := math.Sin(a), math.Cos(a)
		ss += s * s
		cc += c * c
		sc += s * c
		ys += float64(v) * s
		yc += float64(v) * c
	}
	det := ss*cc - sc*sc
	bs := (ys*cc - yc*sc) / det
	bc := (yc*ss - ys*sc) / det
	var r float64
	for i, v := range y {
		a := 2 * math.Pi * hz * float64(i) / float64(rate)
		d := float64(v) - bs*math.Sin(a) - bc*math.Cos(a)
		r += d * d
	}
	return math.Hypot(bs, bc), math.Sqrt(r / float64(len(y)))
}

func db(x float64) float64 { return 20 * math.Log10(x) }

// resampleStreaming runs x through a Resampler in uneven chunks and drops
// the start-up transient.
func resampleStreaming(t *testing.T, x []float32, in, out int) []float32 {
	t.Helper()
	r, err := NewResampler(in, out, ResamplerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var y []float32
	for i, c := 0, 37; i < len(x); i, c = i+c, c*3%1009+1 {
		y = r.Process(y, x[i:min(len(x), i+c)])
	}
	skip := 2*int(r.Delay()) + 2
	return y[skip : len(y)-skip]
}

// TestResamplerPassband: an ideal low-pass passes tones below the passband
// edge (7/8 of the lower Nyquist: 7 kHz for 16 kHz output) at unit gain;
// the spec allows ±0.5 dB.
func TestResamplerPassband(t *testing.T) {
	for _, in := range []int{8000, 11025, 22050, 44100, 48000} {
		edge := 0.875 * float64(min(in, 16000)) / 2
		for _, hz := range []float64{100, 440, 1000, 2500, 3400, 5000, 6000, 7000} {
			if hz > edge {
				continue
			}
			t.Run(fmt.Sprintf("%d/%g", in, hz), func(t *testing.T) {
				y := resampleStreaming(t, tone(in, in, hz, 0.5), in, 16000)
				amp, res := fitTone(y, 16000, hz)
				gain := db(amp / 0.5)
				if math.Abs(gain) > 0.5 {
					t.Errorf("gain %.3f dB, want within ±0.5", gain)
				}
				// Images and aliases of a pure passband tone land in the
				// stopband: the residual is 70 dB down by design; allow 50.
				if r := db(res / 0.5); r > -50 {
					t.Errorf("residual %.1f dB, want < -50", r)
				}
				t.Logf("gain %+.4f dB, residual %.1f dB", gain, db(res/0.5))
			})
		}
	}
}

// TestResamplerAliasing: a tone above the output Nyquist cannot be
// represented at 16 kHz; whatever comes out is aliasing. 10 kHz from
// 48 kHz would fold to 6 kHz; the spec wants it below -40 dB.
func TestResamplerAliasing(t *testing.T) {
	for _, c := range []struct {
		in     int
		hz     float64
		folded float64
	}{
		{48000, 10000, 6000},
		{48000, 15000, 1000},
		{48000, 20000, 4000},
		{44100, 10000, 6000},
		{22050, 10000, 6000},
		{22050, 9500, 6500},
	} {
		t.Run(fmt.Sprintf("%d/%g", c.in, c.hz), func(t *testing.T) {
			y := resampleStreaming(t, tone(c.in, c.in, c.hz, 0.5), c.in, 16000)
			amp, _ := fitTone(y, 16000, c.folded)
			var rms float64
			for _, v := range y {
				rms += float64(v) * float64(v)
			}
			rms = math.Sqrt(rms / float64(len(y)))
			if a := db(amp / 0.5); a > -40 {
				t.Errorf("alias at %g Hz: %.1f dB, want < -40", c.folded, a)
			}
			if a := db(rms * math.Sqrt2 / 0.5); a > -40 {
				t.Errorf("output level %.1f dB, want < -40", a)
			}
			t.Logf("alias %.1f dB", db(amp/0.5))
		})
	}
}

// TestResampleAligned: the one-shot form compensates the filter delay, so
// the output is the same continuous sine sampled at 16 kHz.
func TestResampleAligned(t *testing.T) {
	for _, in := range []int{8000, 11025, 22050, 44100, 48000, 32000, 16000} {
		x := tone(in/2, in, 440, 0.5)
		y, err := Resample(x, in, 16000)
		if err != nil {
			t.Fatal(err)
		}
		if want := (len(x)*16000 + in - 1) / in; len(y) != want {
			t.Errorf("%d: %d samples, want %d", in, len(y), want)
		}
		want := tone(len(y), 16000, 440, 0.5)
		var worst float64
		for i := 200; i < len(y)-200; i++ {
			worst = max(worst, math.Abs(float64(y[i]-want[i])))
		}
		// A fractional-sample delay of up to half an output sample at
		// 440 Hz is at most 0.5·2π·440/16000·0.5 ≈ 0.043.
		if worst > 0.045 {
			t.Errorf("%d Hz: output differs from the ideal sine by %.4f", in, worst)
		}
	}
}

func TestResamplerErrors(t *testing.T) {
	for _, c := range []struct {
		in, out int
		cfg     ResamplerConfig
	}{
		{0, 16000, ResamplerConfig{}},
		{16000, -1, ResamplerConfig{}},
		{44101, 16000, ResamplerConfig{}}, // 16000 phases
		{48000, 16000, ResamplerConfig{Passband: 1.2}},
		{48000, 16000, ResamplerConfig{StopbandDB: 5}},
	} {
		if _, err := NewResampler(c.in, c.out, c.cfg); err == nil {
			t.Errorf("%d -> %d %+v accepted", c.in, c.out, c.cfg)
		}
	}
}

func TestResamplerZeroAllocs(t *testing.T) {
	r, _ := NewResampler(48000, 16000, ResamplerConfig{})
	x := tone(480, 48000, 1000, 0.5)
	y := make([]float32, 0, 1024)
	r.Process(y, x)
	if a := testing.AllocsPerRun(50, func() { y = r.Process(y[:0], x) }); a != 0 {
		t.Errorf("%v allocations per 10 ms, want 0", a)
	}
}

func BenchmarkResampler(b *testing.B) {
	for _, in := range []int{8000, 44100, 48000} {
		b.Run(fmt.Sprint(in), func(b *testing.B) {
			r, _ := NewResampler(in, 16000, ResamplerConfig{})
			x := tone(in, in, 1000, 0.5) // one second
			y := make([]float32, 0, 17000)
			b.ReportAllocs()
			for b.Loop() {
				y = r.Process(y[:0], x)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/audio-s")
			b.ReportMetric(float64(r.Taps()), "taps")
		})
	}
}
