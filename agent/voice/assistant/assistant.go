// Package assistant is the cabin voice loop: microphone audio in, spoken
// answers out. It mixes the capture channels to mono at 16 kHz, finds
// utterances with the VAD, recognises each against the active context,
// picks the speaker's cabin zone from the channel energies, asks the
// dialogue for an answer and says it.
//
// Listening is gated: with push-to-talk (a steering-wheel button on the
// CAN bus, or an API call) only an utterance that starts within Listen of
// a press is acted on; in always-listening mode every utterance is
// recognised and only understood ones are answered (the recogniser's
// confidence threshold keeps chatter out). While an answer plays, what the
// microphones hear is ignored (half duplex, no echo canceller), and a new
// press interrupts the answer.
package assistant

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/drivers/audio"
)

// Rate is the sample rate of the VAD and the recogniser.
const Rate = 16000

// Trigger says when the assistant listens.
type Trigger int

const (
	// PushToTalk acts on utterances that start within Listen of a press.
	PushToTalk Trigger = iota
	// Always acts on every understood utterance.
	Always
	// Wake acts on utterances that start with the context's wake phrase
	// ("hey car, what's my range"); the wake phrase alone is answered
	// (responses.wake) and arms listening like a press. A press works
	// too.
	Wake
)

func (t Trigger) String() string {
	switch t {
	case Always:
		return "always"
	case Wake:
		return "wake"
	}
	return "push-to-talk"
}

// ParseTrigger reads "push-to-talk", "always" or "wake".
func ParseTrigger(s string) (Trigger, error) {
	switch s {
	case "", "push-to-talk", "ptt":
		return PushToTalk, nil
	case "always":
		return Always, nil
	case "wake":
		return Wake, nil
	}
	return 0, fmt.Errorf("assistant: unknown trigger %q (push-to-talk, always, wake)", s)
}

// Recognizer turns one utterance (16 kHz mono) into an intent.
type Recognizer interface {
	Recognize(samples []float32) asr.Result
}

// Request is one utterance the dialogue must answer.
type Request struct {
	Result asr.Result
	Zone   audio.Zone
}

// Reply is the dialogue's answer; Answer "" says nothing.
type Reply struct {
	Answer string
	// Refused is the reason an action was refused ("" when none).
	Refused string
}

// Dialog answers requests. Answer is called from the loop's goroutine.
type Dialog interface {
	Answer(ctx context.Context, r Request) Reply
}

// Speaker says an answer; it returns when the answer has played or ctx
// ends.
type Speaker interface {
	Say(ctx context.Context, text string) error
}

// Turn is one handled utterance, for logs, the store and tests.
type Turn struct {
	// Start and End are the utterance's bounds in seconds of the stream.
	Start, End float64
	Zone       audio.Zone
	ZoneMargin float64 // dB; see audio.ZonePick
	Result     asr.Result
	Reply      Reply
	// Wait is the audio between the end of speech (the VAD's last active
	// frame) and the moment the loop took the utterance as ended: the
	// VAD's hangover, or less when the sentence was complete (EarlyEnd).
	Wait time.Duration
	// Latency is the time the loop spent after taking the utterance:
	// recognition (unless it ran during the pause) and zone pick. Wait +
	// Latency is end of speech to intent.
	Latency time.Duration
	// Early says the utterance was ended by EarlyEnd, not the hangover.
	Early bool
	// Recognition is the time the recogniser took, during the pause
	// (then not part of Latency) or after it.
	Recognition time.Duration
	// SpeakErr is why the answer could not be spoken (nil when it was, or
	// when there was nothing to say).
	SpeakErr error
}

// Config tunes the loop.
type Config struct {
	Trigger Trigger
	// WakeRecognizer listens for the wake phrase (asr Recognizer.Wake);
	// required with the Wake trigger.
	WakeRecognizer Recognizer
	// Listen is how long after a press an utterance may start; 6 s.
	Listen time.Duration
	// Lead lets an utterance start this much before the press (the
	// driver talks while pressing); 0.5 s.
	Lead time.Duration
	// MaxUtterance bounds one command; longer speech is not a command; 8 s.
	MaxUtterance time.Duration
	// Zones maps capture channels to cabin zones (nil: ZoneDriver for all).
	Zones []audio.Zone
	// VAD tunes the detector (zero: audio.DefaultVADConfig).
	VAD audio.VADConfig
	// MinModulation (dB, see Modulation) is what an utterance needs to be
	// taken for speech: steady noise that the VAD let through (a level
	// step: a window opened at speed) is dropped before recognition, and
	// does not use up a push-to-talk press. 4.2 dB by default (measured:
	// noise segments up to 3.9 dB, real and synthetic commands from
	// 4.6 dB); negative turns the check off.
	MinModulation float64
	// EarlyEnd ends an utterance after this much silence, instead of the
	// VAD's hangover (300 ms), when the recogniser understood a complete
	// sentence: one no template of the context goes on from (asr
	// Result.Complete; "open the window" may still get "please", "twenty"
	// may still get "one", and those wait for the hangover). Recognition
	// starts after a quarter of it (20 ms), so that the intent is ready
	// when it ends; a speaker who goes on makes it run again at the next
	// pause.
	// 80 ms by default; negative turns it off.
	EarlyEnd time.Duration
}

// Modulation is the standard deviation, in dB, of the 20 ms frame energies
// of x: speech rises and falls with its syllables (typically 6..15 dB),
// steady noise that the VAD let through (a fan, a window opened at speed)
// does not (1..3 dB).
func Modulation(x []float32) float64 {
	const frame = Rate / 50
	var n, sum, sq float64
	for i := 0; i+frame <= len(x); i += frame {
		var e float64
		for _, v := range x[i : i+frame] {
			e += float64(v) * float64(v)
		}
		db := 10 * math.Log10(e/frame+1e-12)
		n++
		sum += db
		sq += db * db
	}
	if n < 2 {
		return 0
	}
	m := sum / n
	return math.Sqrt(max(0, sq/n-m*m))
}

// Stats count what the loop did.
type Stats struct {
	Utterances, Ignored, Understood, NotUnderstood, Interrupted, TooLong int64
	// NotSpeech counts utterances dropped as steady noise (MinModulation).
	NotSpeech int64
	// Early counts utterances ended by EarlyEnd; Speculated counts
	// recognitions run during a pause (those whose speaker went on are
	// run again).
	Early, Speculated int64
}

// Assistant runs the voice loop. Create it with New, start Run on one
// goroutine, and call PushToTalk from any goroutine.
type Assistant struct {
	cfg    Config
	rec    Recognizer
	dlg    Dialog
	spk    Speaker
	onTurn func(Turn)

	// press is the stream position (16 kHz samples) of the last press
	// plus one, or 0; written by PushToTalk from any goroutine as a
	// request, applied by the loop at its current position.
	pressReq  atomic.Int64 // presses requested (count)
	pressAt   int64        // loop: position of the last applied press, -1 none
	pressSeen int64        // loop: presses applied

	streamPos atomic.Int64 // loop: 16 kHz samples read so far

	mu       sync.Mutex
	speaking context.CancelFunc
	speakEnd int64 // loop: stream position until which audio is our own answer
	spkDone  chan struct{}

	stats struct {
		utt, ignored, understood, not, interrupted, long, noise, early, spec atomic.Int64
	}

	// Speculative recognition during pauses runs on its own goroutine
	// (the loop keeps reading the microphones meanwhile): one job at a
	// time. recMu serialises the recognisers between it and handle.
	recMu   sync.Mutex
	jobs    chan specJob
	results chan specResult
	// Loop only: the job in flight, the last result, the last segment
	// tried.
	inFlight  *specKey
	spec      specResult
	specOK    bool
	specTried specKey
	tried     bool
}

// specKey names a speculative recognition: the open segment's bounds and
// whether the wake phrase recogniser read it.
type specKey struct {
	start, end int64
	wake       bool
}

type specJob struct {
	key specKey
	rec Recognizer
	x   []float32
}

type specResult struct {
	key specKey
	res asr.Result
	dur time.Duration
}

// New makes an assistant. rec and dlg are required; spk may be nil (answers
// only reach onTurn); onTurn may be nil.
func New(cfg Config, rec Recognizer, dlg Dialog, spk Speaker, onTurn func(Turn)) (*Assistant, error) {
	if rec == nil || dlg == nil {
		return nil, errors.New("assistant: a recogniser and a dialogue are required")
	}
	if cfg.Listen == 0 {
		cfg.Listen = 6 * time.Second
	}
	if cfg.Lead == 0 {
		cfg.Lead = 500 * time.Millisecond
	}
	if cfg.MaxUtterance == 0 {
		cfg.MaxUtterance = 8 * time.Second
	}
	switch {
	case cfg.Trigger != PushToTalk && cfg.Trigger != Always && cfg.Trigger != Wake:
		return nil, fmt.Errorf("assistant: invalid trigger %d", cfg.Trigger)
	case cfg.Trigger == Wake && cfg.WakeRecognizer == nil:
		return nil, errors.New("assistant: the wake trigger needs a wake phrase recogniser (a context with a wake phrase)")
	case cfg.Listen < 0 || cfg.Lead < 0 || cfg.MaxUtterance < time.Second || cfg.MaxUtterance > 30*time.Second:
		return nil, fmt.Errorf("assistant: invalid timing: listen %v, lead %v, max utterance %v (1..30 s)", cfg.Listen, cfg.Lead, cfg.MaxUtterance)
	}
	if cfg.MinModulation == 0 {
		cfg.MinModulation = 4.2
	}
	if cfg.EarlyEnd == 0 {
		cfg.EarlyEnd = 80 * time.Millisecond
	}
	if cfg.VAD.Features.SampleRate == 0 && cfg.VAD.OnsetDB == 0 {
		cfg.VAD = audio.DefaultVADConfig()
	}
	cfg.VAD.Features.SampleRate = Rate
	return &Assistant{cfg: cfg, rec: rec, dlg: dlg, spk: spk, onTurn: onTurn, pressAt: -1}, nil
}

// PushToTalk arms listening (and interrupts an answer being spoken). Safe
// from any goroutine: a CAN button handler or the service API.
func (a *Assistant) PushToTalk() {
	a.pressReq.Add(1)
	a.mu.Lock()
	if a.speaking != nil {
		a.speaking()
		a.stats.interrupted.Add(1)
	}
	a.mu.Unlock()
}

// Stats returns the counters so far.
func (a *Assistant) Stats() Stats {
	return Stats{a.stats.utt.Load(), a.stats.ignored.Load(), a.stats.understood.Load(),
		a.stats.not.Load(), a.stats.interrupted.Load(), a.stats.long.Load(), a.stats.noise.Load(),
		a.stats.early.Load(), a.stats.spec.Load()}
}

// Run reads src until it ends or ctx is done, and waits for the answer
// being spoken. A source at another rate is resampled; several channels
// are mixed for recognition and compared for the zone.
func (a *Assistant) Run(ctx context.Context, src audio.Source) error {
	f := src.Format()
	if err := f.Validate(); err != nil {
		return fmt.Errorf("assistant: capture: %w", err)
	}
	if a.cfg.Zones != nil && len(a.cfg.Zones) != f.Channels {
		return fmt.Errorf("assistant: %d zones for %d capture channels", len(a.cfg.Zones), f.Channels)
	}
	vad, err := audio.NewVAD(a.cfg.VAD)
	if err != nil {
		return fmt.Errorf("assistant: %w", err)
	}
	var rs *audio.Resampler
	if f.SampleRate != Rate {
		if rs, err = audio.NewResampler(f.SampleRate, Rate, audio.ResamplerConfig{}); err != nil {
			return fmt.Errorf("assistant: %w", err)
		}
	}
	// Rings hold the last MaxUtterance + 1 s: mono 16 kHz for the
	// recogniser, every channel at the source rate for the zone.
	keep := a.cfg.MaxUtterance + time.Second
	mono := newRing(int(keep.Seconds()*Rate), 1)
	multi := newRing(int(keep.Seconds()*float64(f.SampleRate)), f.Channels)
	var mix, mix16 []float32
	var segs []audio.Segment
	defer a.waitSpeech()
	if a.cfg.EarlyEnd > 0 {
		a.jobs, a.results = make(chan specJob, 1), make(chan specResult, 1)
		done := make(chan struct{})
		go a.speculate(done)
		defer func() {
			close(a.jobs)
			for {
				select {
				case <-a.results:
				case <-done:
					return
				}
			}
		}()
	}
	for src.Receive() {
		if ctx.Err() != nil {
			break
		}
		in := src.Samples()
		frames := len(in) / f.Channels
		mix = mixDown(mix[:0], in, f.Channels)
		multi.write(in[:frames*f.Channels])
		m16 := mix
		if rs != nil {
			mix16 = rs.Process(mix16[:0], mix)
			m16 = mix16
		}
		mono.write(m16)
		a.streamPos.Store(mono.pos)
		a.applyPress(mono.pos - int64(len(m16)))
		segs = vad.Process(segs[:0], m16)
		for _, s := range segs {
			a.handle(ctx, s, mono, multi, f.SampleRate, mono.pos-s.End, false)
		}
		if a.cfg.EarlyEnd > 0 {
			a.collect(false)
			if vad.InSpeech() {
				a.earlyEnd(ctx, vad, mono, multi, f.SampleRate)
			}
		}
	}
	if err := src.Err(); err != nil {
		return fmt.Errorf("assistant: capture: %w", err)
	}
	for _, s := range vad.Flush(segs[:0]) {
		a.handle(ctx, s, mono, multi, f.SampleRate, mono.pos-s.End, false)
	}
	return nil
}

// earlyEnd looks at the open segment during a pause: after EarlyEnd/4 of
// silence it recognises what was said so far; after EarlyEnd, if that was
// an understood, complete sentence, it ends the utterance there.
func (a *Assistant) earlyEnd(ctx context.Context, vad *audio.VAD, mono, multi *ring, srcRate int) {
	cur, _ := vad.Current()
	if cur.Len() < int64(vad.Config().MinSpeech.Seconds()*Rate) {
		return // the VAD would drop it as a click
	}
	// Silence as far as the VAD has looked (mono.pos runs up to a
	// frame's window ahead of it).
	silence := vad.Pos() - cur.End
	full := int64(a.cfg.EarlyEnd.Seconds() * Rate)
	if silence < full/4 {
		return
	}
	if a.cfg.Trigger == Wake && a.armed(cur) {
		// After the wake phrase alone, the request is read both with and
		// without the wake phrase (handle): wait for the hangover.
		return
	}
	key := specKey{cur.Start, cur.End, a.cfg.Trigger == Wake && !a.armed(cur)}
	if (!a.tried || a.specTried != key) && a.inFlight == nil {
		a.specTried, a.tried = key, true
		if x, rec, ok := a.admissible(cur, mono); ok {
			k := key
			a.inFlight = &k
			a.jobs <- specJob{key: key, rec: rec, x: append([]float32(nil), x...)}
			a.stats.spec.Add(1)
		}
	}
	if a.specOK && a.spec.key == key && silence >= full && a.spec.res.Understood && a.spec.res.Complete {
		vad.Cut()
		a.stats.early.Add(1)
		a.handle(ctx, cur, mono, multi, srcRate, silence, true)
	}
}

// speculate runs the recognitions earlyEnd asks for, one at a time,
// until jobs is closed.
func (a *Assistant) speculate(done chan<- struct{}) {
	defer close(done)
	for j := range a.jobs {
		a.recMu.Lock()
		t0 := time.Now()
		res := j.rec.Recognize(j.x)
		dur := time.Since(t0)
		a.recMu.Unlock()
		a.results <- specResult{key: j.key, res: res, dur: dur}
	}
}

// collect takes the speculative result, if one is ready (or, with wait,
// waits for the job in flight).
func (a *Assistant) collect(wait bool) {
	if a.inFlight == nil {
		return
	}
	var r specResult
	if wait {
		r = <-a.results
	} else {
		select {
		case r = <-a.results:
		default:
			return
		}
	}
	a.inFlight = nil
	a.spec, a.specOK = r, true
}

// recognize runs rec on x, serialised with the speculative recognitions.
func (a *Assistant) recognize(rec Recognizer, x []float32) asr.Result {
	a.recMu.Lock()
	defer a.recMu.Unlock()
	return rec.Recognize(x)
}

// admissible says whether segment s would be recognised (the checks of
// handle, without counting), and returns its audio and the recogniser.
func (a *Assistant) admissible(s audio.Segment, mono *ring) ([]float32, Recognizer, bool) {
	if a.speakingNow() || s.Start < a.speakEndPos() {
		return nil, nil, false
	}
	if a.cfg.Trigger == PushToTalk && !a.armed(s) {
		return nil, nil, false
	}
	if s.Len() > int64(a.cfg.MaxUtterance.Seconds()*Rate) || !mono.has(s.Start, s.End) {
		return nil, nil, false
	}
	x := mono.slice(s.Start, s.End)
	if a.cfg.MinModulation >= 0 && Modulation(x) < a.cfg.MinModulation {
		return nil, nil, false
	}
	return x, a.recognizerFor(s), true
}

// armed says whether s starts within Listen of a press (or of the wake
// phrase said alone).
func (a *Assistant) armed(s audio.Segment) bool {
	lead, listen := int64(a.cfg.Lead.Seconds()*Rate), int64(a.cfg.Listen.Seconds()*Rate)
	return a.pressAt >= 0 && s.Start >= a.pressAt-lead && s.Start <= a.pressAt+listen
}

// recognizerFor is the wake phrase recogniser for an unarmed segment in
// wake mode, the context's otherwise.
func (a *Assistant) recognizerFor(s audio.Segment) Recognizer {
	if a.cfg.Trigger == Wake && !a.armed(s) {
		return a.cfg.WakeRecognizer
	}
	return a.rec
}

// applyPress records presses requested since the last chunk at pos, the
// stream position of the chunk's start.
func (a *Assistant) applyPress(pos int64) {
	if n := a.pressReq.Load(); n != a.pressSeen {
		a.pressSeen = n
		a.pressAt = pos
	}
}

// handle acts on segment s, taken as ended wait samples after its end
// (early when EarlyEnd took it).
func (a *Assistant) handle(ctx context.Context, s audio.Segment, mono, multi *ring, srcRate int, wait int64, early bool) {
	a.stats.utt.Add(1)
	t0 := time.Now()
	// Our own answer, heard by the microphones: not a request.
	if a.speakingNow() || s.Start < a.speakEndPos() {
		a.stats.ignored.Add(1)
		return
	}
	armed := a.armed(s)
	if a.cfg.Trigger == PushToTalk && !armed {
		a.stats.ignored.Add(1)
		return
	}
	if s.Len() > int64(a.cfg.MaxUtterance.Seconds()*Rate) || !mono.has(s.Start, s.End) {
		a.stats.long.Add(1)
		return
	}
	x := mono.slice(s.Start, s.End)
	if a.cfg.MinModulation >= 0 && Modulation(x) < a.cfg.MinModulation {
		a.stats.noise.Add(1)
		return
	}
	rec := a.recognizerFor(s)
	listenWake := a.cfg.Trigger == Wake && !armed
	if armed {
		a.pressAt = -1 // one command per press
	}
	var res asr.Result
	var recog time.Duration
	key := specKey{s.Start, s.End, listenWake}
	if a.inFlight != nil && *a.inFlight == key {
		a.collect(true) // being recognised: wait for it
	}
	if a.specOK && a.spec.key == key {
		res, recog = a.spec.res, a.spec.dur // recognised during the pause
	} else {
		t1 := time.Now()
		res = a.recognize(rec, x)
		recog = time.Since(t1)
	}
	if a.cfg.Trigger == Wake && armed {
		// Asked after the wake phrase, the speaker may say it again
		// ("hey car, open my window"): the better of the two readings.
		t1 := time.Now()
		if r2 := a.recognize(a.cfg.WakeRecognizer, x); r2.Understood && (!res.Understood || r2.Confidence > res.Confidence) {
			res, listenWake = r2, true
		}
		recog += time.Since(t1)
	}
	if listenWake && res.Understood && res.Intent == intent.WakeIntent {
		a.pressAt = s.End // the wake phrase alone: listen for the request
	}
	a.specOK, a.tried = false, false
	zone, margin := audio.ZoneDriver, 0.0
	if a.cfg.Zones != nil {
		// The segment at the source rate, in the multi-channel ring.
		ss := audio.Segment{Start: s.Start * int64(srcRate) / Rate, End: s.End * int64(srcRate) / Rate}
		if multi.has(ss.Start, ss.End) {
			b := audio.Buffer{Format: audio.Format{SampleRate: srcRate, Channels: multi.ch}, Data: multi.slice(ss.Start, ss.End)}
			if p, err := audio.PickZone(b, audio.Segment{Start: 0, End: ss.Len()}, a.cfg.Zones); err == nil {
				zone, margin = p.Zone, p.MarginDB
			}
		}
	}
	turn := Turn{Start: float64(s.Start) / Rate, End: float64(s.End) / Rate, Zone: zone, ZoneMargin: margin,
		Result: res, Latency: time.Since(t0), Early: early, Recognition: recog,
		Wait: time.Duration(wait) * time.Second / Rate}
	if res.Understood {
		a.stats.understood.Add(1)
	} else {
		a.stats.not.Add(1)
	}
	// Always listening, or waiting for the wake phrase: what was not
	// understood was most likely not meant for the car; stay silent.
	if res.Understood || armed {
		turn.Reply = a.dlg.Answer(ctx, Request{Result: res, Zone: zone})
	}
	if a.onTurn != nil && turn.Reply.Answer == "" {
		a.onTurn(turn)
	}
	if turn.Reply.Answer != "" {
		a.speak(ctx, turn)
	}
}

func (a *Assistant) speakingNow() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.speaking != nil
}

func (a *Assistant) speakEndPos() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.speakEnd
}

// speak says the answer on its own goroutine, so that the capture keeps
// draining; the microphones' audio until it ends is ignored.
func (a *Assistant) speak(ctx context.Context, turn Turn) {
	if a.spk == nil {
		if a.onTurn != nil {
			a.onTurn(turn)
		}
		return
	}
	a.waitSpeech()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	a.mu.Lock()
	a.speaking, a.spkDone = cancel, done
	a.mu.Unlock()
	go func() {
		defer close(done)
		err := a.spk.Say(sctx, turn.Reply.Answer)
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			err = nil // interrupted by a press
		}
		turn.SpeakErr = err
		a.mu.Lock()
		a.speaking = nil
		// Ignore what the microphones picked up until now (plus the
		// VAD's hangover, so the answer's tail is not a request).
		a.speakEnd = a.streamPos.Load() + int64(a.cfg.VAD.Hangover.Seconds()*Rate)
		a.mu.Unlock()
		cancel()
		if a.onTurn != nil {
			a.onTurn(turn)
		}
	}()
}

// waitSpeech waits for the answer being spoken, if any.
func (a *Assistant) waitSpeech() {
	a.mu.Lock()
	done := a.spkDone
	a.mu.Unlock()
	if done != nil {
		<-done
	}
}

func mixDown(dst, in []float32, ch int) []float32 {
	if ch == 1 {
		return append(dst, in...)
	}
	frames := len(in) / ch
	inv := 1 / float32(ch)
	for i := range frames {
		var s float32
		for c := range ch {
			s += in[i*ch+c]
		}
		dst = append(dst, s*inv)
	}
	return dst
}

// ring keeps the last frames of an interleaved stream; pos counts frames
// written since the start.
type ring struct {
	buf []float32
	ch  int
	pos int64
	out []float32
}

func newRing(frames, ch int) *ring { return &ring{buf: make([]float32, frames*ch), ch: ch} }

func (r *ring) frames() int64 { return int64(len(r.buf) / r.ch) }

func (r *ring) write(x []float32) {
	n := len(x) / r.ch
	if over := n - int(r.frames()); over > 0 {
		x = x[over*r.ch:]
		r.pos += int64(over)
		n -= over
	}
	at := int(r.pos%r.frames()) * r.ch
	k := copy(r.buf[at:], x)
	copy(r.buf, x[k:])
	r.pos += int64(n)
}

// has reports whether frames [start, end) are still in the ring.
func (r *ring) has(start, end int64) bool {
	return start >= 0 && start <= end && end <= r.pos && start >= r.pos-r.frames()
}

// slice copies frames [start, end) out (into a buffer reused by the next
// call).
func (r *ring) slice(start, end int64) []float32 {
	r.out = r.out[:0]
	for f := start; f < end; f++ {
		at := int(f%r.frames()) * r.ch
		r.out = append(r.out, r.buf[at:at+r.ch]...)
	}
	return r.out
}
