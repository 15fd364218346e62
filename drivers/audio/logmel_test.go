package audio

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRealFFTAgainstDFT checks the FFT's power spectrum against a direct
// DFT in float64.
func TestRealFFTAgainstDFT(t *testing.T) {
	for _, n := range []int{4, 8, 64, 512} {
		f, err := newRealFFT(n)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.Float64()*2 - 1)
		}
		got := make([]float32, n/2+1)
		f.power(got, x)
		for k := 0; k <= n/2; k++ {
			var re, im float64
			for i, v := range x {
				a := -2 * math.Pi * float64(k*i) / float64(n)
				re += float64(v) * math.Cos(a)
				im += float64(v) * math.Sin(a)
			}
			want := re*re + im*im
			if d := math.Abs(float64(got[k]) - want); d > 1e-4*(1+want) {
				t.Errorf("n=%d bin %d: %g, want %g", n, k, got[k], want)
			}
		}
	}
	if _, err := newRealFFT(500); err == nil {
		t.Error("FFT size 500 accepted")
	}
}

// referenceLogMel computes one frame from first principles: mean removal,
// Hann window, direct DFT power, triangular HTK-mel filters, log.
func referenceLogMel(x []float64, c LogMelConfig) []float64 {
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	n := c.FFTSize
	pow := make([]float64, n/2+1)
	for k := range pow {
		var re, im float64
		for i, v := range x {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(len(x)-1))
			a := -2 * math.Pi * float64(k*i) / float64(n)
			re += (v - mean) * w * math.Cos(a)
			im += (v - mean) * w * math.Sin(a)
		}
		pow[k] = re*re + im*im
	}
	mel := func(f float64) float64 { return 1127 * math.Log(1+f/700) } // = 2595·log10(1+f/700)
	lo, hi := mel(c.LowHz), mel(c.HighHz)
	out := make([]float64, c.Bands)
	for b := range out {
		l := lo + float64(b)*(hi-lo)/float64(c.Bands+1)
		m := lo + float64(b+1)*(hi-lo)/float64(c.Bands+1)
		r := lo + float64(b+2)*(hi-lo)/float64(c.Bands+1)
		var e float64
		for k, p := range pow {
			f := mel(float64(k) * float64(c.SampleRate) / float64(n))
			if f > l && f <= m {
				e += p * (f - l) / (m - l)
			} else if f > m && f < r {
				e += p * (r - f) / (r - m)
			}
		}
		out[b] = math.Log(max(e, c.Floor))
	}
	return out
}

func TestLogMelAgainstReference(t *testing.T) {
	c := DefaultLogMelConfig()
	m, err := NewLogMel(c)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, c.Window+2*c.Hop)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.1)
	}
	frames := m.Compute(x)
	if len(frames) != 3 {
		t.Fatalf("%d frames from %d samples, want 3", len(frames), len(x))
	}
	for fi, fr := range frames {
		seg := make([]float64, c.Window)
		for i := range seg {
			seg[i] = float64(x[fi*c.Hop+i])
		}
		want := referenceLogMel(seg, c)
		for b := range want {
			if d := math.Abs(float64(fr[b]) - want[b]); d > 1e-3 {
				t.Errorf("frame %d band %d: %.5f, want %.5f", fi, b, fr[b], want[b])
			}
		}
	}
}

func TestLogMelTone(t *testing.T) {
	c := DefaultLogMelConfig()
	m, _ := NewLogMel(c)
	// A tone at the centre of band b puts its energy in band b: the
	// neighbours (whose triangles are at zero weight there, minus the
	// Hann main lobe leaking into adjacent bins) are far below.
	lo, hi := HTKMel(c.LowHz), HTKMel(c.HighHz)
	for _, b := range []int{5, 15, 25, 35} {
		f := HTKMelToHz(lo + float64(b+1)*(hi-lo)/float64(c.Bands+1))
		x := make([]float32, c.SampleRate/2)
		for i := range x {
			x[i] = float32(0.5 * math.Sin(2*math.Pi*f*float64(i)/float64(c.SampleRate)))
		}
		frames := m.Compute(x)
		fr := frames[len(frames)/2]
		best := 0
		for i := range fr {
			if fr[i] > fr[best] {
				best = i
			}
		}
		if best != b {
			t.Errorf("tone %.0f Hz: loudest band %d, want %d", f, best, b)
		}
		// Expected level from Parseval: a tone of amplitude A under window w
		// has Σ_k |X_k|² = FFTSize·Σ(A·w·sin)² ≈ FFTSize·A²/2·Σw², half of
		// it at positive frequencies. The band's triangle is 1 at the tone
		// and falls off over the Hann main lobe, so the band holds between
		// 30% and 100% of that half.
		var w2 float64
		for n := 0; n < c.Window; n++ {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(n)/float64(c.Window-1))
			w2 += w * w
		}
		half := float64(c.FFTSize) * 0.5 * 0.5 / 2 * w2 / 2
		e := math.Exp(float64(fr[b]))
		if e < 0.3*half || e > 1.0*half {
			t.Errorf("tone %.0f Hz: band energy %.4g, want 30..100%% of %.4g", f, e, half)
		}
		for _, nb := range []int{b - 3, b + 3} {
			if fr[b]-fr[nb] < float32(math.Log(1e4)) {
				t.Errorf("tone %.0f Hz: band %d only %.1f dB below band %d", f, nb, (fr[b]-fr[nb])*10/math.Ln10, b)
			}
		}
	}
}

// TestLogMelChunking feeds the same signal in odd chunk sizes and expects the
// same frames.
func TestLogMelChunking(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := make([]float32, 5000)
	for i := range x {
		x[i] = float32(rng.Float64() - 0.5)
	}
	m, _ := NewLogMel(LogMelConfig{})
	want := m.Compute(x)
	if len(want) != 1+(5000-400)/160 {
		t.Fatalf("%d frames, want %d", len(want), 1+(5000-400)/160)
	}
	for _, chunk := range []int{1, 7, 160, 399, 401, 4096} {
		m.Reset()
		var got [][]float32
		for i := 0; i < len(x); i += chunk {
			m.Process(x[i:min(len(x), i+chunk)], func(f []float32) { got = append(got, append([]float32(nil), f...)) })
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: %d frames, want %d", chunk, len(got), len(want))
		}
		for i := range want {
			for b := range want[i] {
				if got[i][b] != want[i][b] {
					t.Fatalf("chunk %d: frame %d band %d differs", chunk, i, b)
				}
			}
		}
	}
}

func TestLogMelConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  LogMelConfig
	}{
		{"fft not power of two", LogMelConfig{FFTSize: 500}},
		{"window longer than fft", LogMelConfig{Window: 600}},
		{"hop longer than window", LogMelConfig{Hop: 500}},
		{"high above nyquist", LogMelConfig{SampleRate: 8000}},
		{"low above high", LogMelConfig{LowHz: 8000}},
		{"negative floor", LogMelConfig{Floor: -1}},
	}
	for _, tt := range tests {
		if _, err := NewLogMel(tt.cfg); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestLogMelZeroAllocs(t *testing.T) {
	m, _ := NewLogMel(LogMelConfig{})
	x := make([]float32, 1600)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	var sink float32
	emit := func(f []float32) { sink += f[0] }
	m.Process(x, emit)
	if a := testing.AllocsPerRun(50, func() { m.Process(x, emit) }); a != 0 {
		t.Errorf("%v allocations per 100 ms of audio, want 0", a)
	}
	_ = sink
}

func BenchmarkLogMel(b *testing.B) {
	m, _ := NewLogMel(LogMelConfig{})
	x := make([]float32, 16000) // one second
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range x {
		x[i] = float32(rng.Float64() - 0.5)
	}
	var sink float32
	emit := func(f []float32) { sink += f[0] }
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Process(x, emit)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/audio-s")
	_ = sink
}
