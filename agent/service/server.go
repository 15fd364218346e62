package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/drivers/obd"
)

// Token is a bearer token, kept as its SHA-256 so the configuration holds
// no secret.
type Token struct {
	Name   string
	Role   string
	SHA256 [32]byte
}

// ParseToken reads "name:role:sha256hex" (the form the configuration uses).
func ParseToken(s string) (Token, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Token{}, fmt.Errorf("token %q: want name:role:sha256-hex", s)
	}
	t := Token{Name: parts[0], Role: parts[1]}
	if t.Role != RoleWorkshop && t.Role != RoleOwner {
		return Token{}, fmt.Errorf("token %q: role %q: want workshop or owner", parts[0], parts[1])
	}
	b, err := hex.DecodeString(parts[2])
	if err != nil || len(b) != 32 {
		return Token{}, fmt.Errorf("token %q: want a 64-digit hex SHA-256 of the token", parts[0])
	}
	copy(t.SHA256[:], b)
	return t, nil
}

// VehicleInfo is what GET /api/v1/vehicle returns.
type VehicleInfo struct {
	VIN      string            `json:"vin,omitempty"`
	ID       string            `json:"vehicle_id"`
	Board    string            `json:"board"`
	DBC      string            `json:"dbc,omitempty"`
	Versions map[string]string `json:"versions"`
	Market   string            `json:"market"`
}

// Options configure a Server.
type Options struct {
	// Addr to listen on (default 127.0.0.1:8443: loopback).
	Addr string
	// TLSDir holds ca.pem (the OEM CA that issues client certificates),
	// server.pem and server-key.pem. Required: the API only speaks TLS.
	TLSDir string
	Tokens []Token
	Store  *store.Store // required
	Table  *signals.Table
	// Vehicle describes the car; DTCs reads its trouble codes (nil: no
	// OBD access, answered 503); ClearDTCs clears them (nil: 503); Speed
	// returns the current vehicle speed in km/h and whether it is known.
	Vehicle   func() VehicleInfo
	DTCs      func(ctx context.Context) (*obd.DTCReport, error)
	ClearDTCs func(ctx context.Context) error
	Speed     func() (float64, bool)
	Privacy   Profile
	KB        *kb.KB
	// Voice answers POST /api/v1/voice/ask (nil: 503, the agent runs
	// without a voice dialogue); PushToTalk presses push-to-talk for POST
	// /api/v1/voice/ptt (nil: 503, no microphone loop runs). Leave them
	// nil rather than holding a nil pointer.
	Voice      VoiceDialogue
	PushToTalk PushToTalker
	Log        *slog.Logger
	Now        func() time.Time
	// Stamp runs do for an event stamped t: at once with shift 0, or,
	// on a board whose clock is not yet sane, later with the shift that
	// moves t to its true time (nil: at once). Audit events go through it.
	Stamp func(t time.Time, do func(shift time.Duration))
}

// Server is the service centre's HTTPS API.
type Server struct {
	o    Options
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
	reqs atomic.Uint64
}

type ctxKey struct{}

// principal is who made a request.
type principal struct {
	Role, Subject, Via string // via: cert or token
}

// New checks the options and loads the TLS material.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("service: no store")
	}
	if o.TLSDir == "" {
		return nil, errNoTLSDir
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8443"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Vehicle == nil {
		o.Vehicle = func() VehicleInfo { return VehicleInfo{} }
	}
	if o.Privacy.Name == "" {
		o.Privacy = Profiles["default"]
	}
	pool, err := LoadCAPool(filepath.Join(o.TLSDir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("service: client CA: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(o.TLSDir, ServerCertFile), filepath.Join(o.TLSDir, ServerKeyFile))
	if err != nil {
		return nil, fmt.Errorf("service: server certificate in %s: %w", o.TLSDir, err)
	}
	s := &Server{o: o, mux: http.NewServeMux()}
	s.routes()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelDebug),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
			ClientCAs:    pool,
			// Certificates are optional at the handshake so that /healthz
			// and bearer tokens work; every other endpoint needs one or
			// a token (authorize).
			ClientAuth: tls.VerifyClientCertIfGiven,
		},
	}
	return s, nil
}

// Listen opens the listening socket (so that ":0" can be used and Addr
// read before Serve).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.o.Addr)
	if err != nil {
		return fmt.Errorf("service: listen %s: %w", s.o.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the listening address (after Listen).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.o.Addr
	}
	return s.ln.Addr().String()
}

// Serve serves until ctx is done, then shuts down (giving requests 5 s).
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.ServeTLS(s.ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-errc
	return err
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /api/v1/vehicle", s.auth(s.vehicle))
	s.mux.HandleFunc("GET /api/v1/dtc", s.auth(s.dtc))
	s.mux.HandleFunc("POST /api/v1/dtc/clear", s.auth(s.clearDTC))
	s.mux.HandleFunc("GET /api/v1/signals", s.auth(s.signalsNow))
	s.mux.HandleFunc("GET /api/v1/signals/stream", s.auth(s.signalsStream))
	s.mux.HandleFunc("GET /api/v1/events", s.auth(s.events))
	s.mux.HandleFunc("GET /api/v1/logs", s.auth(s.logs))
	s.mux.HandleFunc("GET /api/v1/report", s.auth(s.report))
	s.mux.HandleFunc("POST /api/v1/voice/ask", s.auth(s.voiceAsk))
	s.mux.HandleFunc("POST /api/v1/voice/ptt", s.auth(s.voicePTT))
}

// statusWriter records the status and bytes for the audit log.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
	abort  bool // break the connection after the audit
	voice  *VoiceAudit
}

func (w *statusWriter) WriteHeader(c int) {
	if w.status == 0 {
		w.status = c
	}
	w.ResponseWriter.WriteHeader(c)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// AuditEntry is the body of an "audit" event: one per request, whatever
// its outcome.
type AuditEntry struct {
	Remote   string  `json:"remote"`
	Role     string  `json:"role,omitempty"`
	Subject  string  `json:"subject,omitempty"`
	Via      string  `json:"via,omitempty"` // cert or token
	Method   string  `json:"method"`
	Path     string  `json:"path"`
	Query    string  `json:"query,omitempty"`
	Status   int     `json:"status"`
	Bytes    int64   `json:"bytes"`
	Duration float64 `json:"duration_ms"`
	Error    string  `json:"error,omitempty"`
	// Voice is what a voice request understood and did.
	Voice *VoiceAudit `json:"voice,omitempty"`
}

// ServeHTTP records every request in the audit log, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := s.o.Now()
	sw := &statusWriter{ResponseWriter: w}
	p := s.identify(r)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, p))
	if bad := badPath(r.URL.Path); bad != "" {
		fail(sw, http.StatusBadRequest, bad)
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	s.reqs.Add(1)
	if r.URL.Path == "/healthz" {
		return // no data, no authentication: not audited
	}
	q := r.URL.RawQuery
	if len(q) > 512 {
		q = q[:512] + "..."
	}
	path := r.URL.Path
	if len(path) > 256 {
		path = path[:256] + "..."
	}
	e := AuditEntry{Remote: r.RemoteAddr, Role: p.Role, Subject: p.Subject, Via: p.Via, Method: r.Method,
		Path: path, Query: q, Status: sw.status, Bytes: sw.n, Duration: float64(s.o.Now().Sub(t0).Microseconds()) / 1000}
	if msg := sw.Header().Get("X-Evedge-Error"); msg != "" {
		e.Error = msg
	}
	e.Voice = sw.voice
	body, _ := json.Marshal(e)
	sev := 0
	if sw.status >= 400 {
		sev = 1
	}
	add := func(shift time.Duration) {
		if _, err := s.o.Store.AddEvent(store.Event{Time: t0.Add(shift), Kind: "audit", Severity: sev, Source: "service", Body: body}); err != nil {
			s.o.Log.Error("service: audit log", "err", err)
		}
	}
	if s.o.Stamp != nil {
		s.o.Stamp(t0, add)
	} else {
		add(0)
	}
	s.o.Log.Info("service request", "remote", r.RemoteAddr, "role", p.Role, "subject", p.Subject, "method", r.Method, "path", path, "status", sw.status)
	if sw.abort {
		panic(http.ErrAbortHandler)
	}
}

// badPath refuses paths that are not clean (.., //, escapes, control
// characters) with a reason, before routing (the router would redirect).
func badPath(p string) string {
	if len(p) > 256 {
		return "path too long"
	}
	if strings.Contains(p, "..") || strings.Contains(p, "//") || strings.Contains(p, "\\") || strings.ContainsAny(p, "\x00%") {
		return "path not allowed"
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "path not allowed"
		}
	}
	return ""
}

// identify finds the caller: a verified client certificate with a role,
// else a bearer token.
func (s *Server) identify(r *http.Request) principal {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		c := r.TLS.PeerCertificates[0]
		if role, err := RoleOf(c); err == nil {
			return principal{Role: role, Subject: c.Subject.CommonName, Via: "cert"}
		}
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		sum := sha256.Sum256([]byte(strings.TrimSpace(h[len("Bearer "):])))
		for _, t := range s.o.Tokens {
			if subtle.ConstantTimeCompare(sum[:], t.SHA256[:]) == 1 {
				return principal{Role: t.Role, Subject: t.Name, Via: "token"}
			}
		}
	}
	return principal{}
}

// auth refuses callers without a role.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if who(r).Role == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="evedge"`)
			fail(w, http.StatusUnauthorized, "a client certificate issued by the OEM CA with a role, or a bearer token, is required")
			return
		}
		h(w, r)
	}
}

func who(r *http.Request) principal {
	p, _ := r.Context().Value(ctxKey{}).(principal)
	return p
}

// fail answers a JSON error. The X-Evedge-Error header (and the audit
// entry, which reads it) gets the message as printable ASCII, at most
// 512 bytes.
func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Evedge-Error", headerText(msg, 512))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

func (s *Server) window(w http.ResponseWriter, r *http.Request, allowed ...string) (Window, bool) {
	win, err := ParseWindow(r.URL.Query(), s.o.Now(), allowed...)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return win, false
	}
	return win, true
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{\"ok\":true}\n")
}

func (s *Server) vehicle(w http.ResponseWriter, r *http.Request) {
	if !s.noQuery(w, r) {
		return
	}
	v := s.o.Vehicle()
	v.Market = s.o.Privacy.Name
	writeJSON(w, v)
}

func (s *Server) noQuery(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.RawQuery != "" {
		fail(w, http.StatusBadRequest, "this endpoint takes no parameters")
		return false
	}
	return true
}

func (s *Server) dtc(w http.ResponseWriter, r *http.Request) {
	if !s.noQuery(w, r) {
		return
	}
	if s.o.DTCs == nil {
		fail(w, http.StatusServiceUnavailable, "no OBD adapter configured: trouble codes cannot be read")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	rep, err := s.o.DTCs(ctx)
	if err != nil {
		fail(w, http.StatusBadGateway, "reading trouble codes: "+err.Error())
		return
	}
	writeJSON(w, rep)
}

// clearDTC clears trouble codes: workshop role only, vehicle at
// standstill (speed known and 0), and the OBD gate checks again.
func (s *Server) clearDTC(w http.ResponseWriter, r *http.Request) {
	if !s.noQuery(w, r) {
		return
	}
	if who(r).Role != RoleWorkshop {
		fail(w, http.StatusForbidden, "clearing trouble codes needs the workshop role")
		return
	}
	if s.o.Speed != nil {
		v, ok := s.o.Speed()
		if !ok {
			fail(w, http.StatusConflict, "vehicle speed unknown: trouble codes are cleared only at standstill")
			return
		}
		if v != 0 {
			fail(w, http.StatusConflict, fmt.Sprintf("vehicle moving at %.1f km/h: trouble codes are cleared only at standstill", v))
			return
		}
	}
	if s.o.ClearDTCs == nil {
		fail(w, http.StatusServiceUnavailable, "no OBD adapter configured: trouble codes cannot be cleared")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	if err := s.o.ClearDTCs(ctx); err != nil {
		if errors.Is(err, obd.ErrNotAllowed) {
			fail(w, http.StatusConflict, err.Error())
		} else {
			fail(w, http.StatusBadGateway, "clearing trouble codes: "+err.Error())
		}
		return
	}
	writeJSON(w, map[string]any{"cleared": true, "by": who(r).Subject})
}

// SignalValue is one last-known value.
type SignalValue struct {
	Path  string    `json:"path"`
	Value float64   `json:"value"`
	Unit  string    `json:"unit,omitempty"`
	Time  time.Time `json:"time"`
}

func (s *Server) snapshot() []SignalValue {
	if s.o.Table == nil {
		return []SignalValue{}
	}
	out := []SignalValue{}
	for _, smp := range s.o.Table.All() {
		if smp.Count == 0 || math.IsNaN(smp.Value) || math.IsInf(smp.Value, 0) {
			continue
		}
		v, keep := s.o.Privacy.Value(smp.Name, smp.Value)
		if !keep {
			continue
		}
		out = append(out, SignalValue{Path: smp.Name, Value: v, Unit: smp.Unit, Time: smp.Time.UTC()})
	}
	slices.SortFunc(out, func(a, b SignalValue) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func (s *Server) signalsNow(w http.ResponseWriter, r *http.Request) {
	if !s.noQuery(w, r) {
		return
	}
	writeJSON(w, s.snapshot())
}

// signalsStream sends the values that changed every interval (default
// 1 s, 100 ms..60 s) as server-sent events, for at most max (default
// 1 h, at most 24 h).
func (s *Server) signalsStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	interval, limit := time.Second, time.Hour
	for k := range q {
		if k != "interval" && k != "max" {
			fail(w, http.StatusBadRequest, fmt.Sprintf("unknown parameter %q", k))
			return
		}
	}
	if v := q.Get("interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > time.Minute {
			fail(w, http.StatusBadRequest, fmt.Sprintf("interval %q: want 100ms..1m", v))
			return
		}
		interval = d
	}
	if v := q.Get("max"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 24*time.Hour {
			fail(w, http.StatusBadRequest, fmt.Sprintf("max %q: want a duration up to 24h", v))
			return
		}
		limit = d
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	last := map[string]float64{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	end := time.NewTimer(limit)
	defer end.Stop()
	for id := 0; ; id++ {
		var changed []SignalValue
		for _, v := range s.snapshot() {
			if old, ok := last[v.Path]; !ok || old != v.Value {
				changed = append(changed, v)
				last[v.Path] = v.Value
			}
		}
		if changed == nil {
			changed = []SignalValue{}
		}
		b, _ := json.Marshal(changed)
		if _, err := fmt.Fprintf(w, "id: %d\nevent: signals\ndata: %s\n\n", id, b); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}

// EventOut is an event as the API returns it.
type EventOut struct {
	ID       int64           `json:"id"`
	Time     time.Time       `json:"time"`
	Kind     string          `json:"kind"`
	Severity int             `json:"severity"`
	Source   string          `json:"source"`
	Body     json.RawMessage `json:"body"`
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	win, ok := s.window(w, r, "kind", "limit", "after")
	if !ok {
		return
	}
	q := r.URL.Query()
	limit := maxEventPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventPage {
			fail(w, http.StatusBadRequest, fmt.Sprintf("limit %q: expected 1..%d", v, maxEventPage))
			return
		}
		limit = n
	}
	it := s.o.Store.Events(r.Context(), win.From, win.To, win.Kind)
	if v := q.Get("after"); v != "" {
		t, id, ok := parseEventCursor(v)
		if !ok {
			fail(w, http.StatusBadRequest, fmt.Sprintf("after %q: expected the X-Evedge-Next header of the previous page", v))
			return
		}
		it.After(t, id)
	}
	out := []EventOut{}
	for it.Next() {
		ev := it.Event()
		if len(out) == limit {
			// More events than the page holds: the client asks again
			// with after set to this cursor.
			last := out[len(out)-1]
			w.Header().Set("X-Evedge-Next", fmt.Sprintf("%d.%d", last.Time.UnixNano(), last.ID))
			break
		}
		body := ev.Body
		if !json.Valid(body) {
			body, _ = json.Marshal(string(body))
		}
		out = append(out, EventOut{ID: ev.ID, Time: ev.Time.UTC(), Kind: ev.Kind, Severity: ev.Severity, Source: ev.Source, Body: body})
	}
	if err := it.Err(); err != nil {
		fail(w, http.StatusInternalServerError, "reading events: "+err.Error())
		return
	}
	writeJSON(w, out)
}

// maxEventPage is the most events one /api/v1/events answer holds.
const maxEventPage = 10000

// parseEventCursor reads an X-Evedge-Next cursor: the time in Unix
// nanoseconds and the id of the last event of a page, "T.ID".
func parseEventCursor(v string) (time.Time, int64, bool) {
	ts, ids, ok := strings.Cut(v, ".")
	if !ok {
		return time.Time{}, 0, false
	}
	t, err1 := strconv.ParseInt(ts, 10, 64)
	id, err2 := strconv.ParseInt(ids, 10, 64)
	if err1 != nil || err2 != nil || id < 0 {
		return time.Time{}, 0, false
	}
	return time.Unix(0, t), id, true
}

// logs streams the frames of a window in a log format. The export is
// deterministic for a window in the past, so an interrupted download
// resumes with "Range: bytes=N-": the server re-exports and skips N
// bytes. A window reaching into the future is cut at now; the cut is in
// X-Evedge-To, which a resuming client must send back as "to".
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	win, ok := s.window(w, r, "bus", "format")
	if !ok {
		return
	}
	now := s.o.Now()
	if win.To.After(now) {
		win.To = now
	}
	var skip int64
	if h := r.Header.Get("Range"); h != "" {
		n, ok := parseRange(h)
		if !ok {
			fail(w, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("range %q: only \"bytes=N-\" is supported", h))
			return
		}
		skip = n
	}
	ext := map[string]string{"candump": "log", "gvret": "csv", "csv": "csv", "asc": "asc"}[win.FormatS]
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"evedge-%s.%s\"", win.From.UTC().Format("20060102T150405Z"), ext))
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("X-Evedge-From", win.From.UTC().Format(time.RFC3339Nano))
	w.Header().Set("X-Evedge-To", win.To.UTC().Format(time.RFC3339Nano))
	w.Header().Set("Trailer", "X-Evedge-Frames, X-Evedge-Dropped")
	if skip > 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-*/*", skip))
		w.WriteHeader(http.StatusPartialContent)
	}
	it := s.o.Store.Frames(r.Context(), win.From, win.To, win.Bus)
	var src FrameIterator = it
	if drop := s.o.Privacy.DropFrame; drop != nil {
		src = &filterIter{it: it, drop: drop}
	}
	st, err := ExportFrames(r.Context(), src, &skipWriter{w: w, skip: skip}, win.Format)
	if err != nil {
		s.o.Log.Warn("service: log export cut", "err", err)
		// The status line is gone: break the connection so that the client
		// sees a failed transfer (not a clean end) and resumes.
		if sw, ok := w.(*statusWriter); ok {
			sw.abort = true
		}
		return
	}
	w.Header().Set("X-Evedge-Frames", strconv.FormatUint(st.Frames, 10))
	if f, ok := src.(*filterIter); ok {
		w.Header().Set("X-Evedge-Dropped", strconv.FormatUint(f.dropped, 10))
	}
}

func parseRange(h string) (int64, bool) {
	v, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, false
	}
	v, ok = strings.CutSuffix(v, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0
}

// skipWriter drops the first skip bytes written through it.
type skipWriter struct {
	w    io.Writer
	skip int64
}

func (s *skipWriter) Write(b []byte) (int, error) {
	n := len(b)
	if s.skip > 0 {
		if int64(len(b)) <= s.skip {
			s.skip -= int64(len(b))
			return n, nil
		}
		b = b[s.skip:]
		s.skip = 0
	}
	_, err := s.w.Write(b)
	return n, err
}

// headerText makes s safe for a header value: printable ASCII kept,
// every other character escaped as in Go strings (\n, \u00e9), cut to at
// most max bytes.
func headerText(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		} else {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		if b.Len() > max {
			break
		}
	}
	if out := b.String(); len(out) <= max {
		return out
	}
	return b.String()[:max-3] + "..."
}
