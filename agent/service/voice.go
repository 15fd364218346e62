package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The voice endpoints let a head unit with its own speech recognition, or
// the HMI, talk to the cabin voice assistant:
//
//	POST /api/v1/voice/ask   {"text": "...", "lang": "en", "zone": "driver"}
//	POST /api/v1/voice/ptt   presses push-to-talk (204)
//
// The service does not import the voice packages: it declares what it
// needs (VoiceDialogue, PushToTalker) and the agent hands it the
// implementations. Requests go through the same dialogue as the
// microphone, so vehicle actions pass the same safety gate.

// Limits of POST /api/v1/voice/ask.
const (
	// MaxVoiceBody is the largest request body, in bytes.
	MaxVoiceBody = 4 << 10
	// MaxVoiceText is the longest text, in bytes of UTF-8.
	MaxVoiceText = 500
	// voiceTimeout bounds one turn of the dialogue.
	voiceTimeout = 10 * time.Second
	// bodyTimeout bounds reading a request body.
	bodyTimeout = 10 * time.Second
)

// VoiceLanguages are the languages a request may name ("" lets the
// dialogue find the language from the text).
var VoiceLanguages = []string{"en", "zh", "de", "es", "fr"}

// VoiceZones are the cabin zones a request may name ("" is the driver).
var VoiceZones = []string{"driver", "passenger", "rear-left", "rear-right", "rear-center"}

// VoiceRequest is the body of POST /api/v1/voice/ask, checked by
// ParseVoiceRequest.
type VoiceRequest struct {
	// Text is what the speaker said or typed: 1..MaxVoiceText bytes of
	// UTF-8 without control characters (tab and newlines are allowed).
	Text string `json:"text"`
	// Lang is one of VoiceLanguages, or "": the first language whose
	// context understands the text (en, zh, de, es, fr).
	Lang string `json:"lang,omitempty"`
	// Zone is the speaker's cabin zone, one of VoiceZones, or "": the
	// driver. It decides "my window" and "my seat".
	Zone string `json:"zone,omitempty"`
}

// VoiceReply is the dialogue's answer to one request, the same fields as
// a line of `evedge ask`.
type VoiceReply struct {
	Text       string         `json:"text"`
	Lang       string         `json:"lang"`
	Zone       string         `json:"zone"`
	Understood bool           `json:"understood"`
	Intent     string         `json:"intent"`
	Slots      map[string]any `json:"slots"`
	// Answer is what the assistant says, in Lang.
	Answer string `json:"answer"`
	// Actions are the command frames sent for this turn (none when the
	// action was refused).
	Actions []VoiceAction `json:"actions"`
	// Refused is why the requested action was refused (a dialog.Reason:
	// "speed", "child_lock", "not_allowed", ...), null when it was not.
	Refused *string `json:"refused"`
	// MS is the time the dialogue took, in milliseconds.
	MS float64 `json:"ms"`
}

// VoiceAction is one command frame of a reply.
type VoiceAction struct {
	Kind    string `json:"kind"`    // window, climate, seat_heating, lights
	Message string `json:"message"` // the DBC message
	// Frame is the frame in candump syntax with its interface:
	// "can1 351#1000000000000000".
	Frame string `json:"frame"`
	// Signals are the signals set: the value-table label where there is
	// one, else the physical value.
	Signals map[string]any `json:"signals"`
	// Cancel marks the undoing of the previous action.
	Cancel bool `json:"cancel,omitempty"`
	Sent   bool `json:"sent"`
}

// VoiceDialogue answers one request (the agent adapts its
// dialog.Dialogue). Ask is called with a checked request and may be
// called concurrently. An error means no answer could be given (not a
// refusal: refusals are replies).
type VoiceDialogue interface {
	Ask(ctx context.Context, req VoiceRequest) (VoiceReply, error)
}

// PushToTalker presses push-to-talk on the microphone loop;
// *assistant.Assistant is one. PushToTalk must be safe from any goroutine
// and must not block.
type PushToTalker interface {
	PushToTalk()
}

// VoiceAudit is what the audit entry of a voice request records besides
// the status: what was understood and done, not the text (the cabin's
// words stay out of the log).
type VoiceAudit struct {
	Lang       string         `json:"lang"`
	Zone       string         `json:"zone"`
	Understood bool           `json:"understood"`
	Intent     string         `json:"intent,omitempty"`
	Slots      map[string]any `json:"slots,omitempty"`
	Refused    string         `json:"refused,omitempty"`
	// Frames are the frames sent, in candump syntax.
	Frames []string `json:"frames,omitempty"`
}

// RequestError is a request the API refuses as malformed (400).
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// ParseVoiceRequest reads and checks the body of POST /api/v1/voice/ask:
// one JSON object with the string fields text (required), lang and zone,
// each at most once, names matched exactly, nothing else and nothing after
// it. Errors are *RequestError and name the field and what was expected.
func ParseVoiceRequest(body []byte) (VoiceRequest, error) {
	var req VoiceRequest
	if len(body) > MaxVoiceBody {
		return req, badRequest("body of %d bytes: at most %d", len(body), MaxVoiceBody)
	}
	if i := invalidUTF8(body); i >= 0 {
		return req, badRequest("body is not valid UTF-8 (byte %d)", i)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	want := `a JSON object such as {"text": "what's my range", "lang": "en", "zone": "driver"}`
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return req, badRequest("body is empty: want %s", want)
	}
	if err != nil {
		return req, jsonError(err, dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return req, badRequest("body: want %s, got %s", want, describeToken(tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return req, jsonError(err, dec)
		}
		key, _ := tok.(string)
		var dst *string
		switch key {
		case "text":
			dst = &req.Text
		case "lang":
			dst = &req.Lang
		case "zone":
			dst = &req.Zone
		default:
			return req, badRequest("body: unknown field %s (expected text, lang, zone)", short(key))
		}
		if seen[key] {
			return req, badRequest("body: field %q given twice", key)
		}
		seen[key] = true
		tok, err = dec.Token()
		if err != nil {
			return req, jsonError(err, dec)
		}
		s, ok := tok.(string)
		if !ok {
			return req, badRequest("body: field %q: want a string, got %s", key, describeToken(tok))
		}
		*dst = s
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return req, jsonError(err, dec)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, badRequest("body: unexpected data after the JSON object (byte %d)", dec.InputOffset())
	}
	return req, req.check(seen["text"])
}

// check validates the fields of a decoded request.
func (req *VoiceRequest) check(haveText bool) error {
	switch {
	case !haveText:
		return badRequest(`text: missing: the body needs {"text": "..."}`)
	case strings.TrimSpace(req.Text) == "":
		return badRequest("text: empty")
	case len(req.Text) > MaxVoiceText:
		return badRequest("text: %d bytes, at most %d", len(req.Text), MaxVoiceText)
	}
	for i, r := range req.Text {
		if r == '\t' || r == '\n' || r == '\r' {
			continue
		}
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return badRequest("text: control character %U at byte %d", r, i)
		}
		if r == utf8.RuneError {
			return badRequest("text: %U at byte %d (an invalid \\u escape, or a replacement character)", r, i)
		}
	}
	if req.Lang != "" && !slices.Contains(VoiceLanguages, req.Lang) {
		return badRequest(`lang %s: expected %s, or "" to detect it`, short(req.Lang), strings.Join(VoiceLanguages, ", "))
	}
	if req.Zone != "" && !slices.Contains(VoiceZones, req.Zone) {
		return badRequest(`zone %s: expected %s, or "" for the driver`, short(req.Zone), strings.Join(VoiceZones, ", "))
	}
	return nil
}

// invalidUTF8 returns the offset of the first byte that is not UTF-8, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// jsonError words a decoder error with the byte offset where it happened.
func jsonError(err error, dec *json.Decoder) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return badRequest("body: invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("body: invalid JSON: unexpected end at byte %d", dec.InputOffset())
	}
	return badRequest("body: invalid JSON at byte %d: %v", dec.InputOffset(), err)
}

func describeToken(t json.Token) string {
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
		return strconv.Quote(x.String())
	case string:
		return "the string " + short(x)
	case float64:
		return "a number"
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", t)
}

// short quotes s in ASCII, cut to 40 bytes, for error messages.
func short(s string) string {
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.QuoteToASCII(s[:cut]) + "..."
	}
	return strconv.QuoteToASCII(s)
}

// jsonBody checks that a request declares a JSON body: a browser cannot
// send one to another origin without asking first (CORS preflight, which
// this API does not answer), so a web page cannot make a browser holding
// a client certificate drive the car.
func jsonBody(w http.ResponseWriter, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return true
		}
	}
	msg := "no Content-Type: want application/json (UTF-8)"
	if ct != "" {
		msg = fmt.Sprintf("Content-Type %s: want application/json (UTF-8)", short(ct))
	}
	fail(w, http.StatusUnsupportedMediaType, msg)
	return false
}

// readBody reads a request body of at most limit bytes, within
// bodyTimeout. It answers the error itself: 413 for a body over limit,
// 400 for one that cannot be read.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes: at most %d", r.ContentLength, limit))
		return nil, false
	}
	// A slow body must not hold a handler: the server has no read timeout
	// (log downloads are long), so this request gets one.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))
		} else {
			fail(w, http.StatusBadRequest, "reading the body: "+err.Error())
		}
		return nil, false
	}
	return b, true
}

// voiceRole reports whether a role may use the voice endpoints: the
// owner (the HMI) and the workshop.
func voiceRole(role string) bool { return role == RoleOwner || role == RoleWorkshop }

// voiceAsk answers POST /api/v1/voice/ask.
func (s *Server) voiceAsk(w http.ResponseWriter, r *http.Request) {
	if !s.noQuery(w, r) {
		return
	}
	if !voiceRole(who(r).Role) {
		fail(w, http.StatusForbidden, "the voice assistant needs the owner or workshop role")
		return
	}
	if s.o.Voice == nil {
		fail(w, http.StatusServiceUnavailable, "the agent runs without a voice dialogue")
		return
	}
	if !jsonBody(w, r) {
		return
	}
	body, ok := readBody(w, r, MaxVoiceBody)
	if !ok {
		return
	}
	req, err := ParseVoiceRequest(body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), voiceTimeout)
	defer cancel()
	t0 := time.Now()
	rep, err := s.o.Voice.Ask(ctx, req)
	ms := float64(time.Since(t0).Microseconds()) / 1000
	if err != nil {
		if ctx.Err() != nil {
			fail(w, http.StatusServiceUnavailable, "voice dialogue: no answer in time: "+err.Error())
		} else {
			fail(w, http.StatusInternalServerError, "voice dialogue: "+err.Error())
		}
		return
	}
	rep.MS = ms
	if rep.Slots == nil {
		rep.Slots = map[string]any{}
	}
	if rep.Actions == nil {
		rep.Actions = []VoiceAction{}
	}
	for i := range rep.Actions {
		if rep.Actions[i].Signals == nil {
			rep.Actions[i].Signals = map[string]any{}
		}
	}
	if sw, ok := w.(*statusWriter); ok {
		a := &VoiceAudit{Lang: rep.Lang, Zone: rep.Zone, Understood: rep.Understood, Intent: rep.Intent}
		if len(rep.Slots) > 0 {
			a.Slots = rep.Slots
		}
		if rep.Refused != nil {
			a.Refused = *rep.Refused
		}
		for _, act := range rep.Actions {
			if act.Sent {
				a.Frames = append(a.Frames, act.Frame)
			}
		}
		sw.voice = a
	}
	writeJSON(w, rep)
}

// voicePTT answers POST /api/v1/voice/ptt: a push-to-talk press.
func (s *Server) voicePTT(w http.ResponseWriter, r *http.Request) {
	if !s.noQuery(w, r) {
		return
	}
	if !voiceRole(who(r).Role) {
		fail(w, http.StatusForbidden, "the voice assistant needs the owner or workshop role")
		return
	}
	if s.o.PushToTalk == nil {
		fail(w, http.StatusServiceUnavailable, "no voice loop runs (no microphone or voice model): push-to-talk is not available")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !jsonBody(w, r) {
		return
	}
	body, ok := readBody(w, r, MaxVoiceBody)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		fail(w, http.StatusBadRequest, "this endpoint takes no body")
		return
	}
	s.o.PushToTalk.PushToTalk()
	w.WriteHeader(http.StatusNoContent)
}

// Ask sends text to the agent's voice assistant (POST /api/v1/voice/ask)
// and returns its reply.
func (c *Client) Ask(ctx context.Context, req VoiceRequest) (VoiceReply, error) {
	var rep VoiceReply
	body, err := json.Marshal(req)
	if err != nil {
		return rep, err
	}
	resp, err := c.send(ctx, http.MethodPost, "/api/v1/voice/ask", nil, http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		return rep, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rep); err != nil {
		return rep, fmt.Errorf("voice reply: %w", err)
	}
	return rep, nil
}

// PushToTalk presses push-to-talk on the agent (POST /api/v1/voice/ptt).
func (c *Client) PushToTalk(ctx context.Context) error {
	resp, err := c.send(ctx, http.MethodPost, "/api/v1/voice/ptt", nil, nil, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
