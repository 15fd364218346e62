package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evedge/evedge/agent/voice/tts"
	"github.com/evedge/evedge/drivers/audio"
	voicemodel "github.com/evedge/evedge/models/voice"
)

// liftContext is a small context of another domain: an intent with a
// number slot and one without.
const liftContext = `language: en
intents:
  GoToFloor:
    templates: ["(go|take me) to floor {floor}", "floor {floor} please"]
  OpenDoor:
    templates: ["open the door"]
slots:
  floor: {from: 1, to: 12}
`

// TestVoiceBuildInfer runs the two commands a new context goes through:
// `evedge voice build` on a context written here (an intent with a number
// slot, and a wake phrase), then `evedge voice infer` on espeak-ng speech
// (en-us+m3 at 150 wpm): one WAV at 22.05 kHz, one resampled to 8 kHz,
// one with the wake phrase (--wake), a file that is not a WAV. Expected
// intents and slots are the texts spoken. This tests the commands;
// accuracy over many held-out voices is measured by asrtrain -mode eval
// (female variants en-us+f2/f3 hear "open the door" as "go to floor
// nine" / "floor three please" here: a known weakness, see the README).
func TestVoiceBuildInfer(t *testing.T) {
	needEspeak(t)
	dir := t.TempDir()
	ctxFile := filepath.Join(dir, "lift.en.yaml")
	os.WriteFile(ctxFile, []byte(liftContext+`wake: ["hello lift"]
responses:
  wake: "Which floor?"
`), 0o644)
	model := filepath.Join(dir, "model")
	var out, errb bytes.Buffer
	if code := run([]string{"voice", "build", "--adapt=false", "--context", ctxFile, "--out", model}, nil, &out, &errb); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "2 intents") {
		t.Errorf("build output %q", out.String())
	}
	say := func(name, text string, rate int) string {
		b, err := tts.Espeak{Speed: 150}.Synthesize(context.Background(), "en-us+m3", text)
		if err != nil {
			t.Fatal(err)
		}
		if rate != b.SampleRate {
			if b, err = audio.ResampleBuffer(b, rate); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(dir, name)
		if err := audio.WriteWAVFile(p, b); err != nil {
			t.Fatal(err)
		}
		return p
	}
	floor := say("floor.wav", "take me to floor seven", 22050)
	door := say("door.wav", "open the door", 8000)
	wake := say("wake.wav", "hello lift, floor three please", 22050)
	bad := filepath.Join(dir, "bad.wav")
	os.WriteFile(bad, []byte("RIFF but not really"), 0o644)

	infer := func(args ...string) ([]inferLine, int, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"voice", "infer", "--model", model}, args...), nil, &out, &errb)
		var lines []inferLine
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			var l inferLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			lines = append(lines, l)
		}
		return lines, code, errb.String()
	}
	lines, code, stderr := infer(floor, door, bad)
	if code == 0 || !strings.Contains(stderr, "1 of 3 files could not be read") {
		t.Errorf("exit %d, stderr %q: want a failure naming the unreadable file count", code, stderr)
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines: %+v", len(lines), lines)
	}
	if l := lines[0]; !l.Understood || l.Intent != "GoToFloor" || l.Slots["floor"] != float64(7) || l.MS <= 0 {
		t.Errorf("floor: %+v", l)
	}
	if l := lines[1]; !l.Understood || l.Intent != "OpenDoor" {
		t.Errorf("door at 8 kHz: %+v", l)
	}
	if l := lines[2]; l.Error == "" || !strings.Contains(l.Error, "bad.wav") && !strings.Contains(l.Error, "RIFF") && !strings.Contains(l.Error, "WAV") {
		t.Errorf("bad file: %+v", l)
	}
	lines, code, stderr = infer("--wake", wake, floor)
	if code != 0 || len(lines) != 2 {
		t.Fatalf("--wake: exit %d %s %+v", code, stderr, lines)
	}
	if l := lines[0]; !l.Understood || l.Intent != "GoToFloor" || l.Slots["floor"] != float64(3) {
		t.Errorf("wake phrase and request: %+v", l)
	}
	if l := lines[1]; l.Understood {
		t.Errorf("request without the wake phrase understood under --wake: %+v", l)
	}
	for _, l := range lines {
		t.Logf("%+v", l)
	}
}

// TestVoiceBuildAdapt runs `evedge voice build` with its default
// adaptation, small (60 sentences, one epoch of 50 000 frames; the
// defaults are 1500 and three of 300 000): the acoustic model written is a new one, its meta says
// what it was adapted on, and it still understands a sentence of the
// context read by espeak-ng (en-us+m3 at 150 wpm: the text is the
// expectation). Whether adaptation helps is measured by
// asrtrain -mode eval on the folder it writes (models/voice/README.md).
func TestVoiceBuildAdapt(t *testing.T) {
	needEspeak(t)
	if testing.Short() {
		t.Skip("adaptation takes about a minute")
	}
	dir := t.TempDir()
	ctxFile := filepath.Join(dir, "lift.en.yaml")
	os.WriteFile(ctxFile, []byte(liftContext), 0o644)
	model := filepath.Join(dir, "model")
	var out, errb bytes.Buffer
	code := run([]string{"voice", "build", "--context", ctxFile, "--out", model, "--sentences", "60", "--epochs", "1", "--real", filepath.Join(dir, "none")}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "none: not a folder") {
		t.Fatalf("--real on a missing folder: exit %d, stderr %q: want an error naming it", code, errb.String())
	}
	// Adapting that fails (here: a scratch folder that cannot be made)
	// leaves the shipped model in the folder, unless --adapt was asked for.
	out.Reset()
	errb.Reset()
	bad := filepath.Join(dir, "file")
	os.WriteFile(bad, nil, 0o644)
	t.Setenv("EVEDGE_REAL_SPEECH", "")
	code = run([]string{"voice", "build", "--context", ctxFile, "--out", model, "--work", filepath.Join(bad, "work")}, nil, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "acoustic model not adapted") || !strings.Contains(errb.String(), "the shipped model is used") {
		t.Fatalf("failed adaptation: exit %d, stdout %q, stderr %q: want the shipped model and a note", code, out.String(), errb.String())
	}
	if am, _ := os.ReadFile(filepath.Join(model, "am.evnn")); !bytes.Equal(am, voicemodel.AM) {
		t.Error("after a failed adaptation the folder's model is not the shipped one")
	}
	errb.Reset()
	if code := run([]string{"voice", "build", "--adapt", "--context", ctxFile, "--out", model, "--work", filepath.Join(bad, "work")}, nil, &out, &errb); code == 0 {
		t.Errorf("--adapt asked for and failed: exit 0 (stderr %q)", errb.String())
	}
	out.Reset()
	errb.Reset()
	// No real recordings here: EVEDGE_REAL_SPEECH names a folder that is
	// not there (the development tree's is not under this test's
	// directory), which is said and the adaptation goes on with synthetic
	// speech alone.
	t.Setenv("EVEDGE_REAL_SPEECH", filepath.Join(dir, "nowhere"))
	code = run([]string{"voice", "build", "--context", ctxFile, "--out", model, "--sentences", "60", "--epochs", "1", "--frames", "50000"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("build: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "acoustic model adapted") || !strings.Contains(errb.String(), "adapt: step") || !strings.Contains(errb.String(), "nowhere not used") {
		t.Errorf("build output %q, progress %q", out.String(), errb.String())
	}
	am, err := os.ReadFile(filepath.Join(model, "am.evnn"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(am, voicemodel.AM) {
		t.Error("the adapted acoustic model is the shipped one")
	}
	meta, err := os.ReadFile(filepath.Join(model, "am.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(meta, []byte("adapted to context")) || !bytes.Contains(meta, []byte("espeak-ng sentences")) {
		t.Errorf("meta does not record the adaptation: %s", meta)
	}
	b, err := tts.Espeak{Speed: 150}.Synthesize(context.Background(), "en-us+m3", "take me to floor seven")
	if err != nil {
		t.Fatal(err)
	}
	wav := filepath.Join(dir, "floor.wav")
	if err := audio.WriteWAVFile(wav, b); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"voice", "infer", "--model", model, wav}, nil, &out, &errb); code != 0 {
		t.Fatalf("infer: exit %d: %s", code, errb.String())
	}
	var l inferLine
	if err := json.Unmarshal(out.Bytes(), &l); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	if !l.Understood || l.Intent != "GoToFloor" || l.Slots["floor"] != float64(7) {
		t.Errorf("adapted model: %+v", l)
	}
}
