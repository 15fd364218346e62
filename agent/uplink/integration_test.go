package uplink_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/klauspost/compress/zstd"

	"github.com/evedge/evedge/agent/service"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/agent/uplink/brokertest"
	"github.com/evedge/evedge/drivers/can"
)

// These tests run against a real Mosquitto started on 127.0.0.1
// (brokertest). The receiving side is a plain paho client with a
// persistent session, as a cloud backend would have.

type received struct {
	Topic string
	Env   uplink.Envelope
	Raw   []byte
}

type cloud struct {
	t    *testing.T
	c    mqtt.Client
	mu   sync.Mutex
	msgs []received
	subs atomic.Int32 // completed subscriptions (one per connection)
}

// waitSubscribed waits until the cloud has subscribed more than n times.
func (c *cloud) waitSubscribed(n int32, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if c.subs.Load() > n {
			return true
		}
	}
	return false
}

func newCloud(t *testing.T, broker string, tlsCfg func() *mqtt.ClientOptions) *cloud {
	t.Helper()
	cl := &cloud{t: t}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID("cloud-" + t.Name()).SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetOrderMatters(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			tok := c.Subscribe("evedge/v1/+/#", 1, func(_ mqtt.Client, m mqtt.Message) {
				var env uplink.Envelope
				json.Unmarshal(m.Payload(), &env)
				cl.mu.Lock()
				cl.msgs = append(cl.msgs, received{Topic: m.Topic(), Env: env, Raw: append([]byte(nil), m.Payload()...)})
				cl.mu.Unlock()
			})
			go func() {
				if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
					cl.subs.Add(1)
				}
			}()
		})
	if tlsCfg != nil {
		o = tlsCfg()
	}
	cl.c = mqtt.NewClient(o)
	if tok := cl.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("cloud connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.c.Disconnect(100) })
	return cl
}

// byKind returns the received messages whose topic ends (after
// evedge/v1/<vehicle>) in suffix, duplicates (same id) dropped.
func (c *cloud) byKind(suffix string) []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	var out []received
	for _, m := range c.msgs {
		parts := strings.SplitN(m.Topic, "/", 4)
		if len(parts) < 4 || "/"+parts[3] != suffix || seen[m.Env.ID] {
			continue
		}
		seen[m.Env.ID] = true
		out = append(out, m)
	}
	return out
}

func (c *cloud) waitFor(suffix string, n int, d time.Duration) []received {
	deadline := time.Now().Add(d)
	for {
		got := c.byKind(suffix)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, CommitInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type car struct {
	u      *uplink.Uplink
	cancel context.CancelFunc
	done   chan struct{}
}

func startCar(t *testing.T, o uplink.Options) *car {
	t.Helper()
	if o.Vehicle == "" {
		o.Vehicle = "car-1"
	}
	o.MaxBackoff = 300 * time.Millisecond
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &car{u: u, cancel: cancel, done: make(chan struct{})}
	go func() { u.Run(ctx); close(c.done) }()
	t.Cleanup(c.stop)
	return c
}

func (c *car) stop() {
	c.cancel()
	<-c.done
}

func publishHealth(t *testing.T, u *uplink.Uplink, n int) {
	t.Helper()
	if _, err := u.Publish(uplink.KindHealth, uplink.SchemaHealth, uplink.Topic(u.Vehicle(), uplink.KindHealth), store.PriorityNormal,
		func(env uplink.Envelope) any {
			return map[string]any{"schema": env.Schema, "id": env.ID, "seq": env.Seq, "vehicle": env.Vehicle, "time": env.Time, "n": n}
		}); err != nil {
		t.Fatal(err)
	}
}

// checkSeq asserts seq 1..n in order with no gap.
func checkSeq(t *testing.T, what string, got []received, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("%s: %d distinct messages, want %d", what, len(got), n)
	}
	for i, m := range got {
		if m.Env.Seq != int64(i+1) {
			t.Errorf("%s: message %d has seq %d (order or gap)", what, i, m.Env.Seq)
			return
		}
	}
}

func TestUplinkDeliversInOrder(t *testing.T) {
	b := brokertest.Start(t)
	cl := newCloud(t, b.URL(), nil)
	st := openStore(t, t.TempDir())
	defer st.Close()
	c := startCar(t, uplink.Options{Broker: b.URL(), Store: st, Version: "test"})
	for i := 0; i < 300; i++ {
		publishHealth(t, c.u, i)
		if i%30 == 0 {
			if _, err := c.u.PublishEvent("diagnosis", 2, "test", map[string]int{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkSeq(t, "health", cl.waitFor("/health", 300, 20*time.Second), 300)
	checkSeq(t, "events", cl.waitFor("/events", 10, 5*time.Second), 10)
	st0 := cl.waitFor("/status", 1, 5*time.Second)
	if len(st0) == 0 || !bytes.Contains(st0[0].Raw, []byte(`"state":"online"`)) || st0[0].Env.Schema != uplink.SchemaStatus {
		t.Errorf("status: %v", st0)
	}
	// Every message acknowledged: 300 health, 10 events, 1 status.
	for deadline := time.Now().Add(5 * time.Second); c.u.Stats().Published < 311 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	// A clean stop publishes the offline status itself (a killed session
	// leaves it to the broker, as the last will).
	c.stop()
	got := cl.waitFor("/status", 2, 5*time.Second)
	if len(got) < 2 || !bytes.Contains(got[len(got)-1].Raw, []byte(`"state":"offline"`)) {
		t.Errorf("no offline status after stop: %d status messages", len(got))
	}
	// At least once: on a loaded machine unacknowledged messages are sent
	// again, so acknowledgements may exceed the 311 distinct messages (the
	// sequence checks above prove none is missing or out of order).
	if s := c.u.Stats(); s.Published < 311 || s.Bytes == 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestUplinkOutage kills the broker while reports are made, then restarts
// it: every report arrives once deduplicated, in order, without gaps. In
// the second half the car itself restarts during the outage.
func TestUplinkOutage(t *testing.T) {
	b := brokertest.Start(t)
	cl := newCloud(t, b.URL(), nil)
	if !cl.waitSubscribed(0, 10*time.Second) {
		t.Fatal("cloud not subscribed")
	}
	// The car reaches the broker through a proxy that the test cuts during
	// outages and reopens only once the cloud has subscribed again: a
	// broker killed within its 1 s autosave may restart without the cloud's
	// session, and would then drop what the car sends before the cloud is
	// back. (The cloud's loss, not the car's: QoS 1 ends at the broker.)
	proxy := brokertest.NewProxy(t, b.URL())
	dir := t.TempDir()
	st := openStore(t, dir)
	c := startCar(t, uplink.Options{Broker: proxy.URL(), Store: st})
	n := 0
	tick := func(d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			publishHealth(t, c.u, n)
			n++
			time.Sleep(10 * time.Millisecond)
		}
	}
	restart := func() {
		subs := cl.subs.Load()
		b.Restart()
		if !cl.waitSubscribed(subs, 10*time.Second) {
			t.Fatal("cloud did not subscribe again")
		}
		proxy.Resume()
	}
	tick(300 * time.Millisecond)
	proxy.Cut()
	b.Kill()
	tick(time.Second) // reports made during the outage
	restart()
	tick(300 * time.Millisecond)
	// A broker killed while it still holds acknowledged messages for the
	// cloud loses them (QoS 1 ends at its PUBACK): let it deliver first.
	cl.waitFor("/health", n, 20*time.Second)
	// Outage again; the car stops (as after a crash the outbox is what is
	// on disk) and starts again on the same store before the broker is back.
	proxy.Cut()
	b.Kill()
	tick(300 * time.Millisecond)
	c.stop()
	st.Close()
	st = openStore(t, dir)
	defer st.Close()
	c = startCar(t, uplink.Options{Broker: proxy.URL(), Store: st})
	tick(300 * time.Millisecond)
	restart()
	tick(200 * time.Millisecond)
	got := cl.waitFor("/health", n, 30*time.Second)
	checkSeq(t, "health across two outages and a restart", got, n)
	t.Logf("%d reports, %d received with duplicates", n, len(cl.msgs))
}

func TestUplinkTLS(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithTLS())
	cl := newCloud(t, b.URL(), func() *mqtt.ClientOptions {
		cert, key := b.NewClientCert("cloud")
		cfg, err := brokertest.TLSConfig(b.CAFile, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("cloud-tls").SetTLSConfig(cfg).SetOrderMatters(true).
			SetOnConnectHandler(func(c mqtt.Client) {
				c.Subscribe("evedge/v1/+/#", 1, func(_ mqtt.Client, m mqtt.Message) {
					var env uplink.Envelope
					json.Unmarshal(m.Payload(), &env)
				})
			})
	})
	_ = cl
	st := openStore(t, t.TempDir())
	defer st.Close()
	good, err := brokertest.TLSConfig(b.CAFile, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	c := startCar(t, uplink.Options{Broker: b.URL(), Store: st, TLS: good})
	publishHealth(t, c.u, 1)
	deadline := time.Now().Add(10 * time.Second)
	for c.u.Stats().Published < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := c.u.Stats(); s.Published < 2 || !c.u.TLS() {
		t.Fatalf("TLS car did not publish: %+v", s)
	}
	c.stop()

	// A car that trusts another CA refuses the broker's certificate.
	wrong, err := brokertest.TLSConfig(b.OtherCAFile, b.ClientCert, b.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	st2 := openStore(t, t.TempDir())
	defer st2.Close()
	c2 := startCar(t, uplink.Options{Broker: b.URL(), Store: st2, TLS: wrong, Vehicle: "car-2"})
	publishHealth(t, c2.u, 1)
	time.Sleep(1500 * time.Millisecond)
	s := c2.u.Stats()
	if s.Published != 0 || s.ConnectErrors == 0 || !strings.Contains(s.LastError, "certificate") {
		t.Errorf("wrong CA: %+v", s)
	}
	// A car without a client certificate is refused by the broker.
	noCert, _ := brokertest.TLSConfig(b.CAFile, "", "")
	st3 := openStore(t, t.TempDir())
	defer st3.Close()
	c3 := startCar(t, uplink.Options{Broker: b.URL(), Store: st3, TLS: noCert, Vehicle: "car-3"})
	time.Sleep(1500 * time.Millisecond)
	if s := c3.u.Stats(); s.Published != 0 || s.Connects != 0 {
		t.Errorf("no client certificate: %+v", s)
	}
}

func sendRequest(t *testing.T, c mqtt.Client, key ed25519.PrivateKey, r uplink.Request) {
	t.Helper()
	b, err := uplink.Sign(key, r)
	if err != nil {
		t.Fatal(err)
	}
	if tok := c.Publish(uplink.Topic(r.Vehicle, "cmd", r.Name), 1, false, b); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
}

func TestUplinkRequests(t *testing.T) {
	b := brokertest.Start(t)
	cl := newCloud(t, b.URL(), nil)
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	st := openStore(t, t.TempDir())
	defer st.Close()
	var rep *uplink.Reporter
	handlers := map[string]uplink.Handler{}
	c := startCar(t, uplink.Options{Broker: b.URL(), Store: st, RequestKey: pub, Handlers: handlers})
	rep = uplink.NewReporter(c.u, uplink.ReporterOptions{Read: func(string) (float64, time.Time, bool) { return 0, time.Time{}, false }})
	handlers["health"] = uplink.HealthHandler(rep)
	handlers["logs"] = uplink.LogsHandler(st)
	cl.waitFor("/status", 1, 5*time.Second)

	now := time.Now()
	req := uplink.Request{ID: "req-1", Vehicle: "car-1", Name: "health", Nonce: "nonce-1", Issued: now.Add(-time.Second), Expires: now.Add(time.Minute)}
	sendRequest(t, cl.c, priv, req)
	resp := cl.waitFor("/resp/req-1", 1, 10*time.Second)
	if len(resp) != 1 || !bytes.Contains(resp[0].Raw, []byte(`"status":"ok"`)) {
		t.Fatalf("health request: %v", resp)
	}
	if h := cl.waitFor("/health", 1, 5*time.Second); len(h) != 1 || h[0].Env.Schema != uplink.SchemaHealth {
		t.Fatalf("no health report after the request: %v", h)
	}
	// Replay of the same signed request: refused, not run again, not answered.
	sendRequest(t, cl.c, priv, req)
	// Expired: refused and answered (it was really signed).
	exp := uplink.Request{ID: "req-2", Vehicle: "car-1", Name: "health", Nonce: "nonce-2", Issued: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	sendRequest(t, cl.c, priv, exp)
	// Signed with another key: refused, not answered.
	sendRequest(t, cl.c, otherPriv, uplink.Request{ID: "req-3", Vehicle: "car-1", Name: "health", Nonce: "nonce-3", Issued: now, Expires: now.Add(time.Minute)})
	// Unsigned garbage.
	cl.c.Publish("evedge/v1/car-1/cmd/health", 1, false, []byte(`{"name":"health"}`)).WaitTimeout(time.Second)

	r2 := cl.waitFor("/resp/req-2", 1, 10*time.Second)
	if len(r2) != 1 || !bytes.Contains(r2[0].Raw, []byte(`"status":"refused"`)) || !bytes.Contains(r2[0].Raw, []byte("expired")) {
		t.Errorf("expired: %v", r2)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.u.Stats().Refused < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if s := c.u.Stats(); s.Requests != 5 || s.Refused != 4 {
		t.Errorf("stats %+v", s)
	}
	if h := cl.byKind("/health"); len(h) != 1 {
		t.Errorf("%d health reports: the replay ran again", len(h))
	}
	if r := cl.byKind("/resp/req-3"); len(r) != 0 {
		t.Errorf("a forged request was answered: %v", r)
	}
	st.Flush()
	it := st.Events(context.Background(), time.Time{}, time.Now().Add(time.Hour), "request-refused")
	nev := 0
	for it.Next() {
		nev++
	}
	if nev != 4 || it.Err() != nil {
		t.Errorf("refusals recorded: %d, %v", nev, it.Err())
	}
}

func TestUplinkLogUpload(t *testing.T) {
	b := brokertest.Start(t)
	cl := newCloud(t, b.URL(), nil)
	pub, priv, _ := ed25519.GenerateKey(nil)
	st := openStore(t, t.TempDir())
	defer st.Close()
	// Three minutes of two buses at 500 frames/s with varied payloads.
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var frames []can.Frame
	for i := 0; i < 180*500; i++ {
		f := can.Frame{Time: t0.UnixNano() + int64(i)*2_000_000, ID: uint32(0x100 + i%37), Bus: uint8(i % 2), Len: 8}
		for j := range f.Data {
			f.Data[j] = byte(i*7 + j*i>>3)
		}
		frames = append(frames, f)
	}
	if err := st.AppendFrames(frames); err != nil {
		t.Fatal(err)
	}
	st.Flush()
	handlers := map[string]uplink.Handler{"logs": uplink.LogsHandler(st)}
	startCar(t, uplink.Options{Broker: b.URL(), Store: st, RequestKey: pub, Handlers: handlers})
	cl.waitFor("/status", 1, 5*time.Second) // subscribed to its requests
	args, _ := json.Marshal(uplink.LogArgs{From: t0, To: t0.Add(3 * time.Minute), Format: "candump"})
	now := time.Now()
	sendRequest(t, cl.c, priv, uplink.Request{ID: "logs-1", Vehicle: "car-1", Name: "logs", Args: args, Nonce: "ln1", Issued: now, Expires: now.Add(5 * time.Minute)})

	var want bytes.Buffer
	if _, err := service.ExportFrames(context.Background(), st.Frames(context.Background(), t0, t0.Add(3*time.Minute), -1), &want, can.FormatCandump); err != nil {
		t.Fatal(err)
	}
	collect := func(id string) ([]uplink.LogChunk, []byte) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			var chunks []uplink.LogChunk
			for _, m := range cl.byKind("/resp/" + id) {
				var lc uplink.LogChunk
				if err := json.Unmarshal(m.Raw, &lc); err != nil {
					t.Fatal(err)
				}
				if len(m.Raw) > 100<<10 {
					t.Errorf("chunk %d is %d bytes", lc.Chunk, len(m.Raw))
				}
				chunks = append(chunks, lc)
			}
			sort.Slice(chunks, func(i, j int) bool { return chunks[i].Chunk < chunks[j].Chunk })
			if len(chunks) > 0 && len(chunks) == chunks[0].Chunks-chunks[0].Chunk || time.Now().After(deadline) {
				var z []byte
				for _, c := range chunks {
					z = append(z, c.Data...)
				}
				return chunks, z
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	chunks, z := collect("logs-1")
	if len(chunks) < 2 {
		t.Fatalf("%d chunks; want a multi-chunk upload", len(chunks))
	}
	dec, _ := zstd.NewReader(nil)
	text, err := dec.DecodeAll(z, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(text, want.Bytes()) {
		t.Fatalf("uploaded log differs: %d bytes vs %d exported", len(text), want.Len())
	}
	if !chunks[len(chunks)-1].Last || chunks[len(chunks)-1].Frames != 90000 {
		t.Errorf("last chunk %+v", chunks[len(chunks)-1].Frames)
	}
	// Resume from chunk 1: the same bytes from there on.
	args, _ = json.Marshal(uplink.LogArgs{From: t0, To: t0.Add(3 * time.Minute), Format: "candump", FromChunk: 1})
	sendRequest(t, cl.c, priv, uplink.Request{ID: "logs-2", Vehicle: "car-1", Name: "logs", Args: args, Nonce: "ln2", Issued: now, Expires: now.Add(5 * time.Minute)})
	chunks2, z2 := collect("logs-2")
	if len(chunks2) != len(chunks)-1 || chunks2[0].Chunk != 1 || !bytes.Equal(z2, z[len(chunks[0].Data):]) {
		t.Errorf("resumed upload: %d chunks from %d", len(chunks2), chunks2[0].Chunk)
	}
	t.Logf("3 min of 2 buses at 500 frames/s: %d frames, %d bytes of candump, %d bytes zstd, %d chunks", 90000, want.Len(), len(z), len(chunks))
}

// runUplink runs u until the returned function is called.
func runUplink(u *uplink.Uplink) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// TestUplinkPassword: a broker that wants a user name and password refuses
// a car without them and accepts it with them.
func TestUplinkPassword(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithPassword("car-1", "s3cret"))
	st := openStore(t, t.TempDir())
	defer st.Close()
	bad := startCar(t, uplink.Options{Broker: b.URL(), Store: st, Username: "car-1", Password: "wrong"})
	time.Sleep(time.Second)
	if s := bad.u.Stats(); s.Connects != 0 || s.ConnectErrors == 0 {
		t.Errorf("wrong password: %+v", s)
	}
	bad.stop()
	good := startCar(t, uplink.Options{Broker: b.URL(), Store: st, Username: "car-1", Password: "s3cret"})
	publishHealth(t, good.u, 1)
	deadline := time.Now().Add(5 * time.Second)
	for good.u.Stats().Published < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := good.u.Stats(); s.Published < 2 {
		t.Errorf("right password: %+v", s)
	}
}
