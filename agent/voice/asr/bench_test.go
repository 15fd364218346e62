package asr

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/evedge/evedge/agent/voice/contexts"
	voicemodel "github.com/evedge/evedge/models/voice"
)

// BenchmarkRecognizeCar is one utterance, WAV samples to intent, on the
// English car context (16.6 k HMM states): features, int8 acoustic model
// and Viterbi search. The speech is espeak-ng's "what is the battery
// level" (en-us+m3, 150 wpm, about 1.5 s after trimming); the metric
// rtf is processing time per second of audio.
func BenchmarkRecognizeCar(b *testing.B) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		b.Skip("espeak-ng not installed")
	}
	dir := b.TempDir()
	src, err := contexts.FS.ReadFile("car.en.yaml")
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "car.en.yaml")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		b.Fatal(err)
	}
	if _, err := Build(context.Background(), Espeak{}, p, voicemodel.AM, voicemodel.Meta, filepath.Join(dir, "m")); err != nil {
		b.Fatal(err)
	}
	rec, err := Open(filepath.Join(dir, "m"))
	if err != nil {
		b.Fatal(err)
	}
	x := Trim(speak(b, dir, "en-us+m3", "what is the battery level"))
	if r := rec.Recognize(x); r.Intent != "GetBatteryLevel" {
		b.Fatalf("recognised %+v", r)
	}
	b.ResetTimer()
	for b.Loop() {
		rec.Recognize(x)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/(float64(len(x))/SampleRate), "rtf")
}
