package brokertest

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// connect opens a paho client without retries; set may change options.
func connect(t *testing.T, url, id string, set func(*mqtt.ClientOptions)) (mqtt.Client, error) {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false)
	if set != nil {
		set(o)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, errTimeout
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

type timeoutError struct{}

func (timeoutError) Error() string { return "timeout" }

var errTimeout = timeoutError{}

func mustConnect(t *testing.T, url, id string, set func(*mqtt.ClientOptions)) mqtt.Client {
	t.Helper()
	c, err := connect(t, url, id, set)
	if err != nil {
		t.Fatalf("connect %s as %s: %v", url, id, err)
	}
	return c
}

func wait(t *testing.T, tok mqtt.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("%s: timeout", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// roundTrip subscribes on c, publishes on the same client and waits for the
// message to come back.
func roundTrip(t *testing.T, c mqtt.Client, topic string) {
	t.Helper()
	got := make(chan string, 1)
	wait(t, c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	}), "subscribe")
	wait(t, c.Publish(topic, 1, false, "ping"), "publish")
	select {
	case p := <-got:
		if p != "ping" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("message did not come back")
	}
}

func TestBrokerStart(t *testing.T) {
	b := Start(t)
	if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") || b.Port() == 0 {
		t.Fatalf("URL %s", b.URL())
	}
	c := mustConnect(t, b.URL(), "start", nil)
	roundTrip(t, c, "brokertest/start")
	if !b.Running() {
		t.Fatal("not running")
	}
	b.Stop()
	if b.Running() {
		t.Fatal("still running after Stop")
	}
	if !strings.Contains(b.Log(), "running") {
		t.Errorf("log lacks the start line:\n%s", b.Log())
	}
}

func TestBrokerTLS(t *testing.T) {
	b := Start(t, WithTLS())
	if !strings.HasPrefix(b.URL(), "ssl://") {
		t.Fatalf("URL %s", b.URL())
	}
	withTLS := func(cfg *tls.Config) func(*mqtt.ClientOptions) {
		return func(o *mqtt.ClientOptions) { o.SetTLSConfig(cfg) }
	}
	tlsFiles := func(ca, cert, key string) *tls.Config {
		cfg, err := TLSConfig(ca, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	t.Run("client cert", func(t *testing.T) {
		c := mustConnect(t, b.URL(), "tls-ok", withTLS(b.ClientTLS()))
		roundTrip(t, c, "brokertest/tls")
	})
	t.Run("second client cert", func(t *testing.T) {
		cert, key := b.NewClientCert("car-2")
		mustConnect(t, b.URL(), "tls-ok2", withTLS(tlsFiles(b.CAFile, cert, key)))
	})
	t.Run("no client cert", func(t *testing.T) {
		_, err := connect(t, b.URL(), "tls-nocert", withTLS(tlsFiles(b.CAFile, "", "")))
		if err == nil {
			t.Fatal("connected without a client certificate")
		}
		t.Log(err)
	})
	t.Run("client cert from other CA", func(t *testing.T) {
		cert, key := b.NewOtherClientCert("intruder")
		_, err := connect(t, b.URL(), "tls-other", withTLS(tlsFiles(b.CAFile, cert, key)))
		if err == nil {
			t.Fatal("connected with a client certificate of an untrusted CA")
		}
		t.Log(err)
	})
	t.Run("client trusts other CA", func(t *testing.T) {
		_, err := connect(t, b.URL(), "tls-wrongca", withTLS(tlsFiles(b.OtherCAFile, b.ClientCert, b.ClientKey)))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("server with a certificate of another CA accepted: %v", err)
		}
	})
}

func TestBrokerIdentityAsUsername(t *testing.T) {
	b := Start(t, WithIdentityAsUsername(),
		WithConfig("acl_file "+writeACL(t, "user car-7\ntopic readwrite cars/car-7/#\n")))
	cert, key := b.NewClientCert("car-7")
	cfg, err := TLSConfig(b.CAFile, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	c := mustConnect(t, b.URL(), "any-id", func(o *mqtt.ClientOptions) { o.SetTLSConfig(cfg) })
	got := make(chan string, 4)
	wait(t, c.Subscribe("cars/car-7/x", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }), "subscribe")

	// Another car's certificate names another user: the ACL drops its
	// publish to car-7's topics (silently, in MQTT 3.1.1).
	cert8, key8 := b.NewClientCert("car-8")
	cfg8, err := TLSConfig(b.CAFile, cert8, key8)
	if err != nil {
		t.Fatal(err)
	}
	c8 := mustConnect(t, b.URL(), "other-id", func(o *mqtt.ClientOptions) { o.SetTLSConfig(cfg8) })
	wait(t, c8.Publish("cars/car-7/x", 1, false, "forged"), "publish forged")
	wait(t, c.Publish("cars/car-7/x", 1, false, "own"), "publish own")
	select {
	case m := <-got:
		if m != "own" {
			t.Fatalf("car-7 received %q first", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("own message not received")
	}
}

func writeACL(t *testing.T, text string) string {
	f := t.TempDir() + "/acl"
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBrokerPassword(t *testing.T) {
	b := Start(t, WithPassword("fleet", "s3cret:with$odd chars"))
	ok := func(user, pass string) func(*mqtt.ClientOptions) {
		return func(o *mqtt.ClientOptions) { o.SetUsername(user).SetPassword(pass) }
	}
	c := mustConnect(t, b.URL(), "pw-ok", ok(b.Username, b.Password))
	roundTrip(t, c, "brokertest/pw")
	if _, err := connect(t, b.URL(), "pw-bad", ok("fleet", "wrong")); err == nil {
		t.Error("wrong password accepted")
	}
	if _, err := connect(t, b.URL(), "pw-anon", nil); err == nil {
		t.Error("anonymous client accepted")
	}
}

// TestBrokerRestartKeepsSession checks that a persistent session and the
// QoS 1 message queued for it while the subscriber was away survive a
// broker restart on the same port.
func TestBrokerRestartKeepsSession(t *testing.T) {
	b := Start(t)
	port := b.Port()
	persistent := func(o *mqtt.ClientOptions) { o.SetCleanSession(false) }
	sub := mustConnect(t, b.URL(), "keeper", persistent)
	wait(t, sub.Subscribe("brokertest/queued", 1, nil), "subscribe")
	sub.Disconnect(100)

	pub := mustConnect(t, b.URL(), "pub", nil)
	wait(t, pub.Publish("brokertest/queued", 1, false, "kept"), "publish")
	pub.Disconnect(100)

	b.Restart()
	if b.Port() != port {
		t.Fatalf("port %d after restart, was %d", b.Port(), port)
	}
	got := make(chan string, 4)
	mustConnect(t, b.URL(), "keeper", func(o *mqtt.ClientOptions) {
		o.SetCleanSession(false).SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			got <- m.Topic() + " " + string(m.Payload())
		})
	})
	select {
	case m := <-got:
		if m != "brokertest/queued kept" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("queued message lost across the restart")
	}
}

func TestBrokerKill(t *testing.T) {
	b := Start(t)
	b.Kill()
	if b.Running() {
		t.Fatal("running after Kill")
	}
	if _, err := connect(t, b.URL(), "dead", nil); err == nil {
		t.Fatal("connected to a killed broker")
	}
	b.Restart()
	mustConnect(t, b.URL(), "alive", nil)
}

func TestBrokerProxy(t *testing.T) {
	b := Start(t)
	p := NewProxy(t, b.URL())
	if !strings.HasPrefix(p.URL(), "tcp://127.0.0.1:") || p.URL() == b.URL() {
		t.Fatalf("proxy URL %s", p.URL())
	}
	lost := make(chan error, 1)
	c := mustConnect(t, p.URL(), "via-proxy", func(o *mqtt.ClientOptions) {
		o.SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err })
	})
	roundTrip(t, c, "brokertest/proxy")
	up, down := p.Up(), p.Down()
	// CONNECT, SUBSCRIBE, PUBLISH up; CONNACK, SUBACK, PUBACK, PUBLISH down.
	if up < 30 || down < 20 {
		t.Fatalf("proxy counted %d bytes up, %d down", up, down)
	}
	if p.Conns() != 1 {
		t.Fatalf("%d connections", p.Conns())
	}

	p.Cut()
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("client did not notice the cut")
	}
	if _, err := connect(t, p.URL(), "during-cut", nil); err == nil {
		t.Fatal("connected through a cut proxy")
	}
	if !b.Running() {
		t.Fatal("the broker stopped")
	}
	p.Resume()
	c = mustConnect(t, p.URL(), "after-cut", nil)
	roundTrip(t, c, "brokertest/proxy2")
	if p.Up() <= up || p.Down() <= down {
		t.Fatalf("counters did not grow: %d/%d", p.Up(), p.Down())
	}
}

// TestBrokerProxyTLS checks that TLS passes through the proxy (the server
// certificate names 127.0.0.1, where the proxy listens too).
func TestBrokerProxyTLS(t *testing.T) {
	b := Start(t, WithTLS())
	p := NewProxy(t, b.URL())
	if !strings.HasPrefix(p.URL(), "ssl://") {
		t.Fatalf("proxy URL %s", p.URL())
	}
	c := mustConnect(t, p.URL(), "tls-proxy", func(o *mqtt.ClientOptions) { o.SetTLSConfig(b.ClientTLS()) })
	roundTrip(t, c, "brokertest/tlsproxy")
}

func TestPasswdLine(t *testing.T) {
	l, err := passwdLine("u", "p")
	if err != nil {
		t.Fatal(err)
	}
	// Same shape as mosquitto_passwd 2.0: salt 12 bytes, hash 64 bytes.
	parts := strings.Split(l, "$")
	if len(parts) != 5 || parts[0] != "u:" || parts[1] != "7" || parts[2] != "101" || len(parts[3]) != 16 || len(parts[4]) != 88 {
		t.Fatalf("line %q", l)
	}
	if _, err := passwdLine("a:b", "p"); err == nil {
		t.Fatal("user with ':' accepted")
	}
}

// recordTB records Skipf and Fatalf instead of ending the test.
type recordTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordTB) Helper()                        {}
func (r *recordTB) Skipf(format string, a ...any)  { r.skipped = fmt.Sprintf(format, a...) }
func (r *recordTB) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }

func TestBrokerNeed(t *testing.T) {
	t.Setenv("EVEDGE_REQUIRE_MOSQUITTO", "")
	r := &recordTB{TB: t}
	need(r, "")
	if !strings.Contains(r.skipped, "mosquitto not installed") || r.failed != "" {
		t.Fatalf("skipped %q, failed %q", r.skipped, r.failed)
	}
	t.Setenv("EVEDGE_REQUIRE_MOSQUITTO", "1")
	r = &recordTB{TB: t}
	need(r, "")
	if !strings.Contains(r.failed, "EVEDGE_REQUIRE_MOSQUITTO=1") || r.skipped != "" {
		t.Fatalf("skipped %q, failed %q", r.skipped, r.failed)
	}
	r = &recordTB{TB: t}
	if need(r, "/usr/sbin/mosquitto") != "/usr/sbin/mosquitto" || r.failed != "" || r.skipped != "" {
		t.Fatal("an installed binary was refused")
	}
}
