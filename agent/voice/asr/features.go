package asr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/evedge/evedge/drivers/audio"
)

// Front-end constants: the acoustic model is trained on exactly these.
const (
	SampleRate = 16000
	Bands      = 40
	// Context is the number of frames stacked on each side of the current
	// one by a model whose meta names no offsets: it sees 2*Context+1
	// frames (DefaultOffsets).
	Context = 5
	// Inputs is the input width of a model with DefaultOffsets.
	Inputs = (2*Context + 1) * Bands
	// MaxOffset bounds a model's frame offsets (300 ms each side).
	MaxOffset = 30
	// dither is added to every sample (about one 16-bit step) so that
	// digital silence looks like a quiet microphone, not log(floor).
	dither = 3e-5
)

// Features computes normalised log-mel frames for 16 kHz mono audio.
// It reuses its buffers. Not safe for concurrent use.
type Features struct {
	mel    *audio.LogMel
	buf    []float32
	frames []float32 // T*Bands, row-major
	seed   uint32
}

// NewFeatures prepares a front end.
func NewFeatures() *Features {
	m, err := audio.NewLogMel(audio.DefaultLogMelConfig())
	if err != nil {
		panic(fmt.Sprintf("asr: default log-mel config: %v", err))
	}
	return &Features{mel: m}
}

// Compute returns T frames of Bands log energies with their per-utterance
// mean removed (cepstral mean normalisation in the log-mel domain), as one
// slice of T*Bands values; valid until the next call.
func (f *Features) Compute(samples []float32) (frames []float32, t int) {
	f.buf = append(f.buf[:0], samples...)
	f.seed = 12345
	for i := range f.buf {
		f.seed = f.seed*1664525 + 1013904223
		f.buf[i] += dither * (float32(f.seed>>8)/float32(1<<24)*2 - 1)
	}
	f.frames = f.frames[:0]
	f.mel.Reset()
	f.mel.Process(f.buf, func(fr []float32) { f.frames = append(f.frames, fr...) })
	t = len(f.frames) / Bands
	if t == 0 {
		return f.frames, 0
	}
	var mean [Bands]float32
	for i := 0; i < t; i++ {
		for b, v := range f.frames[i*Bands : (i+1)*Bands] {
			mean[b] += v
		}
	}
	for b := range mean {
		mean[b] /= float32(t)
	}
	for i := 0; i < t; i++ {
		row := f.frames[i*Bands : (i+1)*Bands]
		for b := range row {
			row[b] -= mean[b]
		}
	}
	return f.frames, t
}

// DefaultOffsets are the frames a model without offsets in its meta
// stacks: -Context..Context.
var DefaultOffsets = func() []int {
	o := make([]int, 0, 2*Context+1)
	for k := -Context; k <= Context; k++ {
		o = append(o, k)
	}
	return o
}()

// StackAt writes the model input of frame i into dst (len
// len(offs)*Bands): frames i+offs[0], i+offs[1], ..., clamped at the
// edges of the utterance.
func StackAt(dst, frames []float32, t, i int, offs []int) {
	for k, o := range offs {
		j := min(max(i+o, 0), t-1)
		copy(dst[k*Bands:(k+1)*Bands], frames[j*Bands:(j+1)*Bands])
	}
}

// ParseOffsets reads frame offsets written as comma-separated integers and
// ranges ("-12,-9,-6..6,9,12"); they must increase strictly, include 0 and
// stay within ±MaxOffset.
func ParseOffsets(s string) ([]int, error) {
	var o []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		lo, hi, isRange := strings.Cut(f[min(1, len(f)):], "..")
		if isRange {
			lo = f[:min(1, len(f))] + lo
		} else {
			lo, hi = f, f
		}
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || b < a {
			return nil, fmt.Errorf("asr: frame offsets %q: bad item %q", s, f)
		}
		if a < -MaxOffset || b > MaxOffset {
			return nil, fmt.Errorf("asr: frame offsets %q: %q outside ±%d", s, f, MaxOffset)
		}
		for k := a; k <= b; k++ {
			o = append(o, k)
		}
	}
	return o, CheckOffsets(o)
}

// CheckOffsets reports whether offs is a usable frame stack.
func CheckOffsets(offs []int) error {
	zero := false
	for i, o := range offs {
		if o < -MaxOffset || o > MaxOffset {
			return fmt.Errorf("asr: frame offset %d outside ±%d", o, MaxOffset)
		}
		if i > 0 && o <= offs[i-1] {
			return fmt.Errorf("asr: frame offsets %v do not increase strictly", offs)
		}
		zero = zero || o == 0
	}
	if !zero {
		return fmt.Errorf("asr: frame offsets %v lack the current frame (0)", offs)
	}
	return nil
}
