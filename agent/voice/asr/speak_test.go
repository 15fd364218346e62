package asr

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/evedge/evedge/drivers/audio"
)

// speak synthesises text with espeak-ng voice v (150 wpm) and returns its
// samples at the recogniser's rate, before trimming.
func speak(tb testing.TB, dir, v, text string) []float32 {
	tb.Helper()
	return speakAt(tb, dir, v, text, 150, 50)
}

// speakAt is speak at rate words per minute and pitch 0..99.
func speakAt(tb testing.TB, dir, v, text string, rate, pitch int) []float32 {
	tb.Helper()
	wav := filepath.Join(dir, "speak.wav")
	os.Remove(wav)
	if out, err := exec.Command("espeak-ng", "-v", v, "-s", strconv.Itoa(rate), "-p", strconv.Itoa(pitch), "-w", wav, text).CombinedOutput(); err != nil {
		tb.Fatalf("espeak-ng: %v: %s", err, out)
	}
	return readWAV(tb, wav)
}

// readWAV reads a WAV file as mono samples at the recogniser's rate.
func readWAV(tb testing.TB, wav string) []float32 {
	tb.Helper()
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

// festival synthesises text with festival's voice v (text2wave) at the
// given duration stretch and returns its samples at the recogniser's rate.
// text2wave exits 0 without writing when the voice is missing, so the
// file is removed first and the output checked.
func festival(tb testing.TB, dir, v, text string, stretch float64) []float32 {
	tb.Helper()
	wav := filepath.Join(dir, "festival.wav")
	os.Remove(wav)
	cmd := exec.Command("text2wave", "-eval", "(voice_"+v+")", "-eval", fmt.Sprintf("(Parameter.set 'Duration_Stretch %.2f)", stretch), "-o", wav)
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "SIOD ERROR") {
		tb.Fatalf("text2wave %s: %v: %s", v, err, out)
	}
	return readWAV(tb, wav)
}
