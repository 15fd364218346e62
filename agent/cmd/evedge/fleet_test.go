package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/klauspost/compress/zstd"

	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/agent/uplink/brokertest"
)

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listener is `evedge fleet listen` running in-process until stop.
type listener struct {
	stdout, stderr lockedBuffer
	cancel         context.CancelFunc
	done           chan error
}

// startListen runs fleet listen with args and waits until it subscribed.
func startListen(t *testing.T, args ...string) *listener {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- cmdFleet(ctx, append([]string{"listen"}, args...), &l.stdout, &l.stderr) }()
	t.Cleanup(func() { l.stop(t) })
	eventually(t, "the listener to subscribe", func() bool {
		select {
		case err := <-l.done:
			l.done <- err
			t.Fatalf("listen ended: %v\n%s", err, l.stderr.String())
		default:
		}
		return strings.Contains(l.stderr.String(), "msg=subscribed")
	})
	return l
}

// stop cancels the listener and returns its error (once; later calls
// return nil).
func (l *listener) stop(t *testing.T) error {
	t.Helper()
	l.cancel()
	select {
	case err, ok := <-l.done:
		if ok {
			close(l.done)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not stop")
		return nil
	}
}

func (l *listener) lines() []string { return splitLines(l.stdout.String()) }

func splitLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// paho connects a plain MQTT client.
func paho(t *testing.T, url, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetProtocolVersion(4).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false))
	mustToken(t, c.Connect(), "connect "+id)
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func mustToken(t *testing.T, tok mqtt.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("%s: timeout", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func publishJSON(t *testing.T, c mqtt.Client, topic string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	mustToken(t, c.Publish(topic, 1, false, b), "publish "+topic)
}

func healthMsg(id, vehicle string, seq int64) uplink.Envelope {
	return uplink.Envelope{Schema: uplink.SchemaHealth, ID: id, Seq: seq, Vehicle: vehicle, Time: uplink.Stamp(time.Now())}
}

type listenLine struct {
	Topic    string          `json:"topic"`
	Received string          `json:"received"`
	Msg      json.RawMessage `json:"msg"`
	Raw      *string         `json:"raw"`
}

func parseListenLines(t *testing.T, lines []string) []listenLine {
	t.Helper()
	var out []listenLine
	for _, l := range lines {
		var ll listenLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if _, err := time.Parse(time.RFC3339, ll.Received); err != nil {
			t.Fatalf("received %q: %v", ll.Received, err)
		}
		out = append(out, ll)
	}
	return out
}

func msgID(t *testing.T, l listenLine) string {
	t.Helper()
	var e uplink.Envelope
	if err := json.Unmarshal(l.Msg, &e); err != nil {
		t.Fatalf("msg %s: %v", l.Msg, err)
	}
	return e.ID
}

// TestFleetListen records what a plain client publishes: duplicates by id
// are dropped, a payload that is not JSON is kept as raw and counted
// invalid, and topics outside the chosen kinds are not subscribed.
func TestFleetListen(t *testing.T) {
	b := brokertest.Start(t)
	l := startListen(t, "--broker", b.URL(), "--client-id", "fleet-listen-test")
	car := paho(t, b.URL(), "car-1")
	a, bID := uplink.NewID(), uplink.NewID()
	publishJSON(t, car, uplink.Topic("car-1", uplink.KindHealth), healthMsg(a, "car-1", 1))
	publishJSON(t, car, uplink.Topic("car-1", uplink.KindEvent), uplink.Envelope{Schema: uplink.SchemaEvent, ID: bID, Seq: 1, Vehicle: "car-1"})
	publishJSON(t, car, uplink.Topic("car-1", uplink.KindHealth), healthMsg(a, "car-1", 1)) // a retry
	mustToken(t, car.Publish(uplink.Topic("car-1", uplink.KindHealth), 1, false, "not json\x00"), "publish raw")
	mustToken(t, car.Publish(uplink.Topic("car-1", "cmd", "health"), 1, false, `{"id":"x"}`), "publish cmd")
	// Pretty-printed JSON still makes one line.
	mustToken(t, car.Publish(uplink.Topic("car-1", uplink.KindResponse, "r1"), 1, false,
		"{\n  \"schema\": \"evedge.response/1\",\n  \"id\": \"c\",\n  \"status\": \"ok\"\n}"), "publish resp")

	eventually(t, "4 lines", func() bool { return len(l.lines()) >= 4 })
	if err := l.stop(t); err != nil {
		t.Fatalf("listen: %v\n%s", err, l.stderr.String())
	}
	lines := parseListenLines(t, l.lines())
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), l.stdout.String())
	}
	if lines[0].Topic != "evedge/v1/car-1/health" || msgID(t, lines[0]) != a {
		t.Errorf("line 1: %+v", lines[0])
	}
	if lines[1].Topic != "evedge/v1/car-1/events" || msgID(t, lines[1]) != bID {
		t.Errorf("line 2: %+v", lines[1])
	}
	if lines[2].Raw == nil || *lines[2].Raw != "not json\x00" || lines[2].Msg != nil {
		t.Errorf("line 3: %+v", lines[2])
	}
	if lines[3].Topic != "evedge/v1/car-1/resp/r1" || msgID(t, lines[3]) != "c" {
		t.Errorf("line 4: %+v", lines[3])
	}
	want := "fleet listen: 5 received, 4 written, 1 duplicates, 1 invalid"
	if !strings.Contains(l.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, l.stderr.String())
	}
}

// TestFleetListenPersistentSession stops the listener, publishes while it
// is away, and checks that the next listener with the same client id gets
// those messages from its session, appended to the same --out file.
func TestFleetListenPersistentSession(t *testing.T) {
	b := brokertest.Start(t)
	out := filepath.Join(t.TempDir(), "fleet.jsonl")
	args := []string{"--broker", b.URL(), "--client-id", "fleet-persist", "--out", out, "--topics", "health"}
	car := paho(t, b.URL(), "car-2")
	var ids []string
	pub := func() {
		id := uplink.NewID()
		ids = append(ids, id)
		publishJSON(t, car, uplink.Topic("car-2", uplink.KindHealth), healthMsg(id, "car-2", int64(len(ids))))
	}
	fileLines := func() []string {
		data, _ := os.ReadFile(out)
		return splitLines(string(data))
	}

	l := startListen(t, args...)
	pub()
	eventually(t, "the first line in the file", func() bool { return len(fileLines()) == 1 })
	if err := l.stop(t); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		pub() // queued in the listener's session
	}
	// A restart of the broker keeps the session and the queue too.
	b.Restart()
	l = startListen(t, args...)
	eventually(t, "4 lines in the file", func() bool { return len(fileLines()) == 4 })
	if err := l.stop(t); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ll := range parseListenLines(t, fileLines()) {
		got = append(got, msgID(t, ll))
	}
	if !reflect.DeepEqual(got, ids) {
		t.Fatalf("ids %v, want %v", got, ids)
	}
}

// TestFleetListenShare runs two listeners in one shared group: each
// message reaches exactly one of them, and both get some.
func TestFleetListenShare(t *testing.T) {
	b := brokertest.Start(t)
	l1 := startListen(t, "--broker", b.URL(), "--share", "g", "--client-id", "fleet-share-1")
	l2 := startListen(t, "--broker", b.URL(), "--share", "g", "--client-id", "fleet-share-2")
	if !strings.Contains(l1.stderr.String(), "$share/g/evedge/v1/+/health") {
		t.Fatalf("no shared filter:\n%s", l1.stderr.String())
	}
	car := paho(t, b.URL(), "car-3")
	const n = 40
	sent := map[string]bool{}
	for i := range n {
		id := uplink.NewID()
		sent[id] = true
		publishJSON(t, car, uplink.Topic("car-3", uplink.KindHealth), healthMsg(id, "car-3", int64(i+1)))
	}
	eventually(t, fmt.Sprintf("%d messages in all", n), func() bool { return len(l1.lines())+len(l2.lines()) >= n })
	l1.stop(t)
	l2.stop(t)
	got := map[string]int{}
	for _, l := range []*listener{l1, l2} {
		lines := parseListenLines(t, l.lines())
		if len(lines) == 0 {
			t.Errorf("one listener got nothing:\n%s", l.stderr.String())
		}
		for _, ll := range lines {
			got[msgID(t, ll)]++
		}
	}
	for id := range sent {
		if got[id] != 1 {
			t.Errorf("message %s delivered %d times", id, got[id])
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct messages, want %d", len(got), n)
	}
	t.Logf("split %d + %d", len(l1.lines()), len(l2.lines()))
}

// fakeCar is a paho client answering signed requests on
// evedge/v1/<vehicle>/cmd/+ as answer decides; requests that fail
// uplink.Verify are refused, or ignored when forged, as the car does. Answers are published one
// after another (each waits for its PUBACK), so they arrive in the order
// given.
func fakeCar(t *testing.T, url, vehicle string, pub ed25519.PublicKey, answer func(r uplink.Request, publish func(v any))) {
	t.Helper()
	type msg struct {
		topic   string
		payload []byte
	}
	queue, done := make(chan msg, 100), make(chan struct{})
	c := paho(t, url, "fake-"+vehicle)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case m := <-queue:
				c.Publish(m.topic, 1, false, m.payload).WaitTimeout(10 * time.Second)
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); wg.Wait() })
	mustToken(t, c.Subscribe(uplink.Topic(vehicle, "cmd", "+"), 1, func(_ mqtt.Client, m mqtt.Message) {
		r, err := uplink.Verify(pub, vehicle, m.Payload(), time.Now(), time.Minute)
		publish := func(v any) {
			b, _ := json.Marshal(v)
			select {
			case queue <- msg{uplink.Topic(vehicle, uplink.KindResponse, r.ID), b}:
			case <-done:
			}
		}
		if err != nil {
			// As the car does, only a request the OEM really signed gets
			// an answer.
			if errors.Is(err, uplink.ErrExpired) || errors.Is(err, uplink.ErrNotYet) {
				publish(response(vehicle, r, "refused", err.Error(), nil))
			}
			return
		}
		answer(r, publish)
	}), "car subscribe")
}

func response(vehicle string, r uplink.Request, status, msg string, body any) uplink.Response {
	resp := uplink.Response{Envelope: uplink.Envelope{Schema: uplink.SchemaResponse, ID: uplink.NewID(), Vehicle: vehicle,
		Time: uplink.Stamp(time.Now())}, Request: r.ID, Name: r.Name, Status: status, Error: msg}
	if body != nil {
		resp.Body, _ = json.Marshal(body)
	}
	return resp
}

func keygen(t *testing.T) (dir string, pub ed25519.PublicKey) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "keys")
	var out, errb bytes.Buffer
	if code := run([]string{"fleet", "keygen", "--out", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errb.String())
	}
	pub, err := uplink.ParsePublicKey(out.String())
	if err != nil {
		t.Fatalf("keygen printed %q: %v", out.String(), err)
	}
	return dir, pub
}

// TestFleetKeygen checks the key files: modes, formats, the printed key
// matching the .pub file, and no overwrite without --force.
func TestFleetKeygen(t *testing.T) {
	dir, pub := keygen(t)
	keyPEM, err := os.ReadFile(filepath.Join(dir, "oem-request.key"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := uplink.ParsePrivateKey(string(keyPEM))
	if err != nil || !strings.HasPrefix(string(keyPEM), "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("key file: %v\n%s", err, keyPEM)
	}
	if !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatal("printed public key does not match the private key")
	}
	pubPEM, _ := os.ReadFile(filepath.Join(dir, "oem-request.pub"))
	if p, err := uplink.ParsePublicKey(string(pubPEM)); err != nil || !p.Equal(pub) {
		t.Fatalf("pub file: %v\n%s", err, pubPEM)
	}
	for name, want := range map[string]os.FileMode{"oem-request.key": 0o600, "oem-request.pub": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", name, fi.Mode().Perm(), want, err)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"fleet", "keygen", "--out", dir}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "exists") {
		t.Fatalf("second keygen: exit %d: %s", code, errb.String())
	}
	if code := run([]string{"fleet", "keygen", "--out", dir, "--force"}, nil, &out, &errb); code != 0 {
		t.Fatalf("keygen --force: exit %d: %s", code, errb.String())
	}
}

// TestFleetRequest signs requests with a key from keygen; the fake car
// verifies them and answers, and the CLI prints the answers and exits by
// their status.
func TestFleetRequest(t *testing.T) {
	b := brokertest.Start(t)
	dir, pub := keygen(t)
	key := filepath.Join(dir, "oem-request.key")
	got := make(chan uplink.Request, 10)
	fakeCar(t, b.URL(), "car-4", pub, func(r uplink.Request, publish func(any)) {
		got <- r
		switch r.Name {
		case "health":
			publish(map[string]any{"schema": "evedge.progress/1", "request": r.ID, "note": "working"})
			publish(response("car-4", r, "ok", "", map[string]any{"soc": 81.5}))
		case "dtc":
			publish(response("car-4", r, "error", "no diagnostic port configured on this car", nil))
		case "silent":
		default:
			publish(response("car-4", r, "refused", "unknown request", nil))
		}
	})
	request := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"fleet", "request", "--broker", b.URL(), "--key", key, "--vehicle", "car-4", "--wait", "3s"}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := request("health", "window=5m", "full:=true")
	if code != 0 {
		t.Fatalf("health: exit %d\n%s%s", code, out, errs)
	}
	r := <-got
	if r.Name != "health" || r.Vehicle != "car-4" || string(r.Args) != `{"full":true,"window":"5m"}` {
		t.Errorf("request %+v args %s", r, r.Args)
	}
	if life := r.Expires.Sub(r.Issued); life != 5*time.Minute {
		t.Errorf("valid for %v", life)
	}
	lines := splitLines(out)
	if len(lines) != 2 || !strings.Contains(lines[0], `"note":"working"`) ||
		!strings.Contains(lines[1], `"status":"ok"`) || !strings.Contains(lines[1], `"body":{"soc":81.5}`) {
		t.Errorf("stdout:\n%s", out)
	}

	code, _, errs = request("dtc")
	<-got
	if code != 1 || !strings.Contains(errs, "request error: no diagnostic port") {
		t.Errorf("dtc: exit %d: %s", code, errs)
	}
	code, _, errs = request("--expires", "1h", "reboot")
	<-got
	if code != 1 || !strings.Contains(errs, "request refused: unknown request") {
		t.Errorf("reboot: exit %d: %s", code, errs)
	}
	code, _, errs = request("--wait", "300ms", "silent")
	<-got
	if code != 1 || !strings.Contains(errs, "no answer within 300ms") {
		t.Errorf("silent: exit %d: %s", code, errs)
	}

	// A key the car does not know: the car ignores the forged request.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherFile := filepath.Join(t.TempDir(), "other.key")
	os.WriteFile(otherFile, []byte(fmt.Sprintf("%x", other.Seed())), 0o600)
	code, _, errs = request("--key", otherFile, "--wait", "300ms", "health")
	if code != 1 || !strings.Contains(errs, "no answer within 300ms") {
		t.Errorf("other key: exit %d: %s", code, errs)
	}
	select {
	case r := <-got:
		t.Errorf("the car accepted a request signed by another key: %+v", r)
	default:
	}
}

// logText is a candump-like log long enough for several chunks once
// compressed (it is random, so zstd cannot shrink it much).
func logText(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	rnd := make([]byte, 8)
	for i := range 3000 {
		rand.Read(rnd)
		fmt.Fprintf(&b, "(%d.%06d) can0 123#%X\n", 1700000000+i/100, i%100*10000, rnd)
	}
	return b.Bytes()
}

// logsCar answers logs requests with the zstd stream of text cut into
// nchunks chunks, sent in the order order returns for the request's
// from_chunk.
func logsCar(t *testing.T, url, vehicle string, pub ed25519.PublicKey, text []byte, nchunks int, order func(fromChunk int) []int, got chan<- uplink.LogArgs) {
	t.Helper()
	zw, _ := zstd.NewWriter(nil)
	data := zw.EncodeAll(text, nil)
	zw.Close()
	size := (len(data) + nchunks - 1) / nchunks
	fakeCar(t, url, vehicle, pub, func(r uplink.Request, publish func(any)) {
		var a uplink.LogArgs
		if err := json.Unmarshal(r.Args, &a); err != nil {
			publish(response(vehicle, r, "error", err.Error(), nil))
			return
		}
		got <- a
		for _, i := range order(a.FromChunk) {
			publish(uplink.LogChunk{Envelope: uplink.Envelope{Schema: uplink.SchemaLogChunk, ID: uplink.NewID(),
				Vehicle: vehicle, Time: uplink.Stamp(time.Now())}, Request: r.ID, Chunk: i, Chunks: nchunks,
				Last: i == nchunks-1, Format: "candump", Compression: "zstd", Data: data[i*size : min(len(data), (i+1)*size)]})
		}
	})
}

// TestFleetRequestLogs asks for logs with -o: the chunks arrive out of
// order and one twice, and FILE is the decompressed log.
func TestFleetRequestLogs(t *testing.T) {
	b := brokertest.Start(t)
	dir, pub := keygen(t)
	text := logText(t)
	got := make(chan uplink.LogArgs, 4)
	logsCar(t, b.URL(), "car-5", pub, text, 4, func(int) []int { return []int{2, 0, 3, 0, 1} }, got)
	out := filepath.Join(t.TempDir(), "car-5.log")
	var stdout, stderr bytes.Buffer
	before := time.Now()
	// A fixed end after the start, whatever day the test runs.
	to := before.Add(time.Hour).UTC().Truncate(time.Second)
	code := run([]string{"fleet", "request", "--broker", b.URL(), "--key", filepath.Join(dir, "oem-request.key"),
		"--vehicle", "car-5", "--wait", "5s", "-o", out, "logs", "from=-1h", "to=" + to.Format(time.RFC3339), "bus=1", "format=candump"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	a := <-got
	if d := before.Add(-time.Hour).Sub(a.From); d < -time.Second || d > time.Second {
		t.Errorf("from %v, want about an hour ago", a.From)
	}
	if !a.To.Equal(to) || a.Bus == nil || *a.Bus != 1 || a.Format != "candump" {
		t.Errorf("args %+v", a)
	}
	data, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(data, text) {
		t.Fatalf("%s: %d bytes, want %d (%v)", out, len(data), len(text), err)
	}
	if _, err := os.Stat(out + ".part"); !os.IsNotExist(err) {
		t.Errorf("%s.part left behind: %v", out, err)
	}
	lines := splitLines(stdout.String())
	if len(lines) != 5 || strings.Contains(stdout.String(), `"data"`) || !strings.Contains(lines[0], `"chunk":2`) {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "1 duplicates dropped") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// TestFleetRequestLogsResume loses chunk 1 of 4: the CLI names it and the
// from_chunk to resume with, and the resumed request completes the file.
func TestFleetRequestLogsResume(t *testing.T) {
	b := brokertest.Start(t)
	dir, pub := keygen(t)
	text := logText(t)
	got := make(chan uplink.LogArgs, 4)
	logsCar(t, b.URL(), "car-6", pub, text, 4, func(from int) []int {
		if from == 0 {
			return []int{0, 2, 3} // 1 is lost
		}
		return []int{1, 2, 3}[from-1:]
	}, got)
	out := filepath.Join(t.TempDir(), "car-6.log")
	request := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"fleet", "request", "--broker", b.URL(), "--key", filepath.Join(dir, "oem-request.key"),
			"--vehicle", "car-6", "--wait", "1s", "-o", out, "logs", "from=2026-11-29T09:00:00Z", "to=2026-11-29T10:00:00Z"}, args...), nil, &stdout, &stderr)
		return code, stderr.String()
	}
	code, errs := request()
	<-got
	if code != 1 || !strings.Contains(errs, "missing chunks 1 of 0-3") || !strings.Contains(errs, "resume with from_chunk=1") {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("%s written from an incomplete upload", out)
	}
	code, errs = request("from_chunk=1")
	if a := <-got; a.FromChunk != 1 {
		t.Fatalf("from_chunk %d", a.FromChunk)
	}
	if code != 0 {
		t.Fatalf("resume: exit %d:\n%s", code, errs)
	}
	if data, err := os.ReadFile(out); err != nil || !bytes.Equal(data, text) {
		t.Fatalf("%s: %d bytes, want %d (%v)", out, len(data), len(text), err)
	}
}

func TestFleetRequestArgs(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		kv        []string
		want      string // JSON, or the error's text
		fromChunk int
	}{
		{"health", nil, "", 0},
		{"health", []string{"a=1", "b:=1", "c:={\"x\":[true]}"}, `{"a":"1","b":1,"c":{"x":[true]}}`, 0},
		{"logs", []string{"from=-2h"}, `{"from":"2026-11-29T10:00:00Z","to":"2026-11-29T12:00:00Z"}`, 0},
		{"logs", []string{"from=1764410400", "to=-30m", "bus=0", "format=asc", "from_chunk=3"},
			`{"from":"2025-11-29T10:00:00Z","to":"2026-11-29T11:30:00Z","bus":0,"format":"asc","from_chunk":3}`, 3},
		{"logs", []string{"bus:=2", "from=-1h"}, `{"from":"2026-11-29T11:00:00Z","to":"2026-11-29T12:00:00Z","bus":2}`, 0},
		{"logs", nil, "from=TIME is required", 0},
		{"logs", []string{"from=yesterday"}, "logs from: time \"yesterday\"", 0},
		{"logs", []string{"from=-1h", "to=-2h"}, "is before from", 0},
		{"logs", []string{"from=-1h", "bus=300"}, "expected 0..255", 0},
		{"logs", []string{"from=-1h", "format=mp3"}, "format \"mp3\"", 0},
		{"logs", []string{"from=-1h", "speed=2"}, "unknown argument \"speed\"", 0},
		{"health", []string{"novalue"}, "expected key=value", 0},
		{"health", []string{"x:=nope"}, "is not JSON", 0},
	} {
		t.Run(tc.name+" "+strings.Join(tc.kv, " "), func(t *testing.T) {
			got, fc, err := requestArgs(tc.name, tc.kv, now)
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) || tc.want == "" || tc.want[0] == '{' {
					t.Fatalf("error %v, want %s", err, tc.want)
				}
				return
			}
			if string(got) != tc.want || fc != tc.fromChunk {
				t.Fatalf("got %s (from_chunk %d), want %s (%d)", got, fc, tc.want, tc.fromChunk)
			}
		})
	}
}

func TestFleetIDSet(t *testing.T) {
	s := newIDSet(3)
	for _, id := range []string{"a", "b", "c"} {
		if !s.add(id) {
			t.Fatalf("%s not new", id)
		}
	}
	if s.add("a") || s.add("c") {
		t.Fatal("duplicate accepted")
	}
	if !s.add("d") { // evicts a
		t.Fatal("d not new")
	}
	if !s.add("a") { // evicts b
		t.Fatal("a still remembered beyond the bound")
	}
	if s.add("c") || s.add("d") || len(s.m) != 3 || len(s.ring) != 3 {
		t.Fatalf("set %d/%d", len(s.m), len(s.ring))
	}
}

func TestFleetRanges(t *testing.T) {
	if got := ranges([]int{9, 1, 3, 4, 5}); got != "1, 3-5, 9" {
		t.Fatal(got)
	}
}

func TestFleetUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fleet"}, 2, "no command given"},
		{[]string{"fleet", "fly"}, 2, `unknown fleet command "fly"`},
		{[]string{"fleet", "listen"}, 2, "--broker URL is required"},
		{[]string{"fleet", "listen", "--broker", "tcp://127.0.0.1:1", "--topics", "health,gps"}, 2, `unknown kind "gps"`},
		{[]string{"fleet", "listen", "--broker", "tcp://127.0.0.1:1", "--share", "a/b"}, 2, "--share"},
		{[]string{"fleet", "listen", "--broker", "tcp://127.0.0.1:1", "--ca", "ca.pem"}, 2, "need a TLS broker URL"},
		{[]string{"fleet", "listen", "--broker", "ssl://127.0.0.1:1", "--cert", "c.pem"}, 2, "go together"},
		{[]string{"fleet", "listen", "--broker", "http://x:1"}, 2, "unknown scheme"},
		{[]string{"fleet", "keygen"}, 2, "--out DIR is required"},
		{[]string{"fleet", "request", "--broker", "tcp://127.0.0.1:1", "--vehicle", "c"}, 2, "no request NAME"},
		{[]string{"fleet", "request", "--broker", "tcp://127.0.0.1:1", "--vehicle", "c", "health"}, 2, "--key FILE"},
		{[]string{"fleet", "request", "--key", "k", "--vehicle", "a/b", "health"}, 2, "--vehicle"},
		{[]string{"fleet", "request", "--key", "k", "--vehicle", "c", "--expires", "48h", "health"}, 2, "--expires"},
		{[]string{"fleet", "request", "--key", "k", "--vehicle", "c", "-o", "f", "health"}, 2, "-o FILE is for logs"},
		{[]string{"fleet", "request", "--key", filepath.Join(dir, "none"), "--vehicle", "c", "health"}, 1, "none"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, nil, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

// TestFleetListenTLS records through a TLS broker that requires client
// certificates, with the CLI's --ca/--cert/--key flags, and fails at once
// on a broker certificate from an unknown CA.
func TestFleetListenTLS(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithTLS())
	l := startListen(t, "--broker", b.URL(), "--ca", b.CAFile, "--cert", b.ClientCert, "--key", b.ClientKey, "--client-id", "fleet-tls")
	cfg := b.ClientTLS()
	car := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("car-tls").SetTLSConfig(cfg))
	mustToken(t, car.Connect(), "car connect")
	defer car.Disconnect(100)
	publishJSON(t, car, uplink.Topic("car-7", uplink.KindHealth), healthMsg(uplink.NewID(), "car-7", 1))
	eventually(t, "a line", func() bool { return len(l.lines()) == 1 })

	var out, errb bytes.Buffer
	code := run([]string{"fleet", "listen", "--broker", b.URL(), "--ca", b.OtherCAFile, "--cert", b.ClientCert, "--key", b.ClientKey, "--client-id", "fleet-tls-bad"}, nil, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "certificate") {
		t.Fatalf("untrusted broker: exit %d: %s", code, errb.String())
	}
}

// TestFleetListenPassword uses --username and $EVEDGE_MQTT_PASSWORD, and
// fails at once on a wrong password.
func TestFleetListenPassword(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithPassword("fleet", "pw"))
	t.Setenv("EVEDGE_MQTT_PASSWORD", "pw")
	startListen(t, "--broker", b.URL(), "--username", "fleet", "--client-id", "fleet-pw")
	var out, errb bytes.Buffer
	code := run([]string{"fleet", "listen", "--broker", b.URL(), "--username", "fleet", "--password", "wrong", "--client-id", "fleet-pw2"}, nil, &out, &errb)
	// Mosquitto 2.0 answers a wrong password with "not authorised".
	if code != 1 || !strings.Contains(errb.String(), "connect") || !strings.Contains(errb.String(), "ot Authorized") {
		t.Fatalf("wrong password: exit %d: %s", code, errb.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestFleetListenWriteError ends the listener with an error when its
// output cannot be written (the message stays unacknowledged in the
// session).
func TestFleetListenWriteError(t *testing.T) {
	b := brokertest.Start(t)
	var errb lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- cmdFleet(context.Background(), []string{"listen", "--broker", b.URL(), "--client-id", "fleet-fail"}, failWriter{}, &errb)
	}()
	eventually(t, "the listener to subscribe", func() bool { return strings.Contains(errb.String(), "msg=subscribed") })
	car := paho(t, b.URL(), "car-8")
	publishJSON(t, car, uplink.Topic("car-8", uplink.KindHealth), healthMsg(uplink.NewID(), "car-8", 1))
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("listen: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listen kept going without writing")
	}
}

// TestFleetListenReconnect cuts the listener's connection (a proxy in
// between): messages published during the outage wait in its session and
// arrive after paho reconnects.
func TestFleetListenReconnect(t *testing.T) {
	b := brokertest.Start(t)
	p := brokertest.NewProxy(t, b.URL())
	l := startListen(t, "--broker", p.URL(), "--client-id", "fleet-reconnect")
	car := paho(t, b.URL(), "car-9")
	p.Cut()
	eventually(t, "the listener to notice", func() bool { return strings.Contains(l.stderr.String(), "connection lost") })
	for i := range 3 {
		publishJSON(t, car, uplink.Topic("car-9", uplink.KindEvent), healthMsg(uplink.NewID(), "car-9", int64(i+1)))
	}
	p.Resume()
	eventually(t, "3 lines after the outage", func() bool { return len(l.lines()) == 3 })
	if err := l.stop(t); err != nil {
		t.Fatal(err)
	}
	if p.Down() == 0 {
		t.Fatal("nothing came through the proxy")
	}
}
