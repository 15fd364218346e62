package asr

import (
	"fmt"

	"github.com/evedge/evedge/drivers/audio"
)

// Front-end constants: the acoustic model is trained on exactly these.
const (
	SampleRate = 16000
	Bands      = 40
	// Context is the number of frames stacked on each side of the current
	// one: the model sees 2*Context+1 frames.
	Context = 5
	// Inputs is the model's input width.
	Inputs = (2*Context + 1) * Bands
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

// Stack writes the model input of frame i into dst (len Inputs): frames
// i-Context..i+Context, clamped at the edges.
func Stack(dst, frames []float32, t, i int) {
	for k := -Context; k <= Context; k++ {
		j := min(max(i+k, 0), t-1)
		copy(dst[(k+Context)*Bands:(k+Context+1)*Bands], frames[j*Bands:(j+1)*Bands])
	}
}
