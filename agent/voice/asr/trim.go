package asr

import (
	"github.com/evedge/evedge/drivers/audio"
)

// TrimPad is the audio kept on each side of the detected speech.
const TrimPad = SampleRate * 15 / 100

// Trim returns the part of 16 kHz mono samples from the first detected
// speech to the last, with TrimPad on each side; all of it when the VAD
// finds none.
func Trim(samples []float32) []float32 {
	v, err := audio.NewVAD(audio.DefaultVADConfig())
	if err != nil {
		return samples
	}
	segs := v.Process(nil, samples)
	segs = v.Flush(segs)
	if len(segs) == 0 {
		return samples
	}
	start := max(int(segs[0].Start)-TrimPad, 0)
	end := min(int(segs[len(segs)-1].End)+TrimPad, len(samples))
	if end <= start {
		return samples
	}
	return samples[start:end]
}
