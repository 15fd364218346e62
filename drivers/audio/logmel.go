package audio

import (
	"fmt"
	"math"
)

// LogMelConfig sets up a LogMel extractor. The zero value of a field means
// its default (DefaultLogMelConfig).
type LogMelConfig struct {
	SampleRate int     // Hz; 16000
	Window     int     // samples per frame (Hann); 400 = 25 ms
	Hop        int     // samples between frames; 160 = 10 ms
	FFTSize    int     // power of two >= Window; 512
	Bands      int     // mel bands; 40
	LowHz      float64 // lower edge of the first band; 20
	HighHz     float64 // upper edge of the last band; 7600
	Floor      float64 // energies below it are clamped before the log; 1e-10
	// KeepDC turns off the per-frame mean removal (Kaldi's
	// remove_dc_offset), which is on by default.
	KeepDC bool
}

// DefaultLogMelConfig is the front end the acoustic model is trained on.
func DefaultLogMelConfig() LogMelConfig {
	return LogMelConfig{SampleRate: 16000, Window: 400, Hop: 160, FFTSize: 512,
		Bands: 40, LowHz: 20, HighHz: 7600, Floor: 1e-10}
}

func (c LogMelConfig) withDefaults() LogMelConfig {
	d := DefaultLogMelConfig()
	if c.SampleRate == 0 {
		c.SampleRate = d.SampleRate
	}
	if c.Window == 0 {
		c.Window = d.Window
	}
	if c.Hop == 0 {
		c.Hop = d.Hop
	}
	if c.FFTSize == 0 {
		c.FFTSize = d.FFTSize
	}
	if c.Bands == 0 {
		c.Bands = d.Bands
	}
	if c.LowHz == 0 {
		c.LowHz = d.LowHz
	}
	if c.HighHz == 0 {
		c.HighHz = d.HighHz
	}
	if c.Floor == 0 {
		c.Floor = d.Floor
	}
	return c
}

func (c LogMelConfig) validate() error {
	switch {
	case c.SampleRate <= 0:
		return fmt.Errorf("audio: log-mel: invalid 'SampleRate' %d", c.SampleRate)
	case c.Window <= 0 || c.Window > c.FFTSize:
		return fmt.Errorf("audio: log-mel: invalid 'Window' %d (1..FFTSize %d)", c.Window, c.FFTSize)
	case c.Hop <= 0 || c.Hop > c.Window:
		return fmt.Errorf("audio: log-mel: invalid 'Hop' %d (1..Window %d)", c.Hop, c.Window)
	case c.FFTSize&(c.FFTSize-1) != 0 || c.FFTSize < 4:
		return fmt.Errorf("audio: log-mel: invalid 'FFTSize' %d (power of two)", c.FFTSize)
	case c.Bands <= 0 || c.Bands > c.FFTSize/2:
		return fmt.Errorf("audio: log-mel: invalid 'Bands' %d", c.Bands)
	case c.LowHz < 0 || c.LowHz >= c.HighHz:
		return fmt.Errorf("audio: log-mel: invalid 'LowHz' %g (0..HighHz)", c.LowHz)
	case c.HighHz > float64(c.SampleRate)/2:
		return fmt.Errorf("audio: log-mel: invalid 'HighHz' %g (above Nyquist %d)", c.HighHz, c.SampleRate/2)
	case !(c.Floor > 0):
		return fmt.Errorf("audio: log-mel: invalid 'Floor' %g", c.Floor)
	}
	return nil
}

// HTKMel is the HTK mel scale: 2595·log10(1 + f/700).
func HTKMel(hz float64) float64 { return 2595 * math.Log10(1+hz/700) }

// HTKMelToHz inverts HTKMel.
func HTKMelToHz(mel float64) float64 { return 700 * (math.Pow(10, mel/2595) - 1) }

// melBand is one triangular filter over FFT bins first..first+len(w)-1.
type melBand struct {
	first int
	w     []float32
}

// LogMel turns a 16 kHz mono stream into log mel-band energies, one frame
// per Hop samples once Window samples are in. Frame i covers samples
// [i·Hop, i·Hop+Window). It accepts chunks of any size and allocates nothing
// per frame. Not safe for concurrent use.
type LogMel struct {
	cfg    LogMelConfig
	fft    *realFFT
	window []float32
	bands  []melBand
	buf    []float32 // pending samples, len < Window after Process
	frame  []float32 // FFT input, FFTSize
	power  []float32 // FFTSize/2+1
	out    []float32 // Bands
	floor  float32
	frames int64
}

// NewLogMel builds the window, FFT tables and mel filterbank.
func NewLogMel(cfg LogMelConfig) (*LogMel, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	f, err := newRealFFT(cfg.FFTSize)
	if err != nil {
		return nil, err
	}
	m := &LogMel{
		cfg: cfg, fft: f,
		window: make([]float32, cfg.Window),
		buf:    make([]float32, 0, cfg.Window),
		frame:  make([]float32, cfg.FFTSize),
		power:  make([]float32, cfg.FFTSize/2+1),
		out:    make([]float32, cfg.Bands),
		floor:  float32(cfg.Floor),
		bands:  melFilterbank(cfg),
	}
	// Symmetric Hann, as Kaldi's "hanning": 0.5 - 0.5·cos(2πn/(N-1)).
	for n := range m.window {
		if cfg.Window == 1 {
			m.window[n] = 1
			break
		}
		m.window[n] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(n)/float64(cfg.Window-1)))
	}
	return m, nil
}

// melFilterbank builds Bands triangles with edges equally spaced in HTK mel
// between LowHz and HighHz; each FFT bin's weight is linear in mel.
func melFilterbank(c LogMelConfig) []melBand {
	lo, hi := HTKMel(c.LowHz), HTKMel(c.HighHz)
	step := (hi - lo) / float64(c.Bands+1)
	bins := c.FFTSize/2 + 1
	bands := make([]melBand, c.Bands)
	for b := range bands {
		left, center, right := lo+float64(b)*step, lo+float64(b+1)*step, lo+float64(b+2)*step
		first := -1
		var w []float32
		for k := 0; k < bins; k++ {
			mel := HTKMel(float64(k) * float64(c.SampleRate) / float64(c.FFTSize))
			var v float64
			switch {
			case mel > left && mel <= center:
				v = (mel - left) / (center - left)
			case mel > center && mel < right:
				v = (right - mel) / (right - center)
			}
			if v > 0 {
				if first < 0 {
					first = k
				}
				// Bins between first and k with zero weight cannot occur:
				// the triangle is convex in mel and mel is monotone in k.
				w = append(w, float32(v))
			}
		}
		if first < 0 { // narrower than a bin: take the nearest bin
			first = int(math.Round(HTKMelToHz(center) * float64(c.FFTSize) / float64(c.SampleRate)))
			w = []float32{1}
		}
		bands[b] = melBand{first: first, w: w}
	}
	return bands
}

// Config is the effective configuration (defaults filled in).
func (m *LogMel) Config() LogMelConfig { return m.cfg }

// Frames is the number of frames emitted so far.
func (m *LogMel) Frames() int64 { return m.frames }

// Process feeds samples and calls emit once per completed frame with its
// Bands log energies (natural log of the mel-weighted power spectrum). The
// slice is reused: emit must copy what it keeps.
func (m *LogMel) Process(samples []float32, emit func(frame []float32)) {
	win := m.cfg.Window
	for len(samples) > 0 {
		n := min(win-len(m.buf), len(samples))
		m.buf = append(m.buf, samples[:n]...)
		samples = samples[n:]
		if len(m.buf) < win {
			return
		}
		m.compute(m.buf)
		m.frames++
		emit(m.out)
		// Keep the overlap for the next frame.
		keep := copy(m.buf, m.buf[m.cfg.Hop:])
		m.buf = m.buf[:keep]
	}
}

// Reset forgets pending samples and the frame count.
func (m *LogMel) Reset() {
	m.buf = m.buf[:0]
	m.frames = 0
}

func (m *LogMel) compute(x []float32) {
	var mean float32
	if !m.cfg.KeepDC {
		var s float32
		for _, v := range x {
			s += v
		}
		mean = s / float32(len(x))
	}
	fr := m.frame
	for i, v := range x {
		fr[i] = (v - mean) * m.window[i]
	}
	clear(fr[len(x):])
	m.fft.power(m.power, fr)
	for b, band := range m.bands {
		p := m.power[band.first : band.first+len(band.w)]
		var e float32
		for i, w := range band.w {
			e += w * p[i]
		}
		if e < m.floor {
			e = m.floor
		}
		m.out[b] = float32(math.Log(float64(e)))
	}
}

// Compute is the whole-buffer form of Process: it returns every frame of
// samples (a fresh extractor, so frame 0 starts at sample 0).
func (m *LogMel) Compute(samples []float32) [][]float32 {
	m.Reset()
	var frames [][]float32
	m.Process(samples, func(f []float32) { frames = append(frames, append([]float32(nil), f...)) })
	return frames
}
