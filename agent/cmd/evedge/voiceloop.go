package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/assistant"
	"github.com/evedge/evedge/agent/voice/contexts"
	"github.com/evedge/evedge/agent/voice/dialog"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/agent/voice/tts"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
	"github.com/evedge/evedge/drivers/audio/malgo"
	"github.com/evedge/evedge/drivers/can"
	voicemodel "github.com/evedge/evedge/models/voice"
)

// The cabin voice assistant inside `evedge run`: the dialogue (always,
// when the vehicle has a DBC: the service API's /voice/ask uses it) and,
// with a microphone, the listening loop (board [voice], or --voice-wav).

// voiceOptions are run's voice settings: the board's [voice] section with
// the flags over it.
type voiceOptions struct {
	board   *board.Profile
	lang    intent.Language
	trigger assistant.Trigger
	ptt     string // VSS path of the push-to-talk button
	model   string // recogniser folder
	listen  bool   // run the microphone loop
	wav     string // listen to this WAV file instead of the microphone
}

// voiceSettings reads the board's [voice] section with the flags over it.
func voiceSettings(prof *board.Profile, wav, lang, trigger string) (voiceOptions, error) {
	v := prof.Voice
	o := voiceOptions{board: prof, lang: intent.English, ptt: v.PTT, model: v.Model, listen: v.Enabled || wav != "", wav: wav}
	if v.Language != "" {
		o.lang = intent.Language(v.Language)
	}
	if lang != "" {
		o.lang = intent.Language(lang)
		if !o.lang.Supported() {
			return o, usageError{fmt.Errorf("--voice-lang %q: expected en, zh, de, es or fr", lang)}
		}
	}
	t := v.Trigger
	if trigger != "" {
		t = trigger
	}
	var err error
	if o.trigger, err = assistant.ParseTrigger(t); err != nil {
		return o, usageError{fmt.Errorf("--voice-trigger: %w", err)}
	}
	return o, nil
}

// voiceRuntime is what the agent runs for voice.
type voiceRuntime struct {
	dl  *dialog.Dialogue
	ptt *pttProxy // nil when nothing listens
}

// busSink sends a frame on the bus it names.
type busSink map[uint8]can.Sink

func (m busSink) WriteFrame(f can.Frame) error {
	s, ok := m[f.Bus]
	if !ok {
		return fmt.Errorf("no writable CAN interface for bus %d", f.Bus)
	}
	return s.WriteFrame(f)
}

// tableState reads the live table for the dialogue; ages run on the data
// clock, so a replay or a fast sim ages values as the car does.
type tableState struct{ a *agent.Agent }

func (s tableState) Value(path string) (float64, time.Duration, bool) {
	v, ok := s.a.Table().Get(path)
	if !ok || v.Count == 0 {
		return 0, 0, false
	}
	return v.Value, max(0, s.a.DataNow().Sub(v.Time)), true
}

// liveFaults gives the dialogue the faults active now: GB/T alarms and
// model detections by their knowledge-base title, trouble codes by
// their meaning (askFaults formats both).
type liveFaults struct{ dg *liveDiag }

func (l liveFaults) ActiveFaults(lang intent.Language) ([]dialog.Fault, error) {
	f := askFaults{kb: kbOrNil()}
	if f.kb == nil {
		return nil, errors.New("the fault knowledge base is not available")
	}
	if l.dg == nil {
		return nil, errors.New("fault detection is off")
	}
	f.ids, f.dtcs = l.dg.faultIDs(), l.dg.dtcs.active()
	return f.ActiveFaults(lang)
}

// newVoiceDialogue builds the dialogue over the agent's live state.
func newVoiceDialogue(a *agent.Agent, db *signals.Database, prof *board.Profile, sink can.Sink, dg *liveDiag) (*dialog.Dialogue, error) {
	ctxs, err := intent.LoadAll(contexts.FS, "car.*.yaml")
	if err != nil {
		return nil, err
	}
	// Auto-detection tries the languages in intent.Languages order.
	slices.SortStableFunc(ctxs, func(a, b *intent.Context) int {
		return slices.Index(intent.Languages, a.Language) - slices.Index(intent.Languages, b.Language)
	})
	var writes []board.Write
	if prof != nil {
		writes = prof.Writes
	}
	cfg := dialog.DefaultConfig()
	if prof != nil && prof.Voice.Dialog != "" {
		if cfg, err = dialog.LoadConfig(prof.Voice.Dialog); err != nil {
			return nil, err
		}
	}
	lf := liveFaults{dg: dg}
	return dialog.New(dialog.Options{Config: cfg, Contexts: ctxs, DBC: db, Writes: writes,
		Sink: sink, State: tableState{a}, Faults: lf, Now: a.DataNow})
}

// startVoice builds the dialogue and, when asked to listen, the loop; it
// returns the sources the agent runs (the loop, the button). Failing
// audio degrades to the dialogue alone, with the reason logged: the car
// still answers through the API.
func startVoice(ctx context.Context, o voiceOptions, a *agent.Agent, db *signals.Database, sink can.Sink, dg *liveDiag, st *store.Store, hold *storeRecorder, log *slog.Logger) (*voiceRuntime, []agent.Source, error) {
	dl, err := newVoiceDialogue(a, db, o.board, sink, dg)
	if err != nil {
		return nil, nil, err
	}
	rt := &voiceRuntime{dl: dl}
	if !o.listen {
		return rt, nil, nil
	}
	// A bad --voice-wav is the user's mistake: fail the start.
	var wav *audio.WAV
	if o.wav != "" {
		if wav, err = audio.ReadWAVFile(o.wav); err != nil {
			return nil, nil, usageError{fmt.Errorf("--voice-wav: %w", err)}
		}
	}
	// The rest (building the recogniser on the first start takes
	// seconds, opening audio devices may block) runs beside the agent,
	// so that recording starts at once.
	rt.ptt = &pttProxy{}
	turns := &voiceTurns{st: st, hold: hold, log: log, now: a.DataNow}
	srcs := []agent.Source{{Name: "voice " + string(o.lang), Values: func(ctx context.Context, _ func([]signals.Value, int64)) error {
		as, capture, stop, err := openVoiceLoop(ctx, o, wav, rt.dl, turns, log)
		if err != nil {
			log.Error("voice: not listening, the car answers through the API only", "err", err)
			return nil
		}
		defer stop()
		rt.ptt.set(as)
		err = as.Run(ctx, capture)
		st := as.Stats()
		log.Info("voice: listening ended", "utterances", st.Utterances, "understood", st.Understood, "not_understood", st.NotUnderstood, "ignored", st.Ignored, "early_end", st.Early, "not_speech", st.NotSpeech, "err", err)
		if err != nil {
			log.Error("voice: the listening loop stopped; the agent goes on", "err", err)
		}
		return nil
	}}}
	if o.ptt != "" {
		srcs = append(srcs, agent.Source{Name: "voice button " + o.ptt, Values: func(ctx context.Context, _ func([]signals.Value, int64)) error {
			watchButton(ctx, a.Table(), o.ptt, 50*time.Millisecond, rt.ptt.PushToTalk)
			return nil
		}})
	}
	return rt, srcs, nil
}

// openVoiceLoop opens the recogniser (building it when missing), the
// microphone (or the WAV file) and the speaker, and makes the loop; stop
// closes the devices.
func openVoiceLoop(ctx context.Context, o voiceOptions, wav *audio.WAV, dl *dialog.Dialogue, turns *voiceTurns, log *slog.Logger) (*assistant.Assistant, audio.Source, func(), error) {
	rec, c, err := openRecognizer(ctx, o.model, o.lang, log)
	if err != nil {
		return nil, nil, nil, err
	}
	var capture audio.Source
	var closers []func() error
	stop := func() {
		for _, f := range closers {
			if err := f(); err != nil {
				log.Warn("voice: closing an audio device", "err", err)
			}
		}
	}
	var zones []audio.Zone
	if wav != nil {
		capture = &pacedSource{Source: audio.NewBufferSource(wav.Buffer, wav.SampleRate/100), ctx: ctx, rate: wav.SampleRate, ch: wav.Channels}
	} else {
		dev := o.board.Audio.Capture[0]
		mc, err := malgo.OpenCapture(malgo.Config{Device: audioDevice(dev.Device), SampleRate: dev.SampleRate, Channels: dev.Channels})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("microphone %q: %w", dev.Device, err)
		}
		capture = mc
		closers = append(closers, mc.Close)
		context.AfterFunc(ctx, func() { mc.Close() }) // unblocks Receive
		for _, z := range dev.Zones {
			zz, _ := audio.ParseZone(z)
			zones = append(zones, zz)
		}
	}
	var spk assistant.Speaker
	if len(o.board.Audio.Playback) > 0 && wav == nil {
		dev := o.board.Audio.Playback[0]
		pb, err := malgo.OpenPlayback(malgo.Config{Device: audioDevice(dev.Device), SampleRate: dev.SampleRate, Channels: dev.Channels})
		if err != nil {
			log.Error("voice: no speaker, answers are logged only", "device", dev.Device, "err", err)
		} else {
			closers = append(closers, pb.Close)
			spk = &voiceSpeaker{s: tts.Speaker{Player: pb}, voice: asr.EspeakVoice(o.lang), ctx: c}
		}
	}
	var wake assistant.Recognizer
	if o.trigger == assistant.Wake {
		w, err := rec.Wake()
		if err != nil {
			stop()
			return nil, nil, nil, fmt.Errorf("trigger wake: %w (add a wake: list to the context, or rebuild %s)", err, o.model)
		}
		wake = w
	}
	as, err := assistant.New(assistant.Config{Trigger: o.trigger, Zones: zones, WakeRecognizer: wake, EarlyEnd: o.board.Voice.EarlyEnd.Duration}, rec,
		dialogAdapter{dl: dl, lang: o.lang}, spk, turns.record)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	log.Info("voice: listening", "lang", o.lang, "trigger", o.trigger, "ptt", o.ptt, "zones", len(zones), "speaker", spk != nil)
	return as, capture, stop, nil
}

// pttProxy is push-to-talk before the loop is up: presses before then
// are dropped (the loop is not listening yet).
type pttProxy struct {
	as atomic.Pointer[assistant.Assistant]
}

func (p *pttProxy) set(as *assistant.Assistant) { p.as.Store(as) }

// PushToTalk implements service.PushToTalker.
func (p *pttProxy) PushToTalk() {
	if as := p.as.Load(); as != nil {
		as.PushToTalk()
	}
}

// pacedSource plays a recording at the pace a microphone would deliver
// it, so that the car's state moves on while it is "spoken".
type pacedSource struct {
	audio.Source
	ctx      context.Context
	rate, ch int
	start    time.Time
	frames   int64
}

func (p *pacedSource) Receive() bool {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	due := p.start.Add(time.Duration(float64(p.frames) / float64(p.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		select {
		case <-p.ctx.Done():
			return false
		case <-time.After(d):
		}
	}
	if !p.Source.Receive() {
		return false
	}
	p.frames += int64(len(p.Samples()) / p.ch)
	return true
}

func audioDevice(d string) string {
	if d == "default" {
		return ""
	}
	return d
}

// openRecognizer opens the recogniser folder, building it from the
// embedded car context and acoustic model when it is missing (espeak-ng
// pronounces the words; a few seconds).
func openRecognizer(ctx context.Context, dir string, lang intent.Language, log *slog.Logger) (*asr.Recognizer, *intent.Context, error) {
	embedded, embErr := contexts.FS.ReadFile("car." + string(lang) + ".yaml")
	_, err := os.Stat(filepath.Join(dir, asr.ManifestFile))
	if err == nil && embErr == nil {
		// A folder built here from an older embedded context (an
		// upgrade) is built again; one built from the integrator's own
		// context is left alone.
		if old, rerr := os.ReadFile(filepath.Join(dir, "source-car."+string(lang)+".yaml")); rerr == nil && !bytes.Equal(old, embedded) {
			log.Info("voice: the car context changed since the recogniser was built; building it again", "dir", dir)
			err = os.ErrNotExist
		}
	}
	if err != nil {
		src, err := embedded, embErr
		if err != nil {
			return nil, nil, fmt.Errorf("no car context for language %q", lang)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
		// The source is kept under its name only once the build has
		// succeeded, so that a failed rebuild is tried again next start.
		p := filepath.Join(dir, "source-car."+string(lang)+".yaml")
		tmp := p + ".building"
		if err := os.WriteFile(tmp, src, 0o644); err != nil {
			return nil, nil, err
		}
		t0 := time.Now()
		if _, err := asr.Build(ctx, asr.Espeak{}, tmp, voicemodel.AM, voicemodel.Meta, dir); err != nil {
			os.Remove(tmp)
			return nil, nil, fmt.Errorf("building the recogniser in %s: %w", dir, err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return nil, nil, err
		}
		log.Info("voice: recogniser built", "dir", dir, "lang", lang, "took", time.Since(t0).Round(time.Millisecond))
	}
	rec, err := asr.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	return rec, rec.Context, nil
}

// dialogAdapter answers the loop's requests with the dialogue, in the
// assistant's language.
type dialogAdapter struct {
	dl   *dialog.Dialogue
	lang intent.Language
}

func (d dialogAdapter) Answer(_ context.Context, r assistant.Request) assistant.Reply {
	rep := d.dl.Handle(dialog.Request{Text: strings.Join(r.Result.Words, " "), Lang: d.lang, Zone: r.Zone, Understood: r.Result.Understood,
		Result: intent.Result{Intent: r.Result.Intent, Slots: r.Result.Slots}})
	return assistant.Reply{Answer: rep.Answer, Refused: string(rep.Refused)}
}

// voiceSpeaker says answers with espeak-ng; Chinese through its pinyin.
type voiceSpeaker struct {
	s     tts.Speaker
	voice string
	ctx   *intent.Context
}

func (v *voiceSpeaker) Say(ctx context.Context, text string) error {
	_, err := v.s.Say(ctx, v.voice, v.ctx.Pronounce(text))
	return err
}

// voiceTurns logs each turn and keeps it in the store as a "voice" event:
// what was understood and done, never the audio.
type voiceTurns struct {
	mu   sync.Mutex
	st   *store.Store
	hold *storeRecorder // stamps wait for a sane clock (nil: at once)
	log  *slog.Logger
	now  func() time.Time
}

// voiceEvent is the body of a "voice" event.
type voiceEvent struct {
	Understood bool           `json:"understood"`
	Intent     string         `json:"intent,omitempty"`
	Slots      map[string]any `json:"slots,omitempty"`
	Zone       string         `json:"zone"`
	Answer     string         `json:"answer,omitempty"`
	Refused    string         `json:"refused,omitempty"`
	LatencyMs  float64        `json:"latency_ms"` // end of speech (the VAD's) to intent
	EarlyEnd   bool           `json:"early_end"`  // a complete sentence ended the utterance before the hangover
	SpeakError string         `json:"speak_error,omitempty"`
}

func (v *voiceTurns) record(t assistant.Turn) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ev := voiceEvent{Understood: t.Result.Understood, Intent: t.Result.Intent, Slots: t.Result.Slots, Zone: t.Zone.String(),
		Answer: t.Reply.Answer, Refused: t.Reply.Refused, LatencyMs: float64((t.Wait + t.Latency).Microseconds()) / 1000, EarlyEnd: t.Early}
	if t.SpeakErr != nil {
		ev.SpeakError = t.SpeakErr.Error()
	}
	v.log.Info("voice", "understood", ev.Understood, "intent", ev.Intent, "slots", ev.Slots, "zone", ev.Zone,
		"answer", ev.Answer, "refused", ev.Refused, "latency_ms", ev.LatencyMs, "early_end", ev.EarlyEnd, "speak_error", ev.SpeakError)
	if v.st != nil {
		body, _ := json.Marshal(ev)
		t := v.now()
		v.hold.Stamped(t, func(shift time.Duration) {
			if _, err := v.st.AddEvent(store.Event{Time: t.Add(shift), Kind: "voice", Source: "voice", Body: body}); err != nil {
				v.log.Warn("voice: event not stored", "err", err)
			}
		})
	}
}

// watchButton polls the table for the push-to-talk button and presses on
// each rising edge (the value turning non-zero in a newer sample). A
// steering-wheel button is held for 100 ms or more and its message
// repeats at 10..100 Hz; polling at 20 Hz sees every press.
func watchButton(ctx context.Context, t *signals.Table, path string, every time.Duration, press func()) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last time.Time
	down := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s, ok := t.Get(path)
		if !ok || s.Count == 0 || !s.Time.After(last) {
			continue
		}
		last = s.Time
		on := s.Value != 0
		if on && !down {
			press()
		}
		down = on
	}
}
