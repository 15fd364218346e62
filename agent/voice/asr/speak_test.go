package asr

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/evedge/evedge/drivers/audio"
)

// speak synthesises text with espeak-ng voice v (150 wpm) and returns its
// samples at the recogniser's rate, before trimming.
func speak(tb testing.TB, dir, v, text string) []float32 {
	tb.Helper()
	wav := filepath.Join(dir, "speak.wav")
	if out, err := exec.Command("espeak-ng", "-v", v, "-s", "150", "-w", wav, text).CombinedOutput(); err != nil {
		tb.Fatalf("espeak-ng: %v: %s", err, out)
	}
	w, err := audio.ReadWAVFile(wav)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := audio.ResampleBuffer(audio.Buffer{Format: audio.Format{SampleRate: w.SampleRate, Channels: 1}, Data: w.Mono(nil)}, SampleRate)
	if err != nil {
		tb.Fatal(err)
	}
	return b.Data
}
