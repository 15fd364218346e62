package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/voice/tts"
	"github.com/evedge/evedge/drivers/audio"
)

func needEspeak(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_ESPEAK") != "" {
			t.Fatal("espeak-ng required (EVEDGE_REQUIRE_ESPEAK) but not installed")
		}
		t.Skip("espeak-ng not installed")
	}
}

// speechWAV writes a recording: for each text, 2 s of quiet then the text
// said by espeak-ng's en-us+f3 voice at 150 wpm (a voice variant and speed
// the acoustic model was not trained on), then 2 s of quiet.
func speechWAV(t *testing.T, path string, texts ...string) {
	t.Helper()
	const rate = 22050
	var data []float32
	quiet := make([]float32, 2*rate)
	for _, s := range texts {
		b, err := tts.Espeak{Speed: 150}.Synthesize(context.Background(), "en-us+f3", s)
		if err != nil {
			t.Fatal(err)
		}
		if b.SampleRate != rate {
			t.Fatalf("espeak-ng at %d Hz", b.SampleRate)
		}
		data = append(append(data, quiet...), b.Data...)
	}
	data = append(data, quiet...)
	if err := audio.WriteWAVFile(path, audio.Buffer{Format: audio.Format{SampleRate: rate, Channels: 1}, Data: data}); err != nil {
		t.Fatal(err)
	}
}

// TestRunVoice speaks to the simulated car through `evedge run` with the
// wake phrase trigger: the recogniser is built from the embedded English
// context at start, "hey car, open the rear left window" goes out as
// BCM_WindowCmd (0x351, WindowCmdRL = Open: the first data byte's 2-bit
// field at bit 4 is 1, from the DBC) on the sim bus, the car's rear left
// window then reports 100 %; "hey car" alone is answered and the next
// request, without the wake phrase, is handled; one without the wake
// phrase and without "hey car" before it is not. Each turn is a "voice"
// event in the store.
func TestRunVoice(t *testing.T) {
	if testing.Short() {
		t.Skip("25 s of agent with the recogniser: not under -short (qemu)")
	}
	needEspeak(t)
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	dir := t.TempDir()
	wav := filepath.Join(dir, "cabin.wav")
	speechWAV(t, wav, "hey car, open the rear left window", "what is the battery level", "hey car", "what is the cabin temperature")
	data := filepath.Join(dir, "data")
	// The recogniser is built at the first start when missing; build it
	// first here (the same function) so that the run's time goes to
	// listening, and check that a second start does not rebuild.
	var blog bytes.Buffer
	lg := slog.New(slog.NewTextHandler(&blog, nil))
	for i := range 2 {
		if _, _, err := openRecognizer(context.Background(), filepath.Join(data, "voice", "en"), "en", lg); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(blog.String(), "recogniser built"); n != 1 {
			t.Fatalf("start %d: %d builds, want 1:\n%s", i+1, n, blog.String())
		}
	}
	// Built from an older embedded context (an upgrade): built again.
	src := filepath.Join(data, "voice", "en", "source-car.en.yaml")
	if err := os.WriteFile(src, []byte("language: en\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openRecognizer(context.Background(), filepath.Join(data, "voice", "en"), "en", lg); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(blog.String(), "recogniser built"); n != 2 {
		t.Fatalf("after the context changed: %d builds, want 2:\n%s", n, blog.String())
	}
	var out, errb bytes.Buffer
	code := run([]string{"run", "--view", "off", "--for", "30s", "--data", data, "--voice-wav", wav, "--voice-trigger", "wake"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	logs := errb.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`msg=voice understood=true intent=OpenWindow slots=map\[window:rear_left\] zone=driver answer="Opening the rear left window." refused=""`),
		regexp.MustCompile(`msg=voice understood=true intent=GetCabinTemperature slots=map\[\] zone=driver answer="It's -?\d+ degrees inside."`),
		regexp.MustCompile(`msg=voice understood=true intent=Wake slots=map\[\] zone=driver answer=Yes\?`),
		regexp.MustCompile(`msg="voice: listening ended" utterances=4 understood=3`),
	} {
		if !want.MatchString(logs) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	code = run([]string{"logs", "export", "--data", data, "--from", "0", "--format", "candump", "-o", filepath.Join(dir, "out.log")}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("export: %s", errb.String())
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "out.log"))
	lines := strings.Split(string(raw), "\n")
	sent := -1
	for i, l := range lines {
		if strings.Contains(l, " 351#1000000000000000 T") {
			sent = i
		}
	}
	if sent < 0 {
		t.Fatalf("no BCM_WindowCmd frame sent (351#10..., flagged T) in %d exported frames", len(lines))
	}
	// BCM_Windows (0x3A1): the rear left window's position is byte 2
	// (WindowPosRL, 1 %/bit in the DBC). It reaches 100 after the command.
	open := false
	for _, l := range lines[sent:] {
		if i := strings.Index(l, " 3A1#"); i >= 0 && len(l) >= i+5+6 && l[i+5+4:i+5+6] == "64" {
			open = true
			break
		}
	}
	if !open {
		t.Error("the rear left window never reported 100 % after the command")
	}
	st, err := store.Open(store.Options{Dir: data, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it := st.Events(context.Background(), time.Time{}, time.Time{}, "voice")
	var intents []string
	for it.Next() {
		var ev voiceEvent
		if err := json.Unmarshal(it.Event().Body, &ev); err != nil {
			t.Fatal(err)
		}
		intents = append(intents, ev.Intent)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(intents, ",") != "OpenWindow,,Wake,GetCabinTemperature" { // the request without the wake phrase: not understood
		t.Errorf("voice events %q", intents)
	}
}

// TestWatchButton: a press is a rising edge of the button signal in a
// newer sample; a held button (repeated frames) is one press.
func TestWatchButton(t *testing.T) {
	db, err := signals.Parse("b.dbc", []byte("VERSION \"\"\n\nBO_ 1440 SWC_Buttons: 1 SWC\n SG_ VoiceButton : 0|1@1+ (1,0) [0|1] \"\" Vector__XXX\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := signals.ParseMap("m.toml", []byte("[[signal]]\nmessage = \"SWC_Buttons\"\nsignal = \"VoiceButton\"\nvss = \"Vehicle.Private.SteeringWheel.VoiceButton\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(m); err != nil {
		t.Fatal(err)
	}
	tab := signals.NewTable(db)
	sig := db.Messages[0].Signals[0]
	var presses atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		watchButton(ctx, tab, "Vehicle.Private.SteeringWheel.VoiceButton", 2*time.Millisecond, func() { presses.Add(1) })
		close(done)
	}()
	ts := int64(1e9)
	set := func(v float64) {
		ts += 1e6
		tab.Update([]signals.Value{{Signal: sig, Value: v}}, ts)
		time.Sleep(20 * time.Millisecond)
	}
	set(0)
	set(1)
	set(1) // held
	set(1)
	set(0)
	set(1) // second press
	set(0)
	cancel()
	<-done
	if n := presses.Load(); n != 2 {
		t.Errorf("%d presses, want 2", n)
	}
}
