package assistant

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/tts"
	"github.com/evedge/evedge/drivers/audio"
	voicemodel "github.com/evedge/evedge/models/voice"
)

// The recogniser here is the real one (the shipped acoustic model and the
// car's English context, built with espeak-ng), and the speech is espeak-ng
// with a voice variant and speed the model was not trained on. The
// dialogue and the speaker are recorders: the dialogue is tested in
// agent/voice/dialog, the speaker in agent/voice/tts.

var (
	recOnce sync.Once
	recDir  string
	recErr  error
)

func recognizer(t *testing.T) *asr.Recognizer {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_ESPEAK") != "" {
			t.Fatal("espeak-ng required but not installed")
		}
		t.Skip("espeak-ng not installed")
	}
	recOnce.Do(func() {
		recDir, recErr = os.MkdirTemp("", "assistant-test")
		if recErr != nil {
			return
		}
		_, recErr = asr.Build(context.Background(), asr.Espeak{}, "../contexts/car.en.yaml", voicemodel.AM, voicemodel.Meta, recDir)
	})
	if recErr != nil {
		t.Fatal(recErr)
	}
	r, err := asr.Open(recDir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMain(m *testing.M) {
	code := m.Run()
	if recDir != "" {
		os.RemoveAll(recDir)
	}
	os.Exit(code)
}

// speech is text said by espeak-ng's en-us+f2 voice at 150 wpm, at rate.
func speech(t *testing.T, text string, rate int) []float32 {
	t.Helper()
	b, err := tts.Espeak{Speed: 150}.Synthesize(context.Background(), "en-us+f2", text)
	if err != nil {
		t.Fatal(err)
	}
	x, err := audio.Resample(b.Data, b.SampleRate, rate)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// stream builds a capture of len(gains) channels: noise at -50 dBFS on
// every channel, and each part placed with its per-channel gain.
type part struct {
	at    float64 // seconds
	x     []float32
	gains []float32
}

func stream(rate, ch int, seconds float64, parts ...part) audio.Buffer {
	n := int(seconds * float64(rate))
	data := make([]float32, n*ch)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = float32(r.NormFloat64() * 0.003)
	}
	for _, p := range parts {
		s := int(p.at * float64(rate))
		for i, v := range p.x {
			if s+i >= n {
				break
			}
			for c := range ch {
				data[(s+i)*ch+c] += v * p.gains[c]
			}
		}
	}
	return audio.Buffer{Format: audio.Format{SampleRate: rate, Channels: ch}, Data: data}
}

// pressing is a capture that presses push-to-talk when it reaches given
// times, as the steering-wheel button would while the microphones run.
type pressing struct {
	*audio.BufferSource
	a     *Assistant
	rate  int
	at    []float64
	read  int
	chunk int
}

func (p *pressing) Receive() bool {
	if !p.BufferSource.Receive() {
		return false
	}
	for len(p.at) > 0 && float64(p.read)/float64(p.rate) >= p.at[0] {
		p.a.PushToTalk()
		p.at = p.at[1:]
	}
	p.read += len(p.Samples()) / p.chunk
	return true
}

type recorder struct {
	mu    sync.Mutex
	reqs  []Request
	said  []string
	turns []Turn
}

func (r *recorder) Answer(_ context.Context, q Request) Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, q)
	if !q.Result.Understood {
		return Reply{Answer: "Sorry, I didn't understand."}
	}
	return Reply{Answer: "answer to " + q.Result.Intent}
}

func (r *recorder) Say(_ context.Context, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.said = append(r.said, text)
	return nil
}

func (r *recorder) turn(t Turn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.turns = append(r.turns, t)
}

// TestPushToTalkZones: two cabin microphones at 48 kHz (resampled to
// 16 kHz inside). The driver asks for the range after a press; the
// passenger says "open my window" after a second press, 12 dB louder on
// the passenger's microphone; then the driver speaks without a press,
// which is ignored.
func TestPushToTalkZones(t *testing.T) {
	rec := recognizer(t)
	const rate = 48000
	rng := speech(t, "what is my range", rate)
	win := speech(t, "open my window", rate)
	loud, quiet := float32(1), float32(0.25) // 12 dB apart
	buf := stream(rate, 2, 14,
		part{1.0, rng, []float32{loud, quiet}},
		part{5.5, win, []float32{quiet, loud}},
		part{10.0, rng, []float32{loud, quiet}})
	r := &recorder{}
	a, err := New(Config{Zones: []audio.Zone{audio.ZoneDriver, audio.ZonePassenger}}, rec, r, r, r.turn)
	if err != nil {
		t.Fatal(err)
	}
	src := &pressing{BufferSource: audio.NewBufferSource(buf, rate/100), a: a, rate: rate, at: []float64{0.8, 5.2}, chunk: 2}
	if err := a.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if len(r.reqs) != 2 {
		t.Fatalf("%d requests, want 2: %+v", len(r.reqs), r.reqs)
	}
	want := []struct {
		intent string
		zone   audio.Zone
	}{{"GetRange", audio.ZoneDriver}, {"OpenWindow", audio.ZonePassenger}}
	for i, w := range want {
		q := r.reqs[i]
		if !q.Result.Understood || q.Result.Intent != w.intent || q.Zone != w.zone {
			t.Errorf("request %d: understood %v intent %q zone %v, want %s from %v", i, q.Result.Understood, q.Result.Intent, q.Zone, w.intent, w.zone)
		}
	}
	if len(r.said) != 2 || r.said[0] != "answer to GetRange" {
		t.Errorf("said %q", r.said)
	}
	st := a.Stats()
	if st.Utterances != 3 || st.Ignored != 1 {
		t.Errorf("stats %+v: want 3 utterances, 1 ignored (no press)", st)
	}
	for _, tu := range r.turns {
		t.Logf("turn at %.2f..%.2f s zone %v margin %.1f dB latency %v: %+v", tu.Start, tu.End, tu.Zone, tu.ZoneMargin, tu.Latency, tu.Result)
		// The margin is the 12 dB we mixed in, less the noise and the
		// other talker's leak.
		if tu.ZoneMargin < 9 || tu.ZoneMargin > 13 {
			t.Errorf("zone margin %.1f dB, want about 12", tu.ZoneMargin)
		}
		if tu.Start < 0.9 || (tu.Start > 1.5 && tu.Start < 5.4) || tu.Start > 6.0 {
			t.Errorf("utterance at %.2f s, want about 1.0 or 5.5", tu.Start)
		}
	}
}

// TestAlwaysListening: chatter that is not a command gets no answer;
// a command does.
func TestAlwaysListening(t *testing.T) {
	rec := recognizer(t)
	const rate = 16000
	buf := stream(rate, 1, 12,
		part{1.0, speech(t, "I think we should stop for coffee in the next town", rate), []float32{1}},
		part{7.0, speech(t, "what is the battery level", rate), []float32{1}})
	r := &recorder{}
	a, err := New(Config{Trigger: Always}, rec, r, r, r.turn)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background(), audio.NewBufferSource(buf, rate/100)); err != nil {
		t.Fatal(err)
	}
	for _, tu := range r.turns {
		t.Logf("turn at %.2f s: %+v", tu.Start, tu.Result)
	}
	if st := a.Stats(); st.Utterances < 2 || st.NotUnderstood < 1 {
		t.Errorf("stats %+v: the chatter was not heard as an utterance", st)
	}
	if len(r.said) != 1 || r.said[0] != "answer to GetBatteryLevel" {
		t.Errorf("said %q, want only the battery level answer (turns %+v)", r.said, r.turns)
	}
}

// TestInterrupt: a press while the answer plays stops it.
func TestInterrupt(t *testing.T) {
	r := &recorder{}
	started := make(chan struct{})
	spk := speakerFunc(func(ctx context.Context, _ string) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	a, err := New(Config{Trigger: Always}, fixed{asr.Result{Understood: true, Intent: "GetRange"}}, r, spk, r.turn)
	if err != nil {
		t.Fatal(err)
	}
	buf := stream(16000, 1, 3, part{1, tone(16000, 0.5), []float32{1}})
	go func() { <-started; a.PushToTalk() }()
	if err := a.Run(context.Background(), audio.NewBufferSource(buf, 160)); err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.Interrupted != 1 || len(r.turns) != 1 || r.turns[0].SpeakErr != nil {
		t.Errorf("stats %+v turns %+v: want one interrupted answer, no error", st, r.turns)
	}
}

type speakerFunc func(context.Context, string) error

func (f speakerFunc) Say(ctx context.Context, s string) error { return f(ctx, s) }

type fixed struct{ r asr.Result }

func (f fixed) Recognize([]float32) asr.Result { return f.r }

// tone is a vowel-like burst: harmonics of 150 Hz, in 4 syllables a second.
func tone(rate int, sec float64) []float32 {
	x := make([]float32, int(sec*float64(rate)))
	for i := range x {
		var v float64
		for h := 1; h <= 20; h++ {
			v += math.Sin(2*math.Pi*150*float64(h)*float64(i)/float64(rate)) / float64(h)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*float64(i)/float64(rate))
		x[i] = float32(0.2 * v * env)
	}
	return x
}

func TestConfigErrors(t *testing.T) {
	r := &recorder{}
	if _, err := New(Config{}, nil, r, nil, nil); err == nil {
		t.Error("no recogniser accepted")
	}
	if _, err := New(Config{MaxUtterance: 100 * 1e9}, fixed{}, r, nil, nil); err == nil {
		t.Error("100 s utterance accepted")
	}
	a, _ := New(Config{Zones: []audio.Zone{audio.ZoneDriver}}, fixed{}, r, nil, nil)
	err := a.Run(context.Background(), audio.NewBufferSource(audio.Buffer{Format: audio.Format{SampleRate: 16000, Channels: 2}}, 160))
	if err == nil {
		t.Error("1 zone for 2 channels accepted")
	}
	if _, err := ParseTrigger("sometimes"); err == nil {
		t.Error("trigger sometimes accepted")
	}
}

var _ = filepath.Join

// TestModulation: a syllable-like burst train swings by tens of dB, a
// steady noise by about 1 dB (20 ms frames of Gaussian noise: 320
// samples, a chi-square spread of 10·log10(1 ± 2/sqrt(320)) ≈ ±0.5 dB).
func TestModulation(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	steady := make([]float32, Rate)
	bursts := make([]float32, Rate)
	for i := range steady {
		steady[i] = float32(r.NormFloat64() * 0.05)
		if (i/(Rate/8))%2 == 0 { // 4 syllables a second
			bursts[i] = steady[i] * 10
		} else {
			bursts[i] = steady[i] * 0.1
		}
	}
	if m := Modulation(steady); m > 1.5 {
		t.Errorf("steady noise modulation %.2f dB, want under 1.5", m)
	}
	// Half the frames 20 dB above the mean level, half 20 dB below: a
	// standard deviation of 20 dB.
	if m := Modulation(bursts); math.Abs(m-20) > 1 {
		t.Errorf("burst modulation %.2f dB, want 20", m)
	}
	if m := Modulation(steady[:100]); m != 0 {
		t.Errorf("modulation of a fragment %.2f, want 0", m)
	}
}

// TestNoiseStep: steady cabin noise that jumps 26 dB (a window opened at
// speed) makes the VAD report a segment; it is dropped as not speech
// and does not use up the press.
func TestNoiseStep(t *testing.T) {
	r := &recorder{}
	a, err := New(Config{}, fixed{asr.Result{Understood: true, Intent: "GetRange"}}, r, nil, r.turn)
	if err != nil {
		t.Fatal(err)
	}
	buf := stream(16000, 1, 8)
	for i := 3 * 16000; i < len(buf.Data); i++ {
		buf.Data[i] *= 20
	}
	src := &pressing{BufferSource: audio.NewBufferSource(buf, 160), a: a, rate: 16000, at: []float64{2.9}, chunk: 1}
	if err := a.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	st := a.Stats()
	if st.NotSpeech < 1 || len(r.reqs) != 0 {
		t.Errorf("stats %+v, %d requests: want the noise step dropped as not speech", st, len(r.reqs))
	}
	if a.pressAt < 0 {
		t.Error("the press was used up by noise")
	}
}

// speechEnd is where speech ends in a clean clip: the end of its last
// 10 ms frame within 40 dB of the loudest frame.
func speechEnd(x []float32, rate int) float64 {
	fr := rate / 100
	var peak float64
	var es []float64
	for i := 0; i+fr <= len(x); i += fr {
		var e float64
		for _, v := range x[i : i+fr] {
			e += float64(v) * float64(v)
		}
		es = append(es, e)
		peak = max(peak, e)
	}
	last := 0
	for i, e := range es {
		if e >= peak*1e-4 {
			last = i
		}
	}
	return float64((last+1)*fr) / float64(rate)
}

// paced delivers a buffer in 10 ms chunks at the pace of a live
// microphone and notes when each chunk was delivered.
type paced struct {
	*audio.BufferSource
	start time.Time
	n     int
	at    []time.Time
}

func (p *paced) Receive() bool {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	time.Sleep(time.Until(p.start.Add(time.Duration(p.n) * 10 * time.Millisecond)))
	if !p.BufferSource.Receive() {
		return false
	}
	p.n++
	p.at = append(p.at, time.Now())
	return true
}

// timedDialog notes when each request reached the dialogue.
type timedDialog struct {
	recorder
	when []time.Time
}

func (d *timedDialog) Answer(ctx context.Context, q Request) Reply {
	d.mu.Lock()
	d.when = append(d.when, time.Now())
	d.mu.Unlock()
	return d.recorder.Answer(ctx, q)
}

// TestEarlyEnd runs a live-paced capture (10 ms chunks in real time). A
// complete sentence ("what is the battery level": no template goes on
// from "level") is taken 80 ms into the pause, not after the 300 ms
// hangover; "set the temperature to twenty", a pause of 150 ms, "one" is
// not cut at "twenty" (a number may go on) and is understood as 21 once
// the hangover ends. End of speech to intent is measured on the wall
// clock, from the time the audio up to where the VAD places the end of
// speech was complete (as a live microphone would have it) to the
// request reaching the dialogue.
func TestEarlyEnd(t *testing.T) {
	rec := recognizer(t)
	const rate = 16000
	level := speech(t, "what is the battery level", rate)
	twenty := speech(t, "set the temperature to twenty", rate)
	one := speech(t, "one", rate)
	// "one" starts (its first sample above -40 dBFS) 150 ms after
	// "twenty" ends.
	lead := 0.0
	for i, v := range one {
		if math.Abs(float64(v)) > 0.01 {
			lead = float64(i) / rate
			break
		}
	}
	oneAt := 4.0 + speechEnd(twenty, rate) + 0.150 - lead
	buf := stream(rate, 1, 7.5,
		part{0.5, level, []float32{1}},
		part{4.0, twenty, []float32{1}},
		part{oneAt, one, []float32{1}})
	d := &timedDialog{}
	a, err := New(Config{Trigger: Always}, rec, d, d, d.turn)
	if err != nil {
		t.Fatal(err)
	}
	src := &paced{BufferSource: audio.NewBufferSource(buf, rate/100)}
	if err := a.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if len(d.turns) != 2 || len(d.when) != 2 {
		t.Fatalf("%d turns, want 2: %+v", len(d.turns), d.turns)
	}
	for i, tu := range d.turns {
		// The audio up to the VAD's end was complete at this time on a
		// live microphone (chunks delivered late, while the loop was
		// busy recognising, do not move it).
		ended := src.start.Add(time.Duration(math.Ceil(tu.End*100)) * 10 * time.Millisecond)
		live := d.when[i].Sub(ended)
		t.Logf("turn %d: %s %v early %v: VAD end %.3f s, wait %v, recognition %v, latency after the wait %v: end of speech to intent %v (wall clock)",
			i, tu.Result.Intent, tu.Result.Slots, tu.Early, tu.End, tu.Wait, tu.Recognition, tu.Latency, live)
	}
	t0, t1 := d.turns[0], d.turns[1]
	// Recognition runs beside the loop from 20 ms into the pause, one
	// job at a time: the sentence is taken at 80 ms, or when its
	// recognition is done if that is later, which can be after the job
	// of an earlier pause still running: 20 ms + 2 recognitions at worst.
	// When that is longer than the hangover (under the race detector or
	// emulation: 0.2..2 s a recognition), the hangover ends the utterance
	// first.
	slow := 20*time.Millisecond+2*t0.Recognition > 280*time.Millisecond
	switch {
	case t0.Result.Intent != "GetBatteryLevel":
		t.Errorf("battery level: intent %q", t0.Result.Intent)
	case !slow && (!t0.Early || t0.Wait < 80*time.Millisecond || t0.Wait > max(100*time.Millisecond, 20*time.Millisecond+2*t0.Recognition+30*time.Millisecond)):
		t.Errorf("battery level: early %v wait %v (recognition %v), want it taken 80 ms into the pause or when recognised", t0.Early, t0.Wait, t0.Recognition)
	case slow && !t0.Early && t0.Wait < 290*time.Millisecond:
		t.Errorf("battery level: not early, yet taken %v into the pause, before the hangover", t0.Wait)
	}
	if t1.Result.Intent != "SetTemperature" || t1.Result.Slots["temperature"] != 21 || t1.Early || t1.Wait < 290*time.Millisecond {
		t.Errorf("temperature: intent %q slots %v early %v wait %v, want SetTemperature 21 after the hangover", t1.Result.Intent, t1.Result.Slots, t1.Early, t1.Wait)
	}
	st := a.Stats()
	if st.Early != map[bool]int64{true: 1, false: 0}[t0.Early] {
		t.Errorf("stats %+v: early ends do not match the turns", st)
	}
	t.Logf("recognitions during pauses: %d for 2 utterances", st.Speculated)
}

// TestWakePhrase: with the wake trigger, chatter and a request without
// the wake phrase get no answer; "hey car, what is my range" is answered;
// "hey car" alone is answered (responses.wake) and the next request,
// without the wake phrase, is handled; so is one that says the wake
// phrase again.
func TestWakePhrase(t *testing.T) {
	rec := recognizer(t)
	wake, err := rec.Wake()
	if err != nil {
		t.Fatal(err)
	}
	const rate = 16000
	buf := stream(rate, 1, 23,
		part{0.5, speech(t, "I think we should stop for coffee in the next town", rate), []float32{1}},
		part{4.5, speech(t, "what is the battery level", rate), []float32{1}},
		part{7.5, speech(t, "hey car, what is my range", rate), []float32{1}},
		part{11.0, speech(t, "hey car", rate), []float32{1}},
		part{13.5, speech(t, "open my window", rate), []float32{1}},
		part{17.0, speech(t, "hey car", rate), []float32{1}},
		part{19.5, speech(t, "hey car, what is the battery level", rate), []float32{1}})
	r := &recorder{}
	// No speaker: answers reach the turns at once. (With a speaker, the
	// audio until an answer has played is ignored, and a capture read
	// faster than real time runs ahead of the speaking goroutine.)
	a, err := New(Config{Trigger: Wake, WakeRecognizer: wake}, rec, r, nil, r.turn)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background(), audio.NewBufferSource(buf, rate/100)); err != nil {
		t.Fatal(err)
	}
	for _, tu := range r.turns {
		t.Logf("turn at %.2f s: %s %v understood %v conf %.2f wake conf %.2f words %v", tu.Start, tu.Result.Intent, tu.Result.Slots, tu.Result.Understood, tu.Result.Confidence, tu.Result.WakeConfidence, tu.Result.Words)
	}
	var said []string
	for _, tu := range r.turns {
		if tu.Reply.Answer != "" {
			said = append(said, tu.Reply.Answer)
		}
	}
	want := []string{"answer to GetRange", "answer to Wake", "answer to OpenWindow", "answer to Wake", "answer to GetBatteryLevel"}
	if strings.Join(said, "|") != strings.Join(want, "|") {
		t.Errorf("said %q, want %q", said, want)
	}
	if _, err := New(Config{Trigger: Wake}, rec, r, r, nil); err == nil {
		t.Error("wake trigger without a wake recogniser: no error")
	}
}
