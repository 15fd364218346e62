// Package brokertest starts a real Mosquitto MQTT broker on loopback for
// tests: persistent sessions and queued QoS 1 messages survive Stop and
// Restart on the same port, TLS with throwaway certificates (client
// certificates required) or a password can be switched on, and a TCP proxy
// counts bytes and cuts connections to simulate a cellular outage.
//
// Tests skip when mosquitto is not installed (apt-get install mosquitto, or
// scripts/deps.sh), unless EVEDGE_REQUIRE_MOSQUITTO=1, which makes them
// fail instead. EVEDGE_MOSQUITTO names the binary when it is not on PATH
// or in /usr/sbin.
package brokertest

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Option changes how Start configures the broker.
type Option func(*options)

type options struct {
	tls            bool
	identityAsUser bool
	user, pass     string
	extra          []string
}

// WithTLS makes the listener TLS-only (ssl://) with a throwaway CA, a
// server certificate for 127.0.0.1 and localhost, and required client
// certificates signed by that CA. See Broker.CAFile and the other paths.
func WithTLS() Option { return func(o *options) { o.tls = true } }

// WithIdentityAsUsername implies WithTLS and makes the client certificate's
// common name the MQTT username (use_identity_as_username).
func WithIdentityAsUsername() Option {
	return func(o *options) { o.tls, o.identityAsUser = true, true }
}

// WithPassword turns anonymous access off and accepts this one user.
func WithPassword(user, pass string) Option {
	return func(o *options) { o.user, o.pass = user, pass }
}

// WithConfig appends raw lines to mosquitto.conf (after the listener, so
// listener options apply to it), e.g. "max_queued_messages 10".
func WithConfig(lines ...string) Option {
	return func(o *options) { o.extra = append(o.extra, lines...) }
}

// Broker is a running (or stopped) mosquitto. Its files live in Dir.
type Broker struct {
	// TLS files in PEM (WithTLS only): the CA the broker trusts and its
	// server certificate chains to, a client certificate and key signed by
	// it, and an unrelated CA for "wrong CA is refused" tests.
	CAFile, ClientCert, ClientKey string
	OtherCAFile                   string
	// Username and Password given to WithPassword.
	Username, Password string
	// Dir holds mosquitto.conf, the persistence database (data/) and the
	// log (mosquitto.log).
	Dir     string
	LogFile string

	t       testing.TB
	bin     string
	opts    options
	port    int
	ca      *authority
	otherCA *authority
	certSeq int
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Binary returns the path of the mosquitto binary, or "" when it is not
// installed.
func Binary() string {
	if p := os.Getenv("EVEDGE_MOSQUITTO"); p != "" {
		return p
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Need skips the test when mosquitto is not installed, or fails it when
// EVEDGE_REQUIRE_MOSQUITTO=1. It returns the binary's path.
func Need(t testing.TB) string {
	t.Helper()
	return need(t, Binary())
}

func need(t testing.TB, bin string) string {
	t.Helper()
	if bin == "" {
		msg := "mosquitto not installed (apt-get install mosquitto, or scripts/deps.sh; EVEDGE_MOSQUITTO=PATH names the binary)"
		if os.Getenv("EVEDGE_REQUIRE_MOSQUITTO") == "1" {
			t.Fatalf("brokertest: %s, and EVEDGE_REQUIRE_MOSQUITTO=1", msg)
			return ""
		}
		t.Skipf("brokertest: %s; set EVEDGE_REQUIRE_MOSQUITTO=1 to fail instead", msg)
	}
	return bin
}

// Start starts mosquitto on 127.0.0.1 on a free port and waits until it
// accepts connections. The broker is killed when the test ends; its log is
// printed when the test failed.
func Start(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	b := &Broker{t: t, bin: Need(t), Dir: t.TempDir()}
	for _, o := range opts {
		o(&b.opts)
	}
	b.LogFile = filepath.Join(b.Dir, "mosquitto.log")
	if err := os.MkdirAll(filepath.Join(b.Dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if b.opts.tls {
		if err := b.makeCerts(); err != nil {
			t.Fatalf("brokertest: certificates: %v", err)
		}
	}
	if b.opts.user != "" {
		b.Username, b.Password = b.opts.user, b.opts.pass
		line, err := passwdLine(b.opts.user, b.opts.pass)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.Dir, "passwd"), []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("brokertest: mosquitto log (%s):\n%s", b.LogFile, b.Log())
		}
	})
	// The free port is found by binding and closing, so another process
	// can take it in between: try a few ports.
	var err error
	for try := 0; try < 5; try++ {
		if b.port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		if err = b.start(); err == nil {
			return b
		}
		if !strings.Contains(b.Log(), "in use") {
			break
		}
	}
	t.Fatalf("brokertest: %v\nmosquitto log:\n%s", err, b.Log())
	return nil
}

// URL returns the broker's address for paho: tcp://127.0.0.1:PORT, or
// ssl://127.0.0.1:PORT with WithTLS.
func (b *Broker) URL() string {
	if b.opts.tls {
		return "ssl://" + b.Addr()
	}
	return "tcp://" + b.Addr()
}

// Addr returns 127.0.0.1:PORT.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// Port returns the listener's port; it stays the same across Restart.
func (b *Broker) Port() int { return b.port }

// Log returns what mosquitto logged so far (all runs).
func (b *Broker) Log() string {
	data, _ := os.ReadFile(b.LogFile)
	return string(data)
}

// Running reports whether the mosquitto process is alive.
func (b *Broker) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return false
	}
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits; mosquitto saves its persistence database
// on the way out. It does nothing when the broker is not running.
func (b *Broker) Stop() { b.signal(syscall.SIGTERM) }

// Kill sends SIGKILL and waits: what was not yet autosaved (every second)
// is lost, as in a crash.
func (b *Broker) Kill() { b.signal(syscall.SIGKILL) }

// Restart stops the broker if it runs and starts it again on the same port
// with the same persistence directory, then waits until it accepts
// connections.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	var err error
	// The port may be briefly unavailable right after the old process.
	for try := 0; try < 20; try++ {
		if err = b.start(); err == nil {
			return
		}
		if !strings.Contains(b.Log(), "in use") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("brokertest: restart: %v\nmosquitto log:\n%s", err, b.Log())
}

func (b *Broker) signal(sig syscall.Signal) {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (b *Broker) start() error {
	conf := filepath.Join(b.Dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(b.config()), 0o600); err != nil {
		return err
	}
	logf, err := os.OpenFile(b.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "--- brokertest: starting %s -c %s (port %d)\n", b.bin, conf, b.port)
	cmd := exec.Command(b.bin, "-c", conf)
	cmd.Dir = b.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start mosquitto: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	b.mu.Lock()
	b.cmd, b.exited = cmd, exited
	b.mu.Unlock()

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("mosquitto exited at start (%v)", cmd.ProcessState)
		default:
		}
		c, err := net.DialTimeout("tcp", b.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			b.signal(syscall.SIGKILL)
			return fmt.Errorf("mosquitto does not accept connections on %s: %v", b.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *Broker) config() string {
	var c strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&c, format+"\n", args...) }
	w("# written by brokertest")
	if os.Geteuid() == 0 {
		// As root mosquitto drops to the mosquitto user, which cannot
		// write into the test's temporary directory.
		w("user root")
	}
	w("persistence true")
	w("persistence_location %s/", filepath.Join(b.Dir, "data"))
	w("autosave_interval 1")
	w("max_queued_messages 10000")
	w("log_dest stderr")
	for _, t := range []string{"error", "warning", "notice", "information"} {
		w("log_type %s", t)
	}
	w("connection_messages true")
	w("log_timestamp true")
	w("log_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S")
	if b.opts.user != "" {
		w("allow_anonymous false")
		w("password_file %s", filepath.Join(b.Dir, "passwd"))
	} else {
		w("allow_anonymous true")
	}
	w("listener %d 127.0.0.1", b.port)
	if b.opts.tls {
		w("cafile %s", b.CAFile)
		w("certfile %s", filepath.Join(b.Dir, "server.crt"))
		w("keyfile %s", filepath.Join(b.Dir, "server.key"))
		w("require_certificate true")
		if b.opts.identityAsUser {
			w("use_identity_as_username true")
		}
	}
	for _, l := range b.opts.extra {
		w("%s", l)
	}
	return c.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// passwdLine returns a mosquitto password file line in the format
// mosquitto_passwd writes since 2.0: $7$ is PBKDF2-HMAC-SHA512 with the
// iteration count, a 12-byte salt and a 64-byte hash, both in base64.
func passwdLine(user, pass string) (string, error) {
	if user == "" || strings.ContainsAny(user, ":\n") {
		return "", errors.New("brokertest: password user must be non-empty without ':'")
	}
	const iter = 101
	salt := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	hash, err := pbkdf2.Key(sha512.New, pass, salt, iter, sha512.Size)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:$7$%d$%s$%s", user, iter, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(hash)), nil
}
