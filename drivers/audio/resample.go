package audio

import (
	"fmt"
	"math"
)

// ResamplerConfig tunes the anti-aliasing filter. Zero fields take the
// defaults, which keep the band below 7/8 of the lower Nyquist frequency
// flat (ripple ~0.003 dB) and attenuate from 9/8 of it by 70 dB: from 48 kHz
// to 16 kHz, flat to 7 kHz and -70 dB from 9 kHz.
type ResamplerConfig struct {
	// Passband is the edge of the flat band as a fraction of the lower of
	// the two Nyquist frequencies; 0.875.
	Passband float64
	// StopbandDB is the stopband attenuation; 70.
	StopbandDB float64
}

// Resampler converts a mono stream from one rate to another with a
// polyphase Kaiser-windowed sinc filter at the rational ratio up/down. It
// accepts chunks of any size; output lags input by Delay() output samples.
// For several channels use one Resampler per channel. Not safe for
// concurrent use.
type Resampler struct {
	in, out  int
	up, down int       // out/in = up/down in lowest terms
	taps     int       // taps per phase
	coef     []float32 // phase p: coef[p*taps : (p+1)*taps], newest sample first
	hist     []float32 // last taps-1 input samples, then the pending input
	phase    int       // position of the next output in units of 1/up input samples,
	// relative to hist[taps-1]
	delay float64
}

// NewResampler builds a resampler from inRate to outRate (Hz).
func NewResampler(inRate, outRate int, cfg ResamplerConfig) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || inRate > 1<<22 || outRate > 1<<22 {
		return nil, fmt.Errorf("audio: resampler: rates %d -> %d out of range", inRate, outRate)
	}
	if cfg.Passband == 0 {
		cfg.Passband = 0.875
	}
	if cfg.StopbandDB == 0 {
		cfg.StopbandDB = 70
	}
	if cfg.Passband <= 0 || cfg.Passband >= 1 {
		return nil, fmt.Errorf("audio: resampler: invalid 'Passband' %g (0..1)", cfg.Passband)
	}
	if cfg.StopbandDB < 20 || cfg.StopbandDB > 150 {
		return nil, fmt.Errorf("audio: resampler: invalid 'StopbandDB' %g (20..150)", cfg.StopbandDB)
	}
	g := gcd(inRate, outRate)
	r := &Resampler{in: inRate, out: outRate, up: outRate / g, down: inRate / g}
	if r.up > 4096 {
		return nil, fmt.Errorf("audio: resampler: ratio %d/%d needs %d filter phases (max 4096)", outRate, inRate, r.up)
	}
	// Prototype filter at rate up·in. The cutoff sits at the lower Nyquist
	// frequency, the transition is symmetric about it: passband edge
	// Passband·nyq, stopband edge (2-Passband)·nyq, so anything that folds
	// back into the passband is in the stopband.
	nyq := float64(min(inRate, outRate)) / 2
	proto := float64(r.up) * float64(inRate)
	fc := nyq / proto                                        // cycles per prototype sample
	dw := 2 * math.Pi * 2 * (1 - cfg.Passband) * nyq / proto // transition width, rad/sample
	a := cfg.StopbandDB
	beta := kaiserBeta(a)
	n := int(math.Ceil((a-7.95)/(2.285*dw))) + 1 // Kaiser's length estimate
	r.taps = (n + r.up - 1) / r.up
	if r.taps < 2 {
		r.taps = 2
	}
	total := r.taps * r.up
	center := float64(total-1) / 2
	proto0 := make([]float64, total)
	i0b := besselI0(beta)
	for i := range proto0 {
		t := float64(i) - center
		x := 2 * t / float64(total-1)
		w := besselI0(beta*math.Sqrt(max(0, 1-x*x))) / i0b
		proto0[i] = 2 * fc * sinc(2*fc*t) * w * float64(r.up)
	}
	// Polyphase split: output at prototype index m = k·down uses
	// x[j] weighted by h[m - j·up]. With m = n·up + p, phase p uses
	// h[p + i·up] against x[n-i].
	r.coef = make([]float32, total)
	for p := 0; p < r.up; p++ {
		for i := 0; i < r.taps; i++ {
			r.coef[p*r.taps+i] = float32(proto0[p+i*r.up])
		}
	}
	r.hist = make([]float32, r.taps-1, 4*r.taps)
	r.delay = center / float64(r.down) // prototype samples -> output samples
	return r, nil
}

// Rates returns the input and output rates.
func (r *Resampler) Rates() (in, out int) { return r.in, r.out }

// Taps is the filter length per output sample (multiply-adds per output).
func (r *Resampler) Taps() int { return r.taps }

// Delay is the filter's group delay in output samples.
func (r *Resampler) Delay() float64 { return r.delay }

// Reset clears the filter history.
func (r *Resampler) Reset() {
	r.hist = r.hist[:r.taps-1]
	clear(r.hist)
	r.phase = 0
}

// Process appends the output for src to dst and returns it. It allocates
// only when dst or the internal history must grow.
func (r *Resampler) Process(dst, src []float32) []float32 {
	r.hist = append(r.hist, src...)
	h := r.hist
	taps := r.taps
	base := taps - 1 // index in h of the "current" input sample n=0
	pos := r.phase   // up-units from h[base]
	for {
		n := base + pos/r.up
		if n >= len(h) {
			break
		}
		p := pos % r.up
		c := r.coef[p*taps : (p+1)*taps]
		x := h[n-taps+1 : n+1]
		var acc float32
		// c[i] weights x[n-i]; x is oldest first.
		for i, cv := range c {
			acc += cv * x[taps-1-i]
		}
		dst = append(dst, acc)
		pos += r.down
	}
	// Drop consumed input, keeping taps-1 samples of history.
	consumed := pos / r.up // whole input samples advanced past h[base]
	drop := min(consumed, len(h)-base)
	r.phase = pos - drop*r.up
	m := copy(r.hist, h[drop:])
	r.hist = r.hist[:m]
	return dst
}

// Resample converts a whole mono signal, compensating the filter delay so
// that output sample k corresponds to time k/outRate: the result has
// ceil(len(src)·out/in) samples.
func Resample(src []float32, inRate, outRate int) ([]float32, error) {
	if inRate == outRate {
		return append([]float32(nil), src...), nil
	}
	r, err := NewResampler(inRate, outRate, ResamplerConfig{})
	if err != nil {
		return nil, err
	}
	want := int((int64(len(src))*int64(outRate) + int64(inRate) - 1) / int64(inRate))
	skip := int(math.Round(r.delay))
	out := make([]float32, 0, want+skip+2)
	out = r.Process(out, src)
	// Flush with zeros until the delayed tail is out.
	pad := make([]float32, r.taps)
	for len(out) < want+skip {
		out = r.Process(out, pad)
	}
	return out[skip : skip+want], nil
}

// ResampleBuffer converts every channel of b to rate.
func ResampleBuffer(b Buffer, rate int) (Buffer, error) {
	if err := b.Validate(); err != nil {
		return Buffer{}, err
	}
	if b.SampleRate == rate {
		return Buffer{Format: b.Format, Data: append([]float32(nil), b.Data...)}, nil
	}
	out := Buffer{Format: Format{SampleRate: rate, Channels: b.Channels}}
	var ch []float32
	for c := 0; c < b.Channels; c++ {
		ch = b.Channel(ch[:0], c)
		y, err := Resample(ch, b.SampleRate, rate)
		if err != nil {
			return Buffer{}, err
		}
		if out.Data == nil {
			out.Data = make([]float32, len(y)*b.Channels)
		}
		for i, v := range y {
			out.Data[i*b.Channels+c] = v
		}
	}
	return out, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// kaiserBeta is Kaiser's empirical β for a stopband attenuation of a dB.
func kaiserBeta(a float64) float64 {
	switch {
	case a > 50:
		return 0.1102 * (a - 8.7)
	case a >= 21:
		return 0.5842*math.Pow(a-21, 0.4) + 0.07886*(a-21)
	}
	return 0
}

// besselI0 is the zeroth-order modified Bessel function of the first kind.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 200; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}
