package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/voice/contexts"
	"github.com/evedge/evedge/agent/voice/dialog"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
	"github.com/evedge/evedge/drivers/can"
)

// The voice tests run the real dialogue (agent/voice/dialog) with the
// real car contexts, the sim car's DBC and board profile, behind the real
// TLS server. Three things are stand-ins, each said where it is defined:
// the CAN sink, the push-to-talk button and the lock around the state.

var (
	voiceDBC   = sync.OnceValues(func() (*signals.Database, error) { return signals.Load("../../board/sim/sim-ev.dbc") })
	voiceBoard = sync.OnceValues(func() (*board.Profile, error) { return board.Load("../../board/sim.toml", nil) })
	voiceCtxs  = sync.OnceValues(func() ([]*intent.Context, error) {
		cs, err := intent.LoadAll(contexts.FS, "car.*.yaml")
		if err != nil {
			return nil, err
		}
		// The agent's order: en, zh, de, es, fr.
		slices.SortStableFunc(cs, func(a, b *intent.Context) int {
			return slices.Index(intent.Languages, a.Language) - slices.Index(intent.Languages, b.Language)
		})
		return cs, nil
	})
)

// parked is a car parked in P at standstill, every value fresh, the child
// locks off. The answers below are worked out from these numbers: SOC
// 76.4 -> 76; 312.4 km -> 310 (spoken to 5 km).
func parked() map[string]dialog.StaticValue {
	v := func(x float64) dialog.StaticValue { return dialog.StaticValue{Value: x} }
	return map[string]dialog.StaticValue{
		"Vehicle.Speed": v(0),
		"Vehicle.Powertrain.Transmission.SelectedGear":               v(126),
		"Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed": v(76.4),
		"Vehicle.Powertrain.Range":                                   v(312400),
		"Vehicle.Powertrain.TractionBattery.Charging.IsCharging":     v(0),
		"Vehicle.Cabin.HVAC.AmbientAirTemperature":                   v(21.6),
		"Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature":         v(20),
		"Vehicle.Cabin.IsWindowChildLockEngaged":                     v(0),
		"Vehicle.Cabin.Door.Row2.DriverSide.IsChildLockActive":       v(0),
		"Vehicle.Cabin.Door.Row2.PassengerSide.IsChildLockActive":    v(0),
	}
}

// lockedState is the real dialog.StaticState behind a mutex: the test
// changes the car between requests while the server's goroutines read it,
// and the race detector does not see the ordering a TCP round trip gives.
type lockedState struct {
	mu sync.Mutex
	st dialog.StaticState
}

func (s *lockedState) Value(path string) (float64, time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Value(path)
}

func (s *lockedState) set(path string, v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Values[path] = dialog.StaticValue{Value: v}
}

// frameSink stands in for the CAN bus (a unit test has none; `evedge
// ask` tests drive the simulated car through the decode path): it keeps
// the frames the dialogue sends.
type frameSink struct {
	mu     sync.Mutex
	frames []can.Frame
}

func (s *frameSink) WriteFrame(f can.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, f)
	return nil
}

func (s *frameSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.frames)
}

// pressCounter stands in for the microphone loop (assistant.Assistant
// needs a recogniser model and an audio device): it counts the presses.
type pressCounter struct{ n atomic.Int32 }

func (p *pressCounter) PushToTalk() { p.n.Add(1) }

// dialogVoice adapts a dialog.Dialogue to VoiceDialogue the way the
// agent's adapter does (agent/cmd/evedge/voiceapi.go, package main, which
// a test here cannot import): zone "" is the driver, frames in candump
// syntax on the board's interface names.
type dialogVoice struct {
	d      *dialog.Dialogue
	ifaces map[uint8]string
	calls  atomic.Int32
}

func (v *dialogVoice) Ask(ctx context.Context, req VoiceRequest) (VoiceReply, error) {
	v.calls.Add(1)
	zone := audio.ZoneDriver
	if req.Zone != "" {
		z, err := audio.ParseZone(req.Zone)
		if err != nil {
			return VoiceReply{}, err
		}
		zone = z
	}
	rep := v.d.Ask(req.Text, intent.Language(req.Lang), zone)
	out := VoiceReply{Text: rep.Text, Lang: string(rep.Lang), Zone: rep.Zone.String(), Understood: rep.Understood,
		Intent: rep.Intent, Slots: map[string]any{}, Answer: rep.Answer}
	for k, s := range rep.Slots {
		out.Slots[k] = s
	}
	if rep.Refused != "" {
		r := string(rep.Refused)
		out.Refused = &r
	}
	for _, a := range rep.Actions {
		f := a.Frame
		va := VoiceAction{Kind: string(a.Kind), Message: a.Message, Cancel: a.Undo, Sent: a.Sent, Signals: map[string]any{},
			Frame: v.ifaces[f.Bus] + " " + string(can.AppendCompact(nil, &f))}
		for _, s := range a.Signals {
			if s.Label != "" {
				va.Signals[s.Name] = s.Label
			} else {
				va.Signals[s.Name] = s.Value
			}
		}
		out.Actions = append(out.Actions, va)
	}
	return out, nil
}

// failingVoice is a dialogue that cannot answer.
type failingVoice struct{}

func (failingVoice) Ask(context.Context, VoiceRequest) (VoiceReply, error) {
	return VoiceReply{}, errors.New("dialogue stopped")
}

const ownerToken = "hmi-owner-token"

// voiceEnv is a running service with a voice dialogue over a state the
// test sets; the clock moves a second per turn, so the board's rate
// limits never refuse by accident on a slow machine.
type voiceEnv struct {
	*env
	state *lockedState
	sink  *frameSink
	voice *dialogVoice
	ptt   *pressCounter
}

type voiceOpts struct {
	noVoice, noPTT bool
	voice          VoiceDialogue // instead of the real dialogue
}

func newVoiceEnv(t *testing.T, o voiceOpts) *voiceEnv {
	t.Helper()
	db, err := voiceDBC()
	if err != nil {
		t.Fatal(err)
	}
	prof, err := voiceBoard()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := voiceCtxs()
	if err != nil {
		t.Fatal(err)
	}
	e := &voiceEnv{env: &env{dir: t.TempDir(), done: make(chan error, 1)}, state: &lockedState{st: dialog.StaticState{Values: parked()}},
		sink: &frameSink{}, ptt: &pressCounter{}}
	var tick atomic.Int64
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	d, err := dialog.New(dialog.Options{Config: dialog.DefaultConfig(), Contexts: cs, DBC: db, Writes: prof.Writes, Sink: e.sink,
		State: e.state, Now: func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	e.voice = &dialogVoice{d: d, ifaces: map[uint8]string{}}
	for _, c := range prof.CAN {
		e.voice.ifaces[uint8(c.Bus)] = c.Interface
	}
	if err := DevCerts(e.dir, nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	t.Cleanup(func() { st.Close() })
	var toks []Token
	for _, x := range []struct{ name, role, secret string }{{"bench", RoleWorkshop, testToken}, {"hmi", RoleOwner, ownerToken}} {
		sum := sha256.Sum256([]byte(x.secret))
		tok, err := ParseToken(x.name + ":" + x.role + ":" + hex.EncodeToString(sum[:]))
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	so := Options{Addr: "127.0.0.1:0", TLSDir: e.dir, Store: st, Tokens: toks}
	switch {
	case o.voice != nil:
		so.Voice = o.voice
	case !o.noVoice:
		so.Voice = e.voice
	}
	if !o.noPTT {
		so.PushToTalk = e.ptt
	}
	srv, err := New(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	go func() { e.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-e.done
	})
	return e
}

// post sends body to path with a Content-Type (none when ""), and returns
// the status, the body of a success, and the error message of a failure.
func post(t *testing.T, c *Client, path, ctype string, body []byte) (int, []byte, string) {
	t.Helper()
	hdr := http.Header{}
	if ctype != "" {
		hdr.Set("Content-Type", ctype)
	}
	resp, err := c.send(context.Background(), http.MethodPost, path, nil, hdr, body)
	if err != nil {
		var api *APIError
		if !errors.As(err, &api) {
			t.Fatalf("POST %s: %v", path, err)
		}
		return api.Status, nil, api.Msg
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, ""
}

func askJSON(t *testing.T, c *Client, req any) VoiceReply {
	t.Helper()
	b, _ := json.Marshal(req)
	status, body, msg := post(t, c, "/api/v1/voice/ask", "application/json", b)
	if status != http.StatusOK {
		t.Fatalf("ask %s: %d %s", b, status, msg)
	}
	var rep VoiceReply
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("reply %s: %v", body, err)
	}
	return rep
}

func (e *voiceEnv) voiceAudit(t *testing.T, path string) []AuditEntry {
	t.Helper()
	var out []AuditEntry
	for _, a := range e.audit(t) {
		if a.Path == path {
			out = append(out, a)
		}
	}
	return out
}

// TestVoiceAsk: the owner's token asks questions and gets the dialogue's
// answers from the car's state, in the language of the text; the JSON has
// every field of an `evedge ask` line (empty slots and actions as {} and
// [], refused null); the workshop and owner certificates work too.
func TestVoiceAsk(t *testing.T) {
	e := newVoiceEnv(t, voiceOpts{})
	owner := e.client(t, "", ownerToken)

	status, body, msg := post(t, owner, "/api/v1/voice/ask", "application/json", []byte(`{"text": "What's my range?", "lang": "en"}`))
	if status != 200 {
		t.Fatalf("ask: %d %s", status, msg)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("reply %s: %v", body, err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, ","); got != "actions,answer,intent,lang,ms,refused,slots,text,understood,zone" {
		t.Errorf("reply fields %s", got)
	}
	if string(raw["refused"]) != "null" || string(raw["actions"]) != "[]" || string(raw["slots"]) != "{}" {
		t.Errorf("refused %s actions %s slots %s, want null [] {}", raw["refused"], raw["actions"], raw["slots"])
	}
	var rep VoiceReply
	json.Unmarshal(body, &rep)
	if rep.Text != "What's my range?" || rep.Lang != "en" || rep.Zone != "driver" || !rep.Understood || rep.Intent != "GetRange" ||
		rep.Answer != "Battery at 76 percent, about 310 kilometres of range." || rep.MS < 0 {
		t.Errorf("reply %+v", rep)
	}

	for _, tc := range []struct {
		c                          *Client
		req                        VoiceRequest
		lang, intent, zone, answer string
	}{
		{owner, VoiceRequest{Text: "还能开多远"}, "zh", "GetRange", "driver", "电量百分之76，大约还能行驶310公里。"},
		{e.client(t, RoleOwner, ""), VoiceRequest{Text: "Wie voll ist der Akku?", Zone: "passenger"}, "de", "GetBatteryLevel", "passenger", "Der Akku ist bei 76 Prozent."},
		{e.client(t, RoleWorkshop, ""), VoiceRequest{Text: "what's the cabin temperature", Lang: "en"}, "en", "GetCabinTemperature", "driver", "It's 22 degrees inside."},
		{e.client(t, "", testToken), VoiceRequest{Text: "open the boot"}, "en", "", "driver", "Sorry, I didn't catch that."},
	} {
		rep, err := tc.c.Ask(context.Background(), tc.req)
		if err != nil {
			t.Errorf("%+v: %v", tc.req, err)
			continue
		}
		if rep.Lang != tc.lang || rep.Intent != tc.intent || rep.Zone != tc.zone || rep.Answer != tc.answer || rep.Understood != (tc.intent != "") {
			t.Errorf("%+v: %+v, want %s %s %s %q", tc.req, rep, tc.lang, tc.intent, tc.zone, tc.answer)
		}
	}
	if n := e.sink.count(); n != 0 {
		t.Errorf("questions sent %d frames", n)
	}
}

// TestVoiceActionsAndRefusals: an action from the API passes the
// dialogue's safety gate like one from the microphone: sent when nothing
// stands in the way (the frame from the sim DBC, the window of the
// speaker's zone), refused with its reason and nothing sent otherwise;
// the audit entries say what was understood, refused and sent.
func TestVoiceActionsAndRefusals(t *testing.T) {
	e := newVoiceEnv(t, voiceOpts{})
	c := e.client(t, "", ownerToken)
	const openRL = "sim0 351#1000000000000000" // BCM_WindowCmd WindowCmdRL (bits 4-5) 1 Open

	rep := askJSON(t, c, VoiceRequest{Text: "open my window", Lang: "en", Zone: "rear-left"})
	if rep.Intent != "OpenWindow" || rep.Refused != nil || len(rep.Actions) != 1 || rep.Actions[0].Frame != openRL ||
		!rep.Actions[0].Sent || rep.Actions[0].Kind != "window" || rep.Actions[0].Signals["WindowCmdRL"] != "Open" ||
		rep.Answer != "Opening the rear left window." || e.sink.count() != 1 {
		t.Errorf("open my window from rear-left: %+v, %d frames", rep, e.sink.count())
	}
	rep = askJSON(t, c, VoiceRequest{Text: "打开左后车窗"})
	if rep.Lang != "zh" || rep.Refused != nil || len(rep.Actions) != 1 || rep.Actions[0].Frame != openRL || rep.Answer != "正在打开左后车窗。" {
		t.Errorf("zh: %+v", rep)
	}

	for _, tc := range []struct {
		name, text, zone, reason, answer string
		set                              map[string]float64
	}{
		{"speed", "open my window", "", "speed", "I can't do that now: the car is faster than 80 kilometres per hour.",
			map[string]float64{"Vehicle.Speed": 95, "Vehicle.Powertrain.Transmission.SelectedGear": 127}},
		{"child lock", "open the rear left window", "passenger", "child_lock", "I can't do that now: the child lock is on.",
			map[string]float64{"Vehicle.Speed": 30, "Vehicle.Cabin.IsWindowChildLockEngaged": 1}},
		{"reverse", "turn on the headlights", "", "reverse", "I can't do that now: the car is in reverse.",
			map[string]float64{"Vehicle.Speed": 3, "Vehicle.Powertrain.Transmission.SelectedGear": -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for p, v := range tc.set {
				e.state.set(p, v)
			}
			before := e.sink.count()
			rep := askJSON(t, c, VoiceRequest{Text: tc.text, Lang: "en", Zone: tc.zone})
			if rep.Refused == nil || *rep.Refused != tc.reason || len(rep.Actions) != 0 || rep.Answer != tc.answer || e.sink.count() != before {
				t.Errorf("%+v (refused %v), %d frames sent", rep, ptrStr(rep.Refused), e.sink.count()-before)
			}
		})
	}

	a := e.voiceAudit(t, "/api/v1/voice/ask")
	if len(a) != 5 {
		t.Fatalf("%d audit entries, want 5: %+v", len(a), a)
	}
	first, speed := a[0], a[2]
	if first.Role != RoleOwner || first.Subject != "hmi" || first.Via != "token" || first.Status != 200 || first.Voice == nil ||
		first.Voice.Intent != "OpenWindow" || first.Voice.Zone != "rear-left" || first.Voice.Refused != "" ||
		!slices.Equal(first.Voice.Frames, []string{openRL}) || first.Voice.Slots != nil {
		t.Errorf("audit of the sent action: %+v voice %+v", first, first.Voice)
	}
	if speed.Voice == nil || speed.Voice.Intent != "OpenWindow" || speed.Voice.Refused != "speed" || len(speed.Voice.Frames) != 0 || speed.Status != 200 {
		t.Errorf("audit of the refusal: %+v voice %+v", speed, speed.Voice)
	}
	if a[3].Voice == nil || a[3].Voice.Slots["window"] != "rear_left" || a[3].Voice.Refused != "child_lock" {
		t.Errorf("audit of the child lock refusal: %+v", a[3].Voice)
	}
	for _, x := range a {
		if b, _ := json.Marshal(x); bytes.Contains(b, []byte("open")) || bytes.Contains(b, []byte("打开")) {
			t.Errorf("the audit log holds the spoken text: %s", b)
		}
	}
}

func ptrStr(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// TestVoiceAuth: without a credential both endpoints answer 401 and
// neither the dialogue nor the button is touched; each attempt is audited.
func TestVoiceAuth(t *testing.T) {
	e := newVoiceEnv(t, voiceOpts{})
	for _, c := range []*Client{e.anon(t), e.client(t, "", "wrong-token")} {
		for _, p := range []string{"/api/v1/voice/ask", "/api/v1/voice/ptt"} {
			if status, _, msg := post(t, c, p, "application/json", []byte(`{"text": "open all windows"}`)); status != 401 {
				t.Errorf("%s: %d %s, want 401", p, status, msg)
			}
		}
	}
	if e.voice.calls.Load() != 0 || e.ptt.n.Load() != 0 || e.sink.count() != 0 {
		t.Errorf("unauthenticated requests reached the dialogue (%d) or the button (%d)", e.voice.calls.Load(), e.ptt.n.Load())
	}
	a := append(e.voiceAudit(t, "/api/v1/voice/ask"), e.voiceAudit(t, "/api/v1/voice/ptt")...)
	if len(a) != 4 {
		t.Fatalf("%d audit entries, want 4", len(a))
	}
	for _, x := range a {
		if x.Status != 401 || x.Role != "" || x.Error == "" || x.Voice != nil {
			t.Errorf("audit %+v", x)
		}
	}
}

// TestVoiceBadRequests: malformed bodies, headers and parameters are
// refused with a message naming the problem, never reach the dialogue,
// are audited with that message, and the server keeps answering.
func TestVoiceBadRequests(t *testing.T) {
	e := newVoiceEnv(t, voiceOpts{})
	c := e.client(t, RoleOwner, "")
	const js = "application/json"
	long := strings.Repeat("a", MaxVoiceText+1)
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		msg               string
	}{
		{"unknown field", js, `{"text": "hi", "volume": 11}`, 400, `unknown field "volume"`},
		{"field name case", js, `{"Text": "hi"}`, 400, `unknown field "Text"`},
		{"field twice", js, `{"text": "hi", "text": "open all windows"}`, 400, `field "text" given twice`},
		{"not JSON", js, `text=hi`, 400, "invalid JSON at byte 2"},
		{"cut JSON", js, `{"text": "hi"`, 400, "unexpected end"},
		{"trailing comma", js, `{"text": "hi",}`, 400, "invalid JSON"},
		{"two objects", js, `{"text": "hi"} {"text": "open all windows"}`, 400, "unexpected data after the JSON object"},
		{"a list", js, `["hi"]`, 400, "want a JSON object"},
		{"empty body", js, ``, 400, "body is empty"},
		{"text a number", js, `{"text": 42}`, 400, `field "text": want a string, got a number`},
		{"text null", js, `{"text": null}`, 400, `field "text": want a string, got null`},
		{"text missing", js, `{"lang": "en"}`, 400, "text: missing"},
		{"text blank", js, `{"text": "  "}`, 400, "text: empty"},
		{"text too long", js, `{"text": "` + long + `"}`, 400, "text: 501 bytes, at most 500"},
		{"control character", js, `{"text": "open\u0000 all windows"}`, 400, "text: control character U+0000 at byte 4"},
		{"bad surrogate", js, `{"text": "hi \ud800"}`, 400, "text: U+FFFD at byte 3"},
		{"not UTF-8", js, "{\"text\": \"h\xffi\"}", 400, "not valid UTF-8 (byte 11)"},
		{"bad lang", js, `{"text": "hi", "lang": "xx"}`, 400, `lang "xx": expected en, zh, de, es, fr`},
		{"lang tag", js, `{"text": "hi", "lang": "en-GB"}`, 400, `lang "en-GB"`},
		{"bad zone", js, `{"text": "hi", "zone": "roof"}`, 400, `zone "roof": expected driver, passenger, rear-left, rear-right, rear-center`},
		{"zone unknown", js, `{"text": "hi", "zone": "unknown"}`, 400, `zone "unknown"`},
		{"oversized body", js, `{"text": "hi"}` + strings.Repeat(" ", MaxVoiceBody), 413, "at most 4096"},
		{"no content type", "", `{"text": "hi"}`, 415, "no Content-Type: want application/json"},
		{"form", "application/x-www-form-urlencoded", `{"text": "hi"}`, 415, "want application/json"},
		{"other charset", "application/json; charset=latin1", `{"text": "hi"}`, 415, "want application/json"},
	} {
		status, _, msg := post(t, c, "/api/v1/voice/ask", tc.ctype, []byte(tc.body))
		if status != tc.status || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, msg, tc.status, tc.msg)
		}
	}
	// Parameters and methods.
	if _, err := c.Do(context.Background(), "POST", "/api/v1/voice/ask", url.Values{"text": {"hi"}}, nil); status(err) != 400 {
		t.Errorf("query parameters: %v", err)
	}
	if _, err := c.Do(context.Background(), "GET", "/api/v1/voice/ask", nil, nil); status(err) != 405 {
		t.Errorf("GET: %v", err)
	}
	if n := e.voice.calls.Load(); n != 0 {
		t.Errorf("bad requests reached the dialogue %d times", n)
	}
	// A text of exactly the limit is fine, charset included.
	b, _ := json.Marshal(VoiceRequest{Text: long[1:]})
	if status, _, msg := post(t, c, "/api/v1/voice/ask", "application/json; charset=UTF-8", b); status != 200 {
		t.Errorf("text of %d bytes: %d %s", MaxVoiceText, status, msg)
	}
	// Every refusal is in the audit log with its reason.
	n := 0
	for _, a := range e.voiceAudit(t, "/api/v1/voice/ask") {
		if a.Status >= 400 && a.Status != 405 {
			n++
			if a.Error == "" || a.Voice != nil {
				t.Errorf("audit of a refusal: %+v", a)
			}
		}
	}
	if n != 26 {
		t.Errorf("%d refusals audited, want 26", n)
	}
	if rep := askJSON(t, c, VoiceRequest{Text: "what's my range"}); rep.Intent != "GetRange" {
		t.Errorf("server hurt by bad requests: %+v", rep)
	}
}

// TestVoicePTT: a press through the API presses the button once (owner
// token, workshop certificate); a body or a form is refused; without a
// voice loop the endpoint answers 503.
func TestVoicePTT(t *testing.T) {
	e := newVoiceEnv(t, voiceOpts{})
	ctx := context.Background()
	if err := e.client(t, "", ownerToken).PushToTalk(ctx); err != nil || e.ptt.n.Load() != 1 {
		t.Fatalf("press: %v, %d presses", err, e.ptt.n.Load())
	}
	ws := e.client(t, RoleWorkshop, "")
	resp, err := ws.send(ctx, http.MethodPost, "/api/v1/voice/ptt", nil, nil, nil)
	if err != nil || resp.StatusCode != http.StatusNoContent || e.ptt.n.Load() != 2 {
		t.Fatalf("workshop press: %v, %d presses", err, e.ptt.n.Load())
	}
	resp.Body.Close()
	for _, tc := range []struct {
		ctype, body string
		status      int
	}{
		{"application/json", `{"text": "hi"}`, 400},
		{"application/x-www-form-urlencoded", ``, 415},
	} {
		if status, _, msg := post(t, ws, "/api/v1/voice/ptt", tc.ctype, []byte(tc.body)); status != tc.status || msg == "" {
			t.Errorf("%s %q: %d %q, want %d", tc.ctype, tc.body, status, msg, tc.status)
		}
	}
	if _, err := ws.Do(ctx, "GET", "/api/v1/voice/ptt", nil, nil); status(err) != 405 {
		t.Errorf("GET: %v", err)
	}
	if n := e.ptt.n.Load(); n != 2 {
		t.Errorf("%d presses, want 2", n)
	}
	var got []string
	for _, a := range e.voiceAudit(t, "/api/v1/voice/ptt") {
		got = append(got, fmt.Sprintf("%s/%s %d", a.Role, a.Via, a.Status))
	}
	if want := "owner/token 204,workshop/cert 204,workshop/cert 400,workshop/cert 415,workshop/cert 405"; strings.Join(got, ",") != want {
		t.Errorf("audit %q, want %q", strings.Join(got, ","), want)
	}
}

// TestVoiceUnavailable: an agent without a voice dialogue or microphone
// loop answers 503 with the reason; a dialogue that fails answers 500.
func TestVoiceUnavailable(t *testing.T) {
	e := newVoiceEnv(t, voiceOpts{noVoice: true, noPTT: true})
	c := e.client(t, "", ownerToken)
	if status, _, msg := post(t, c, "/api/v1/voice/ask", "application/json", []byte(`{"text": "what's my range"}`)); status != 503 ||
		!strings.Contains(msg, "without a voice dialogue") {
		t.Errorf("ask: %d %q", status, msg)
	}
	if err := c.PushToTalk(context.Background()); status(err) != 503 || !strings.Contains(err.Error(), "push-to-talk") {
		t.Errorf("ptt: %v", err)
	}
	e = newVoiceEnv(t, voiceOpts{voice: failingVoice{}})
	c = e.client(t, "", ownerToken)
	if status, _, msg := post(t, c, "/api/v1/voice/ask", "application/json", []byte(`{"text": "what's my range"}`)); status != 500 ||
		!strings.Contains(msg, "dialogue stopped") {
		t.Errorf("failing dialogue: %d %q", status, msg)
	}
}

// TestVoiceConcurrent: turns from several clients at once all get their
// answer (the dialogue serialises them).
func TestVoiceConcurrent(t *testing.T) {
	e := newVoiceEnv(t, voiceOpts{})
	c := e.client(t, "", ownerToken)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				text := []string{"what's my range", "how full is the battery"}[(i+j)%2]
				rep, err := c.Ask(context.Background(), VoiceRequest{Text: text})
				if err != nil {
					errs <- err
					return
				}
				if !strings.Contains(rep.Answer, "76 percent") {
					errs <- fmt.Errorf("%q: %q", text, rep.Answer)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestVoiceListsMatch: the languages and zones the API accepts are those
// of the voice packages (the service does not import them).
func TestVoiceListsMatch(t *testing.T) {
	var langs []string
	for _, l := range intent.Languages {
		langs = append(langs, string(l))
	}
	if !slices.Equal(VoiceLanguages, langs) {
		t.Errorf("VoiceLanguages %v, intent.Languages %v", VoiceLanguages, langs)
	}
	var zones []string
	for z := audio.ZoneDriver; ; z++ {
		if _, err := audio.ParseZone(z.String()); err != nil {
			break
		}
		zones = append(zones, z.String())
	}
	if !slices.Equal(VoiceZones, zones) {
		t.Errorf("VoiceZones %v, audio zones %v", VoiceZones, zones)
	}
}

// TestVoiceDeps: the service holds only the voice interfaces; the voice
// pipeline (recogniser, microphone loop, synthesis, audio devices) stays
// out of it, so the API builds and runs without them.
func TestVoiceDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "/agent/voice/") || strings.Contains(p, "/drivers/audio") || strings.Contains(p, "malgo") {
			t.Errorf("agent/service depends on %s", p)
		}
	}
}

func TestHeaderText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`unknown parameter "x"`, `unknown parameter "x"`},
		{"a\nb\u00e9\x00", `a\nb\u00e9\x00`},
		{strings.Repeat("x", 600), strings.Repeat("x", 509) + "..."},
		{strings.Repeat("é", 200), strings.Repeat(`\u00e9`, 84) + `\u00e...`},
	} {
		if got := headerText(tc.in, 512); got != tc.want || len(got) > 512 {
			t.Errorf("headerText(%.20q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParseVoiceRequest(f *testing.F) {
	for _, s := range []string{
		`{"text": "what's my range", "lang": "en", "zone": "driver"}`,
		`{"text": "打开左后车窗", "lang": "", "zone": "rear-left"}`,
		`{"text": "a\u00e9\t\n", "zone": "rear-center"}`,
		`{"text": "hi", "text": "x"}`, `{"Text": "x"}`, `{"text": 1}`, `{"text": {}}`, `{"text": []}`,
		`{"text": "hi"} x`, `[]`, `""`, `null`, ``, `{`, `{"text": "\ud800"}`, "{\"text\": \"\xff\"}",
		`{"text": "hi", "lang": "zh-CN"}`, `{"text":"` + strings.Repeat("x", 501) + `"}`, `{"text": "1e999", "zone": 1e999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseVoiceRequest(body)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Msg == "" {
				t.Fatalf("%q: error %v is not a request error", body, err)
			}
			return
		}
		if !utf8.ValidString(req.Text) || strings.TrimSpace(req.Text) == "" || len(req.Text) > MaxVoiceText ||
			req.Lang != "" && !slices.Contains(VoiceLanguages, req.Lang) || req.Zone != "" && !slices.Contains(VoiceZones, req.Zone) {
			t.Fatalf("%q: accepted %+v", body, req)
		}
		for _, r := range req.Text {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7f && r < 0xa0 || r == utf8.RuneError {
				t.Fatalf("%q: accepted %U in %q", body, r, req.Text)
			}
		}
		// What was accepted reads back the same.
		again, _ := json.Marshal(req)
		back, err := ParseVoiceRequest(again)
		if err != nil || back != req {
			t.Fatalf("%q: accepted %+v, but its JSON %s reads %+v, %v", body, req, again, back, err)
		}
	})
}
