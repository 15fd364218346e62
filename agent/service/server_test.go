package service

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd"
)

const shared = "../../../shared/data"

func needShared(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(shared, rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_SHARED") != "" {
			t.Fatalf("real vehicle data %s not present: %v", p, err)
		}
		t.Skipf("real vehicle data %s not present: %v", p, err)
	}
	return p
}

// env is a running service on loopback with a store holding the real Kona
// logs, a diagnosis with its evidence, and dev certificates.
type env struct {
	dir     string // TLS directory
	st      *store.Store
	srv     *Server
	cancel  context.CancelFunc
	done    chan error
	speed   atomic.Value // speedReading
	cleared atomic.Int32
	t0, t1  time.Time // the recorded frames
	event   time.Time
}

type speedReading struct {
	v  float64
	ok bool
}

const testToken = "s3cret-workshop-token"

var (
	konaOnce  sync.Once
	konaCache []can.Frame
	konaErr   error
)

// konaFrames reads the Kona P-CAN logs once: both start at 08:00 on the
// test day (the GVRET log has relative times), on buses 0 and 1.
func konaFrames(t *testing.T) []can.Frame {
	t.Helper()
	paths := []string{needShared(t, "canlogs/kona-bms-precharge-relay-on.asc"), needShared(t, "canlogs/kona-2020-comp-can-heating.gvret.csv")}
	konaOnce.Do(func() {
		base := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC).UnixNano()
		for bus, p := range paths {
			r, c, err := can.OpenLog(p, "")
			if err != nil {
				konaErr = err
				return
			}
			var off int64
			first := true
			for r.Receive() {
				f := r.Frame()
				if first {
					off, first = base-f.Time, false
				}
				f.Bus = uint8(bus)
				f.Time += off
				konaCache = append(konaCache, f)
			}
			c.Close()
			if konaErr = r.Err(); konaErr != nil {
				return
			}
		}
		slices.SortStableFunc(konaCache, func(a, b can.Frame) int { return cmp.Compare(a.Time, b.Time) })
	})
	if konaErr != nil {
		t.Fatal(konaErr)
	}
	return konaCache
}

func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), done: make(chan error, 1)}
	if err := DevCerts(e.dir, nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	t.Cleanup(func() { st.Close() })
	// Real frames: the Kona P-CAN logs, on buses 0 and 1.
	frames := konaFrames(t)
	if err := st.AppendFrames(frames); err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		ft := time.Unix(0, f.Time)
		if e.t0.IsZero() || ft.Before(e.t0) {
			e.t0 = ft
		}
		if ft.After(e.t1) {
			e.t1 = ft
		}
	}
	// A cooling-loss diagnosis with 20 min of its evidence signals.
	e.event = time.Date(2026, 6, 1, 8, 30, 0, 0, time.UTC)
	for s := -900; s <= 300; s++ {
		ts := e.event.Add(time.Duration(s) * time.Second).UnixNano()
		st.AddValue("Vehicle.Powertrain.TractionBattery.Temperature.Max", ts, 35+float64(s+900)/60)
		st.AddValue("Vehicle.Private.EvedgeSim.CoolantInletTemperature", ts, 30+float64(s+900)/90)
	}
	body, _ := json.Marshal(map[string]any{"kind": "model", "state": "raised", "fault": "cooling_loss", "confidence": 0.93, "severity": 2})
	st.AddEvent(store.Event{Time: e.event, Kind: "diagnosis", Severity: 2, Source: "model", Body: body})
	dtc, _ := json.Marshal(map[string]any{"state": "set", "status": "stored", "ecu": "7E4", "code": "P0A7E", "description": "Hybrid/EV Battery Pack Over Temperature"})
	st.AddEvent(store.Event{Time: e.event.Add(-time.Minute), Kind: "dtc", Severity: 1, Source: "obd", Body: dtc})
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	k, err := kb.Load()
	if err != nil {
		t.Fatal(err)
	}
	e.speed.Store(speedReading{0, true})
	sum := sha256.Sum256([]byte(testToken))
	tok, err := ParseToken("bench:workshop:" + hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newWith(Options{
		Addr: "127.0.0.1:0", TLSDir: e.dir, Store: st, KB: k, Tokens: []Token{tok},
		Vehicle: func() VehicleInfo {
			return VehicleInfo{VIN: "KNDC4DLC0R5000001", ID: "test-car", Board: "sim", Versions: map[string]string{"evedge": "test"}}
		},
		DTCs: func(context.Context) (*obd.DTCReport, error) {
			return &obd.DTCReport{Stored: []obd.ECUDTC{{ECU: "7E4", Code: "P0A7E", Description: "Hybrid/EV Battery Pack Over Temperature"}}}, nil
		},
		ClearDTCs: func(context.Context) error { e.cleared.Add(1); return nil },
		Speed:     func() (float64, bool) { r := e.speed.Load().(speedReading); return r.v, r.ok },
		Privacy:   Profiles["EU"],
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-e.done
	})
	return e
}

func (e *env) url() string { return "https://" + e.srv.Addr() }

func (e *env) client(t *testing.T, role, token string) *Client {
	t.Helper()
	var cert, key string
	switch role {
	case RoleWorkshop:
		cert, key = filepath.Join(e.dir, WorkshopCert), filepath.Join(e.dir, WorkshopKeyFile)
	case RoleOwner:
		cert, key = filepath.Join(e.dir, OwnerCert), filepath.Join(e.dir, OwnerKeyFile)
	}
	c, err := NewClient(e.url(), cert, key, filepath.Join(e.dir, CAFile), token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// anon is a client that verifies the server but shows no credential.
func (e *env) anon(t *testing.T) *Client {
	c := e.client(t, "", "x")
	c.Token = ""
	return c
}

func (e *env) audit(t *testing.T) []AuditEntry {
	t.Helper()
	if err := e.st.Flush(); err != nil {
		t.Fatal(err)
	}
	var out []AuditEntry
	it := e.st.Events(context.Background(), time.Time{}, time.Now().Add(time.Hour), "audit")
	for it.Next() {
		var a AuditEntry
		if err := json.Unmarshal(it.Event().Body, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func status(err error) int {
	var api *APIError
	if errors.As(err, &api) {
		return api.Status
	}
	if err == nil {
		return 200
	}
	return -1
}

var endpoints = []struct{ method, path string }{
	{"GET", "/api/v1/vehicle"}, {"GET", "/api/v1/dtc"}, {"GET", "/api/v1/signals"},
	{"GET", "/api/v1/signals/stream"}, {"GET", "/api/v1/events"}, {"GET", "/api/v1/logs"},
	{"GET", "/api/v1/report"}, {"POST", "/api/v1/dtc/clear"},
}

// TestAuthentication: without a certificate or token every endpoint but
// /healthz is refused (401); a certificate from another CA fails the
// handshake; a wrong token is refused; each attempt is in the audit log.
func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	anon := e.anon(t)
	resp, err := anon.Do(ctx, "GET", "/healthz", nil, nil)
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(b)) != `{"ok":true}` {
		t.Errorf("healthz says %q", b)
	}
	for _, ep := range endpoints {
		if _, err := anon.Do(ctx, ep.method, ep.path, nil, nil); status(err) != 401 {
			t.Errorf("%s %s without credentials: %v", ep.method, ep.path, err)
		}
	}
	bad := e.client(t, "", "wrong-token")
	if _, err := bad.Do(ctx, "GET", "/api/v1/vehicle", nil, nil); status(err) != 401 {
		t.Errorf("wrong token: %v", err)
	}
	// A workshop certificate from another CA: the handshake fails.
	other := t.TempDir()
	if err := DevCerts(other, nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	forged, err := NewClient(e.url(), filepath.Join(other, WorkshopCert), filepath.Join(other, WorkshopKeyFile), filepath.Join(e.dir, CAFile), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forged.Do(ctx, "GET", "/api/v1/vehicle", nil, nil); err == nil || status(err) == 200 {
		t.Errorf("certificate of another CA accepted: %v", err)
	}
	var v VehicleInfo
	for _, c := range []*Client{e.client(t, RoleWorkshop, ""), e.client(t, RoleOwner, ""), e.client(t, "", testToken)} {
		if err := c.GetJSON(ctx, "/api/v1/vehicle", nil, &v); err != nil || v.VIN != "KNDC4DLC0R5000001" || v.Market != "EU" {
			t.Errorf("vehicle: %+v %v", v, err)
		}
	}
	a := e.audit(t)
	// 8 refused + 1 wrong token + 3 accepted (healthz and the failed
	// handshake are not requests of the API).
	if len(a) != 12 {
		t.Fatalf("%d audit entries, want 12: %+v", len(a), a)
	}
	roles := map[string]int{}
	for _, x := range a {
		roles[fmt.Sprintf("%s/%s/%d", x.Role, x.Via, x.Status)]++
	}
	if roles["//401"] != 9 || roles["workshop/cert/200"] != 1 || roles["owner/cert/200"] != 1 || roles["workshop/token/200"] != 1 {
		t.Errorf("audit by role: %v", roles)
	}
}

// TestClearDTC: a workshop clears only at standstill; an owner never; every
// attempt is audited with its outcome.
func TestClearDTC(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ws, owner, tok := e.client(t, RoleWorkshop, ""), e.client(t, RoleOwner, ""), e.client(t, "", testToken)
	clear := func(c *Client) int {
		_, err := c.Do(ctx, "POST", "/api/v1/dtc/clear", nil, nil)
		return status(err)
	}
	e.speed.Store(speedReading{42, true})
	if s := clear(ws); s != 409 || e.cleared.Load() != 0 {
		t.Errorf("moving: %d, cleared %d", s, e.cleared.Load())
	}
	e.speed.Store(speedReading{0, false})
	if s := clear(ws); s != 409 || e.cleared.Load() != 0 {
		t.Errorf("speed unknown: %d, cleared %d", s, e.cleared.Load())
	}
	e.speed.Store(speedReading{0, true})
	if s := clear(owner); s != 403 || e.cleared.Load() != 0 {
		t.Errorf("owner: %d, cleared %d", s, e.cleared.Load())
	}
	if s := clear(ws); s != 200 || e.cleared.Load() != 1 {
		t.Errorf("workshop at standstill: %d, cleared %d", s, e.cleared.Load())
	}
	if s := clear(tok); s != 200 || e.cleared.Load() != 2 {
		t.Errorf("workshop token at standstill: %d, cleared %d", s, e.cleared.Load())
	}
	if _, err := ws.Do(ctx, "GET", "/api/v1/dtc/clear", nil, nil); status(err) != 405 {
		t.Errorf("GET clear: %v", err)
	}
	var got []string
	for _, a := range e.audit(t) {
		if a.Path == "/api/v1/dtc/clear" {
			got = append(got, fmt.Sprintf("%s %d", a.Role, a.Status))
			if a.Status >= 400 && a.Status != 405 && a.Error == "" {
				t.Errorf("refusal without a reason in the audit log: %+v", a)
			}
		}
	}
	want := "workshop 409,workshop 409,owner 403,workshop 200,workshop 200,workshop 405"
	if strings.Join(got, ",") != want {
		t.Errorf("audit %q, want %q", strings.Join(got, ","), want)
	}
}

// TestReadEndpoints: trouble codes, signals, events, the stream.
func TestReadEndpoints(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, RoleOwner, "")
	var rep obd.DTCReport
	if err := c.GetJSON(ctx, "/api/v1/dtc", nil, &rep); err != nil || len(rep.Stored) != 1 || rep.Stored[0].Code != "P0A7E" {
		t.Errorf("dtc %+v %v", rep, err)
	}
	var evs []EventOut
	q := url.Values{"from": {e.event.Add(-time.Hour).Format(time.RFC3339)}, "to": {e.event.Add(time.Hour).Format(time.RFC3339)}, "kind": {"diagnosis"}}
	if err := c.GetJSON(ctx, "/api/v1/events", q, &evs); err != nil || len(evs) != 1 || !strings.Contains(string(evs[0].Body), "cooling_loss") {
		t.Errorf("events %+v %v", evs, err)
	}
	var sigs []SignalValue
	if err := c.GetJSON(ctx, "/api/v1/signals", nil, &sigs); err != nil {
		t.Errorf("signals: %v", err)
	}
	resp, err := c.Do(ctx, "GET", "/api/v1/signals/stream", url.Values{"interval": {"100ms"}, "max": {"350ms"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(b), "event: signals\n"); n < 3 || n > 5 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("stream: %d events, %q", n, b)
	}
}

// TestBadRequests: malformed, inverted and huge windows, unknown
// parameters, path traversal: a clear 4xx, and the server keeps serving.
func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, RoleWorkshop, "")
	for _, tc := range []struct {
		path string
		q    url.Values
		hdr  http.Header
		want int
	}{
		{"/api/v1/logs", url.Values{"from": {"yesterday"}}, nil, 400},
		{"/api/v1/logs", url.Values{"from": {"2026-06-02T00:00:00Z"}, "to": {"2026-06-01T00:00:00Z"}}, nil, 400},
		{"/api/v1/logs", url.Values{"from": {"0"}, "to": {"2026-06-01T00:00:00Z"}}, nil, 400},
		{"/api/v1/logs", url.Values{"format": {"pcap"}}, nil, 400},
		{"/api/v1/logs", url.Values{"bus": {"999"}}, nil, 400},
		{"/api/v1/logs", url.Values{"bus": {"-1"}}, nil, 400},
		{"/api/v1/logs", url.Values{"frm": {"-1h"}}, nil, 400},
		{"/api/v1/logs", url.Values{"from": {"-1h", "-2h"}}, nil, 400},
		{"/api/v1/logs", nil, http.Header{"Range": {"bytes=0-10"}}, 416},
		{"/api/v1/report", url.Values{"lang": {"xx"}}, nil, 400},
		{"/api/v1/report", url.Values{"from": {strings.Repeat("9", 200)}}, nil, 400},
		{"/api/v1/events", url.Values{"kind": {"../etc"}}, nil, 400},
		{"/api/v1/vehicle", url.Values{"x": {"1"}}, nil, 400},
		{"/api/v1/../../etc/passwd", nil, nil, 400},
		{"/api/v1/logs/%2e%2e/x", nil, nil, 400},
		{"/api/v2/anything", nil, nil, 404},
	} {
		_, err := c.Do(ctx, "GET", tc.path, tc.q, tc.hdr)
		if got := status(err); got != tc.want {
			t.Errorf("%s %v %v: %v, want %d", tc.path, tc.q, tc.hdr, err, tc.want)
		}
	}
	var v VehicleInfo
	if err := c.GetJSON(ctx, "/api/v1/vehicle", nil, &v); err != nil {
		t.Errorf("server hurt by bad requests: %v", err)
	}
}

// cutProxy forwards TCP to target and cuts the first connection after
// limit bytes from the server.
func cutProxy(t *testing.T, target string, limit int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var first sync.Once
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			cut := false
			first.Do(func() { cut = true })
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				if cut {
					io.CopyN(c, s, limit)
				} else {
					io.Copy(c, s)
				}
				c.Close()
				s.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// TestPullRoundTrip pulls the real Kona frames through a connection cut
// mid-transfer: the client resumes, and the file decodes to exactly the
// frames in the store, byte for byte what a local export writes.
func TestPullRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, format := range []string{"candump", "csv", "asc"} {
		q := url.Values{"from": {e.t0.Format(time.RFC3339Nano)}, "to": {e.t1.Add(time.Second).Format(time.RFC3339Nano)}, "format": {format}}
		win, err := ParseWindow(q, time.Now(), "format")
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		st, err := ExportFrames(ctx, e.st.Frames(ctx, win.From, win.To, -1), &want, win.Format)
		if err != nil || st.Frames < 1000 {
			t.Fatalf("%s: local export %d frames, %v", format, st.Frames, err)
		}
		proxy := cutProxy(t, e.srv.Addr(), 40_000)
		c := e.client(t, RoleWorkshop, "")
		c.Base = "https://" + proxy
		c.HTTP.Transport.(*http.Transport).TLSClientConfig.ServerName = "localhost"
		out := filepath.Join(t.TempDir(), "pull."+format)
		var last int64
		res, err := c.Pull(ctx, q, out, 3, func(n int64) { last = n })
		if err != nil {
			t.Fatalf("%s: pull: %v", format, err)
		}
		got, _ := os.ReadFile(out)
		if res.Resumed != 1 || !bytes.Equal(got, want.Bytes()) || last != int64(len(got)) {
			t.Errorf("%s: resumed %d, %d bytes (progress %d), want %d identical bytes", format, res.Resumed, len(got), last, want.Len())
		}
		if _, err := os.Stat(out + ".part"); !os.IsNotExist(err) {
			t.Errorf("%s: partial file left", format)
		}
		// Decoding the pulled file gives the store's frames.
		f := map[string]can.Format{"candump": can.FormatCandump, "csv": can.FormatGVRET, "asc": can.FormatASC}[format]
		r, closer, err := can.OpenLog(out, f)
		if err != nil {
			t.Fatal(err)
		}
		it := e.st.Frames(ctx, win.From, win.To, -1)
		n := 0
		for r.Receive() {
			if !it.Next() {
				t.Fatalf("%s: more frames pulled than stored", format)
			}
			a, b := r.Frame(), it.Frame()
			if a.ID != b.ID || a.Data != b.Data || a.Len != b.Len || a.Flags != b.Flags || a.Bus != b.Bus || (format == "candump" && a.Time != b.Time) {
				t.Fatalf("%s: frame %d: pulled %+v, stored %+v", format, n, a, b)
			}
			n++
		}
		closer.Close()
		if it.Next() || r.Err() != nil || uint64(n) != st.Frames {
			t.Errorf("%s: %d frames decoded, %d stored, %v", format, n, st.Frames, r.Err())
		}
	}
}

// TestPullResumesAcrossRuns: a pull stopped by the user resumes from its
// partial file in the next run, with the window the agent fixed.
func TestPullResumesAcrossRuns(t *testing.T) {
	e := newEnv(t)
	q := url.Values{"from": {e.t0.Format(time.RFC3339)}, "to": {e.t1.Add(time.Second).Format(time.RFC3339)}, "format": {"candump"}}
	out := filepath.Join(t.TempDir(), "pull.log")
	c := e.client(t, RoleWorkshop, "")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.Pull(ctx, q, out, 0, func(n int64) {
		if n > 30_000 {
			cancel()
		}
	})
	if err == nil {
		t.Fatal("the cancelled pull finished")
	}
	part, _ := os.ReadFile(out + ".part")
	side, _ := os.ReadFile(out + ".part.json")
	if len(part) < 30_000 || !bytes.Contains(side, []byte(`"to"`)) {
		t.Fatalf("partial %d bytes, sidecar %s", len(part), side)
	}
	res, err := c.Pull(context.Background(), q, out, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	var st PullState
	json.Unmarshal(side, &st)
	win, _ := ParseWindow(url.Values{"from": st.Query["from"], "to": st.Query["to"]}, time.Now())
	var want bytes.Buffer
	if _, err := ExportFrames(context.Background(), e.st.Frames(context.Background(), win.From, win.To, -1), &want, can.FormatCandump); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) || !bytes.HasPrefix(got, part) || res.Bytes != int64(len(got)) {
		t.Errorf("resumed file: %d bytes, want %d identical", len(got), want.Len())
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"from=-1h", "from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z&bus=3&format=asc&lang=zh-CN",
		"from=1780300800.5&to=-5m", "to=0", "format=csv&kind=diagnosis", "lang=%ff", "from=-9999999999h"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		w, err := ParseWindow(q, now, "bus", "format", "lang", "kind")
		if err != nil {
			var qe *queryError
			if !errors.As(err, &qe) {
				t.Fatalf("%q: error %v is not a query error", raw, err)
			}
			return
		}
		if w.To.Before(w.From) || w.To.Sub(w.From) > MaxRange || w.Bus < -1 || w.Bus > 255 {
			t.Fatalf("%q: accepted %+v", raw, w)
		}
	})
}

func newWith(o Options, opts ...func(*Options)) (*Server, error) {
	for _, f := range opts {
		f(&o)
	}
	return New(o)
}

// TestAuditStamp: on a board whose clock is not sane yet the agent holds
// audit events (Options.Stamp) and files them later at their true time.
func TestAuditStamp(t *testing.T) {
	var held []func(time.Duration)
	var mu sync.Mutex
	e := newEnv(t, func(o *Options) {
		o.Stamp = func(_ time.Time, do func(time.Duration)) {
			mu.Lock()
			held = append(held, do)
			mu.Unlock()
		}
	})
	t0 := time.Now()
	var v VehicleInfo
	if err := e.client(t, "", testToken).GetJSON(context.Background(), "/api/v1/vehicle", nil, &v); err != nil {
		t.Fatal(err)
	}
	if a := e.audit(t); len(a) != 0 {
		t.Fatalf("%d audit entries filed while the clock is held, want 0", len(a))
	}
	mu.Lock()
	if len(held) != 1 {
		t.Fatalf("%d held audit events, want 1", len(held))
	}
	// The clock turns sane: the wall clock was 10 years behind.
	const shift = 10 * 365 * 24 * time.Hour
	held[0](shift)
	mu.Unlock()
	if err := e.st.Flush(); err != nil {
		t.Fatal(err)
	}
	it := e.st.Events(context.Background(), time.Time{}, time.Time{}, "audit")
	var n int
	for it.Next() {
		n++
		if d := it.Event().Time.Sub(t0.Add(shift)); d < -time.Second || d > 5*time.Second {
			t.Errorf("audit event at %v, want about %v", it.Event().Time, t0.Add(shift))
		}
	}
	if n != 1 {
		t.Errorf("%d audit events after the release, want 1", n)
	}
}

// TestEventsPaging: seven events, three of them at the same instant, read
// two at a time by following X-Evedge-Next come back once each in time
// order (ties by id); the last page has no cursor; a bad limit or cursor
// is refused with the parameter's name.
func TestEventsPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, RoleOwner, "")
	base := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	at := []time.Duration{0, time.Second, time.Second, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	var want []int64
	for i, d := range at {
		id, err := e.st.AddEvent(store.Event{Time: base.Add(d), Kind: "paging", Source: "test", Body: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	if err := e.st.Flush(); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"from": {base.Add(-time.Minute).Format(time.RFC3339)}, "to": {base.Add(time.Minute).Format(time.RFC3339)}, "kind": {"paging"}, "limit": {"2"}}
	var got []int64
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("paging does not end")
		}
		resp, err := c.Do(ctx, "GET", "/api/v1/events", q, nil)
		if err != nil {
			t.Fatal(err)
		}
		var evs []EventOut
		err = json.NewDecoder(resp.Body).Decode(&evs)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			got = append(got, ev.ID)
		}
		next := resp.Header.Get("X-Evedge-Next")
		if next == "" {
			if len(evs) == 0 || len(evs) > 2 {
				t.Errorf("last page has %d events", len(evs))
			}
			break
		}
		if len(evs) != 2 {
			t.Fatalf("page %d: %d events with a next cursor, want 2", page, len(evs))
		}
		q.Set("after", next)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("paged ids %v, want %v", got, want)
	}
	for _, bad := range []url.Values{{"limit": {"0"}}, {"limit": {"10001"}}, {"after": {"x"}}, {"after": {"12.-1"}}} {
		_, err := c.Do(ctx, "GET", "/api/v1/events", bad, nil)
		var name string
		for k := range bad {
			name = k
		}
		if status(err) != 400 || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: %v, want 400 naming %s", bad, err, name)
		}
	}
}
