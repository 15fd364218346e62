package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/klauspost/compress/zstd"

	"github.com/evedge/evedge/agent/uplink"
)

const fleetUsage = `Usage: evedge fleet COMMAND [flags]

The cloud side of the uplink, for trials and tests:
  listen    record what cars publish (status, health, events, answers) as JSON lines
  keygen    make the ed25519 key pair that signs requests to cars
  request   send a signed request to a car and print its answers

Run "evedge fleet COMMAND -h" for the flags of a command.
`

func cmdFleet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, fleetUsage)
		return usageError{errors.New("no command given")}
	}
	switch args[0] {
	case "listen":
		return fleetListen(ctx, args[1:], stdout, stderr)
	case "keygen":
		return fleetKeygen(args[1:], stdout, stderr)
	case "request":
		return fleetRequest(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stderr, fleetUsage)
		return flag.ErrHelp
	}
	return usageError{fmt.Errorf("unknown fleet command %q (listen, keygen, request)", args[0])}
}

// brokerFlags are the connection flags listen and request share.
type brokerFlags struct {
	url, ca, cert, key, user, pass, clientID string
}

// register adds the flags; keyFlag names the TLS client key flag (listen
// calls it --key; request needs --key for the signing key). --cert-key
// works in both.
func (f *brokerFlags) register(fs *flag.FlagSet, keyFlag string) {
	fs.StringVar(&f.url, "broker", "", "broker `URL`: tcp://host:1883, or ssl://host:8883 (also mqtts://) for TLS (required)")
	fs.StringVar(&f.ca, "ca", "", "TLS: CA certificate `file` (PEM) to trust (default: the system's)")
	fs.StringVar(&f.cert, "cert", "", "TLS: client certificate `file` (PEM)")
	fs.StringVar(&f.key, "cert-key", "", "TLS: client private key `file` (PEM)")
	if keyFlag != "cert-key" {
		fs.StringVar(&f.key, keyFlag, "", "TLS: client private key `file` (PEM), same as --cert-key")
	}
	fs.StringVar(&f.user, "username", "", "MQTT user `name`")
	fs.StringVar(&f.pass, "password", "", "MQTT password (default $EVEDGE_MQTT_PASSWORD)")
	fs.StringVar(&f.clientID, "client-id", "", "MQTT client `id`")
}

var tlsSchemes = map[string]bool{"ssl": true, "tls": true, "mqtts": true, "mqtt+ssl": true, "tcps": true, "wss": true}

// options returns paho options for one broker, protocol 3.1.1 without the
// fallback to 3.1 (which turns "bad password" into "bad protocol").
func (f *brokerFlags) options() (*mqtt.ClientOptions, error) {
	if f.url == "" {
		return nil, usageError{errors.New("--broker URL is required")}
	}
	u, err := url.Parse(f.url)
	if err != nil || u.Host == "" {
		return nil, usageError{fmt.Errorf("--broker %q: expected tcp://host:port or ssl://host:port", f.url)}
	}
	secure := tlsSchemes[u.Scheme]
	switch {
	case secure:
	case u.Scheme == "tcp" || u.Scheme == "mqtt" || u.Scheme == "ws":
		if f.ca != "" || f.cert != "" || f.key != "" {
			return nil, usageError{fmt.Errorf("--ca, --cert and --cert-key need a TLS broker URL (ssl://, mqtts://), not %s://", u.Scheme)}
		}
	default:
		return nil, usageError{fmt.Errorf("--broker %q: unknown scheme %q (tcp, ssl, mqtts, ws, wss)", f.url, u.Scheme)}
	}
	if (f.cert == "") != (f.key == "") {
		return nil, usageError{errors.New("--cert and its key (--cert-key) go together")}
	}
	o := mqtt.NewClientOptions().AddBroker(f.url).SetProtocolVersion(4).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second)
	if secure {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if f.ca != "" {
			data, err := os.ReadFile(f.ca)
			if err != nil {
				return nil, fmt.Errorf("--ca: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(data) {
				return nil, fmt.Errorf("--ca %s: no PEM certificate", f.ca)
			}
		}
		if f.cert != "" {
			c, err := tls.LoadX509KeyPair(f.cert, f.key)
			if err != nil {
				return nil, fmt.Errorf("--cert: %w", err)
			}
			cfg.Certificates = []tls.Certificate{c}
		}
		o.SetTLSConfig(cfg)
	}
	pass := f.pass
	if pass == "" {
		pass = os.Getenv("EVEDGE_MQTT_PASSWORD")
	}
	if f.user != "" {
		o.SetUsername(f.user).SetPassword(pass)
	}
	return o, nil
}

// permanentConnectError reports errors that retrying cannot fix.
func permanentConnectError(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	return errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) ||
		errors.Is(err, packets.ErrorRefusedNotAuthorised) ||
		errors.Is(err, packets.ErrorRefusedIDRejected) ||
		errors.Is(err, packets.ErrorRefusedBadProtocolVersion) ||
		errors.As(err, &unknownCA) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify)
}

// fleetKinds maps --topics names to topic filters below evedge/v1/+/.
var fleetKinds = map[string]string{
	uplink.KindStatus:   uplink.KindStatus,
	uplink.KindHealth:   uplink.KindHealth,
	uplink.KindEvent:    uplink.KindEvent,
	uplink.KindResponse: uplink.KindResponse + "/+",
	"cmd":               "cmd/+",
}

// fleetFilters returns the subscriptions for the kinds, shared in group
// when group is not empty.
func fleetFilters(kinds []string, group string) ([]string, error) {
	if group != "" && (strings.ContainsAny(group, "/+#") || strings.TrimSpace(group) != group) {
		return nil, usageError{fmt.Errorf("--share %q: a group name cannot hold '/', '+', '#' or spaces", group)}
	}
	var filters []string
	seen := map[string]bool{}
	for _, k := range kinds {
		tail, ok := fleetKinds[k]
		if !ok {
			return nil, usageError{fmt.Errorf("--topics: unknown kind %q (status, health, events, resp, cmd)", k)}
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		f := uplink.TopicRoot + "/+/" + tail
		if group != "" {
			f = "$share/" + group + "/" + f
		}
		filters = append(filters, f)
	}
	return filters, nil
}

const fleetListenUsage = `Usage: evedge fleet listen --broker URL [--share GROUP] [--out FILE.jsonl] [flags]

Subscribes (QoS 1, persistent session) to what cars publish and writes one
JSON line per message: {"topic": ..., "received": RFC 3339, "msg": payload},
or "raw" instead of "msg" for a payload that is not JSON (counted invalid).
Messages whose "id" was seen already are dropped (the last --dedupe ids are
remembered). A summary goes to stderr on exit (SIGINT, SIGTERM).

With --share GROUP several listeners split the messages ($share/GROUP/...,
each message goes to one of them); give each a different --client-id.

Flags:
`

type listenFlags struct {
	brokerFlags
	share  string
	out    string
	topics listFlag
	dedupe int
	quiet  bool
}

func fleetListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleet listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f listenFlags
	f.register(fs, "key")
	fs.StringVar(&f.share, "share", "", "shared subscription `group`: listeners in one group split the messages")
	fs.StringVar(&f.out, "out", "", "append the JSON lines to this `file` (synced every second; default stdout)")
	fs.Var(&f.topics, "topics", "message `kinds` to record: status, health, events, resp, cmd (default status,health,events,resp)")
	fs.IntVar(&f.dedupe, "dedupe", 1_000_000, "remember this many message `ids` to drop duplicates (about 50 bytes each)")
	fs.BoolVar(&f.quiet, "q", false, "log only warnings (not connects) to stderr")
	fs.Usage = func() {
		fmt.Fprint(stderr, fleetListenUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if len(f.topics) == 0 {
		f.topics = listFlag{uplink.KindStatus, uplink.KindHealth, uplink.KindEvent, uplink.KindResponse}
	}
	filters, err := fleetFilters(f.topics, f.share)
	if err != nil {
		return err
	}
	if f.dedupe < 1 {
		return usageError{fmt.Errorf("--dedupe %d: expected at least 1", f.dedupe)}
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	if f.clientID == "" {
		// A persistent session needs a stable id. Listeners sharing a
		// group on one host must be given distinct ids.
		host, _ := os.Hostname()
		f.clientID = "evedge-fleet-" + host
		if f.share != "" {
			f.clientID = "evedge-fleet-" + f.share + "-" + host
		}
	}
	level := slog.LevelInfo
	if f.quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	rec := &recorder{seen: newIDSet(f.dedupe), now: time.Now}
	if f.out != "" {
		file, err := os.OpenFile(f.out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		rec.file, rec.w = file, bufio.NewWriterSize(file, 64<<10)
	} else {
		rec.w, rec.flushEach = bufio.NewWriter(stdout), true
	}

	var subscribing sync.WaitGroup
	subs := make(map[string]byte, len(filters))
	for _, flt := range filters {
		subs[flt] = 1
	}
	opts.SetClientID(f.clientID).SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(30 * time.Second).
		SetOrderMatters(true).SetAutoAckDisabled(true).
		// Messages queued in the session arrive right after CONNACK,
		// before any route exists: the default handler takes them all.
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { rec.handle(m) }).
		SetOnConnectHandler(func(c mqtt.Client) {
			// The broker keeps the subscriptions in the session; subscribing
			// again is harmless and covers a session the broker lost.
			subscribing.Add(1)
			go func() {
				defer subscribing.Done()
				tok := c.SubscribeMultiple(subs, nil)
				err := errors.New("no SUBACK within 30s")
				if tok.WaitTimeout(30 * time.Second) {
					err = tok.Error()
				}
				if err != nil {
					log.Warn("subscribe", "err", err)
					return
				}
				log.Info("subscribed", "filters", strings.Join(filters, " "), "client_id", f.clientID)
			}()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { log.Warn("connection lost; reconnecting", "err", err) }).
		SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) { log.Info("reconnecting", "broker", f.url) })
	client := mqtt.NewClient(opts)

	// The flusher writes the buffer out (and fsyncs a file) every second;
	// a write error ends the listener, so a supervisor sees it.
	done, failed := make(chan struct{}), make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := rec.sync(); err != nil {
					failed <- err
					return
				}
			}
		}
	}()
	err = connectRetry(ctx, client, f.url, log)
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-failed:
			err = fmt.Errorf("write: %w", err)
		}
		client.Disconnect(500)
		subscribing.Wait()
	}
	rec.close()
	close(done)
	wg.Wait()
	if serr := rec.sync(); err == nil && serr != nil {
		err = fmt.Errorf("write: %w", serr)
	}
	if rec.file != nil {
		if cerr := rec.file.Close(); err == nil {
			err = cerr
		}
	}
	fmt.Fprintf(stderr, "fleet listen: %d received, %d written, %d duplicates, %d invalid\n",
		rec.received, rec.written, rec.dups, rec.invalid)
	return err
}

// connectRetry connects, retrying with backoff (1 s doubling to 30 s)
// until ctx ends; errors retrying cannot fix (refused credentials,
// untrusted certificates) end it at once. After the first connection
// paho reconnects by itself with the same backoff.
func connectRetry(ctx context.Context, c mqtt.Client, broker string, log *slog.Logger) error {
	backoff := time.Second
	for {
		tok := c.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			c.Disconnect(0)
			return nil
		}
		err := tok.Error()
		if err == nil {
			log.Info("connected", "broker", broker)
			return nil
		}
		if permanentConnectError(err) {
			return fmt.Errorf("connect %s: %w", broker, err)
		}
		log.Warn("connect failed", "broker", broker, "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// fleetLine is one line of listen's output.
type fleetLine struct {
	Topic    string          `json:"topic"`
	Received string          `json:"received"`
	Retained bool            `json:"retained,omitempty"`
	Msg      json.RawMessage `json:"msg,omitempty"`
	Raw      *string         `json:"raw,omitempty"`
}

// recorder writes messages as JSON lines, dropping duplicate ids. A
// message is acknowledged to the broker once written to the buffer, so a
// crash loses at most the last second of an --out file; after close
// messages are left unacknowledged and the broker delivers them again to
// the next session.
type recorder struct {
	mu        sync.Mutex
	w         *bufio.Writer
	file      *os.File // nil for stdout
	flushEach bool
	seen      *idSet
	now       func() time.Time
	closed    bool
	err       error

	received, written, dups, invalid int64
}

func (r *recorder) handle(m mqtt.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.received++
	if err := r.record(m.Topic(), m.Payload(), m.Retained()); err != nil {
		// Not acknowledged: the broker sends it again next session.
		if r.err == nil {
			r.err = err
		}
		return
	}
	m.Ack()
}

func (r *recorder) record(topic string, payload []byte, retained bool) error {
	line := fleetLine{Topic: topic, Received: uplink.Stamp(r.now()), Retained: retained}
	if json.Valid(payload) {
		var env struct {
			ID string `json:"id"`
		}
		// A payload that is not an object has no id and is kept.
		if json.Unmarshal(payload, &env) == nil && env.ID != "" && !r.seen.add(env.ID) {
			r.dups++
			return nil
		}
		line.Msg = payload
	} else {
		r.invalid++
		s := string(payload)
		line.Raw = &s
	}
	b, err := json.Marshal(line) // compacts msg onto one line
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := r.w.Write(b); err != nil {
		return err
	}
	r.written++
	if r.flushEach {
		return r.w.Flush()
	}
	return nil
}

func (r *recorder) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// sync flushes the buffer and, for a file, fsyncs it.
func (r *recorder) sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.w.Flush()
	if err == nil && r.file != nil {
		err = r.file.Sync()
	}
	if err == nil {
		err = r.err
	}
	return err
}

// idSet remembers the last n distinct message ids, as 16-byte SHA-256
// prefixes in a map and a ring (about 50 bytes per id: ~50 MB for a
// million). An id older than the last n can pass again.
type idSet struct {
	m    map[[16]byte]struct{}
	ring [][16]byte
	next int
	n    int
}

func newIDSet(n int) *idSet { return &idSet{m: map[[16]byte]struct{}{}, n: n} }

// add records id and reports whether it was new.
func (s *idSet) add(id string) bool {
	sum := sha256.Sum256([]byte(id))
	var k [16]byte
	copy(k[:], sum[:16])
	if _, ok := s.m[k]; ok {
		return false
	}
	if len(s.ring) < s.n {
		s.ring = append(s.ring, k)
	} else {
		delete(s.m, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % s.n
	}
	s.m[k] = struct{}{}
	return true
}

const fleetKeygenUsage = `Usage: evedge fleet keygen --out DIR [--force]

Writes an ed25519 key pair for signing requests to cars:
DIR/oem-request.key (PKCS #8 PEM, mode 0600: keep it secret) and
DIR/oem-request.pub (PKIX PEM), and prints the public key in base64 for
the car's configuration.

Flags:
`

func fleetKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleet keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("out", "", "`directory` for the key files (created if missing)")
	force := fs.Bool("force", false, "overwrite existing key files")
	fs.Usage = func() {
		fmt.Fprint(stderr, fleetKeygenUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if *dir == "" {
		return usageError{errors.New("--out DIR is required")}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	keyFile, pubFile := filepath.Join(*dir, "oem-request.key"), filepath.Join(*dir, "oem-request.pub")
	if err := writeKeyFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600, *force); err != nil {
		return err
	}
	if err := writeKeyFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644, *force); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s (secret: it signs requests to cars) and %s\npublic key for the car's configuration:\n", keyFile, pubFile)
	_, err = fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(pub))
	return err
}

// writeKeyFile writes data, refusing to replace a file unless force; the
// mode is set explicitly so a umask cannot widen nor narrow it.
func writeKeyFile(name string, data []byte, mode os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(name, flags, mode)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists (--force replaces it)", name)
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const fleetRequestUsage = `Usage: evedge fleet request --broker URL --key FILE --vehicle ID [flags] NAME [ARG...]

Signs a request with the OEM key, publishes it to evedge/v1/<vehicle>/cmd/<NAME>
(QoS 1) and prints the car's answers from .../resp/<request-id> as JSON lines
until the final one. Exits 1 when the car refuses or fails, or when no answer
comes within --wait.

Arguments are key=value (a string) or key:=JSON (a number, true, an object...),
sent as one JSON object. For logs: from=T [to=T] [bus=N] [format=candump|gvret|asc|csv]
[from_chunk=N], times as RFC 3339, unix seconds or -DURATION (-15m); to defaults
to now. With -o FILE the log chunks are appended to FILE.part in chunk order,
whatever order they arrive in (duplicates dropped); once all are in, FILE.part
is decompressed (zstd) into FILE. When some are missing, FILE.part holds the
chunks before the first gap and the error names the from_chunk=N to resume with
(the same -o FILE appends to FILE.part).

Flags:
`

type requestFlags struct {
	brokerFlags
	signKey string
	vehicle string
	expires time.Duration
	wait    time.Duration
	out     string
}

func fleetRequest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleet request", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f requestFlags
	f.register(fs, "cert-key")
	fs.StringVar(&f.signKey, "key", "", "ed25519 private key `file` that signs the request (from fleet keygen)")
	fs.StringVar(&f.vehicle, "vehicle", "", "vehicle `id` (a topic level)")
	fs.DurationVar(&f.expires, "expires", 5*time.Minute, "the request is valid this long after now (at most 24h)")
	fs.DurationVar(&f.wait, "wait", 30*time.Second, "give up after this long without an answer")
	fs.StringVar(&f.out, "o", "", "logs: write the log data to this `file`")
	fs.Usage = func() {
		fmt.Fprint(stderr, fleetRequestUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageError{errors.New("no request NAME given")}
	}
	name, kv := pos[0], pos[1:]
	switch {
	case f.signKey == "":
		return usageError{errors.New("--key FILE (the signing key) is required")}
	case !uplink.ValidVehicleID(f.vehicle):
		return usageError{fmt.Errorf("--vehicle %q: expected a non-empty id without '/', '+', '#' or spaces", f.vehicle)}
	case name == "" || strings.ContainsAny(name, "/+# ") || strings.HasPrefix(name, "-"):
		return usageError{fmt.Errorf("request name %q: expected a topic level such as health, logs, dtc", name)}
	case f.expires <= 0 || f.expires > uplink.MaxRequestLife:
		return usageError{fmt.Errorf("--expires %v: expected more than 0 and at most %v", f.expires, uplink.MaxRequestLife)}
	case f.wait <= 0:
		return usageError{fmt.Errorf("--wait %v: expected more than 0", f.wait)}
	case f.out != "" && name != "logs":
		return usageError{errors.New("-o FILE is for logs requests")}
	}
	now := time.Now()
	reqArgs, fromChunk, err := requestArgs(name, kv, now)
	if err != nil {
		return usageError{err}
	}
	keyText, err := os.ReadFile(f.signKey)
	if err != nil {
		return err
	}
	key, err := uplink.ParsePrivateKey(string(keyText))
	if err != nil {
		return fmt.Errorf("--key %s: %w", f.signKey, err)
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	req := uplink.Request{ID: uplink.NewID(), Vehicle: f.vehicle, Name: name, Args: reqArgs,
		Issued: now.UTC().Truncate(time.Millisecond), Expires: now.Add(f.expires).UTC().Truncate(time.Millisecond)}
	payload, err := uplink.Sign(key, req)
	if err != nil {
		return err
	}

	var asm *chunkAssembler
	if name == "logs" {
		if asm, err = newChunkAssembler(f.out, fromChunk); err != nil {
			return err
		}
		defer func() {
			if asm.part != nil {
				asm.part.Close()
			}
		}()
	}

	if f.clientID == "" {
		f.clientID = "evedge-fleet-req-" + req.ID[:12]
	}
	answers := make(chan []byte, 256)
	opts.SetClientID(f.clientID).SetCleanSession(true).SetAutoReconnect(false)
	client := mqtt.NewClient(opts)
	if err := waitToken(ctx, client.Connect(), "connect "+f.url); err != nil {
		return err
	}
	defer client.Disconnect(250)
	quit := make(chan struct{}) // closed before Disconnect: unblocks the handler
	defer close(quit)
	respTopic := uplink.Topic(f.vehicle, uplink.KindResponse, req.ID)
	if err := waitToken(ctx, client.Subscribe(respTopic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case answers <- m.Payload():
		case <-quit:
		}
	}), "subscribe "+respTopic); err != nil {
		return err
	}
	cmdTopic := uplink.Topic(f.vehicle, "cmd", name)
	if err := waitToken(ctx, client.Publish(cmdTopic, 1, false, payload), "publish "+cmdTopic); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "request %s sent to %s (expires %s)\n", req.ID, cmdTopic, req.Expires.Format(time.RFC3339))

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	idle := time.NewTimer(f.wait)
	defer idle.Stop()
	answered := false
	for {
		select {
		case <-ctx.Done():
			return asm.finish(errors.New("interrupted"), stderr)
		case <-idle.C:
			what := "no answer"
			if answered {
				what = "no further answer"
			} else {
				fmt.Fprintln(stderr, "no answer: a car ignores requests it cannot verify (check --key against the car's key and --vehicle), and answers only while online")
			}
			return asm.finish(fmt.Errorf("%s within %v", what, f.wait), stderr)
		case p := <-answers:
			answered = true
			idle.Reset(f.wait)
			done, err := handleAnswer(p, req.ID, asm, out)
			if ferr := out.Flush(); err == nil {
				err = ferr
			}
			if done || err != nil {
				return asm.finish(err, stderr)
			}
		}
	}
}

// requestArgs builds the request's arguments from key=value and
// key:=JSON pairs; for logs it checks them as uplink.LogArgs and returns
// from_chunk.
func requestArgs(name string, kv []string, now time.Time) (json.RawMessage, int, error) {
	obj := map[string]json.RawMessage{}
	str := map[string]string{}
	for _, a := range kv {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, 0, fmt.Errorf("argument %q: expected key=value or key:=JSON", a)
		}
		if raw, isJSON := strings.CutSuffix(k, ":"); isJSON {
			if !json.Valid([]byte(v)) {
				return nil, 0, fmt.Errorf("argument %s: %q is not JSON", raw, v)
			}
			k = raw
			obj[k] = json.RawMessage(v)
		} else {
			b, _ := json.Marshal(v)
			obj[k] = b
			str[k] = v
		}
		if k == "" {
			return nil, 0, fmt.Errorf("argument %q: empty key", a)
		}
	}
	if name != "logs" {
		if len(obj) == 0 {
			return nil, 0, nil
		}
		b, err := json.Marshal(obj)
		return b, 0, err
	}
	var la uplink.LogArgs
	text := func(k string) (string, bool) {
		if s, ok := str[k]; ok {
			return s, true
		}
		if raw, ok := obj[k]; ok {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return s, true
			}
			return string(raw), true
		}
		return "", false
	}
	for k := range obj {
		switch k {
		case "from", "to", "bus", "format", "from_chunk":
		default:
			return nil, 0, fmt.Errorf("logs: unknown argument %q (from, to, bus, format, from_chunk)", k)
		}
	}
	s, ok := text("from")
	if !ok {
		return nil, 0, errors.New("logs: from=TIME is required (RFC 3339, unix seconds or -DURATION)")
	}
	var err error
	if la.From, err = parseTime(s, now); err != nil {
		return nil, 0, fmt.Errorf("logs from: %w", err)
	}
	la.To = now
	if s, ok := text("to"); ok {
		if la.To, err = parseTime(s, now); err != nil {
			return nil, 0, fmt.Errorf("logs to: %w", err)
		}
	}
	if la.To.Before(la.From) {
		return nil, 0, fmt.Errorf("logs: to %s is before from %s", la.To.Format(time.RFC3339), la.From.Format(time.RFC3339))
	}
	la.From, la.To = la.From.UTC(), la.To.UTC()
	if s, ok := text("bus"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 255 {
			return nil, 0, fmt.Errorf("logs bus %q: expected 0..255", s)
		}
		la.Bus = &n
	}
	if s, ok := text("format"); ok {
		switch s {
		case "candump", "gvret", "asc", "csv":
		default:
			return nil, 0, fmt.Errorf("logs format %q: expected candump, gvret, asc or csv", s)
		}
		la.Format = s
	}
	if s, ok := text("from_chunk"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, 0, fmt.Errorf("logs from_chunk %q: expected a chunk number from 0", s)
		}
		la.FromChunk = n
	}
	b, err := json.Marshal(la)
	return b, la.FromChunk, err
}

func waitToken(ctx context.Context, tok mqtt.Token, what string) error {
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// handleAnswer prints one answer from resp/<id> (an evedge.response/1 or
// an evedge.logchunk/1) and reports whether it was the final one; refused
// and failed requests return an error.
func handleAnswer(p []byte, reqID string, asm *chunkAssembler, out io.Writer) (bool, error) {
	var env struct {
		Schema  string `json:"schema"`
		Request string `json:"request"`
	}
	if err := json.Unmarshal(p, &env); err != nil {
		return false, writeJSON(out, struct {
			Raw   string `json:"raw"`
			Error string `json:"error"`
		}{string(p), err.Error()})
	}
	if env.Request != "" && env.Request != reqID {
		return false, nil // not ours
	}
	switch env.Schema {
	case uplink.SchemaLogChunk:
		var c uplink.LogChunk
		if err := json.Unmarshal(p, &c); err != nil {
			return false, writeJSON(out, struct {
				Raw   string `json:"raw"`
				Error string `json:"error"`
			}{string(p), err.Error()})
		}
		if asm != nil && asm.part != nil {
			// Print the chunk without its data, which goes to the file.
			var m map[string]json.RawMessage
			if err := json.Unmarshal(p, &m); err != nil {
				return false, err
			}
			delete(m, "data")
			m["bytes"] = json.RawMessage(strconv.Itoa(len(c.Data)))
			if err := writeJSON(out, m); err != nil {
				return false, err
			}
		} else if _, err := fmt.Fprintf(out, "%s\n", compactJSON(p)); err != nil {
			return false, err
		}
		if asm == nil {
			return false, nil
		}
		if err := asm.add(c); err != nil {
			return false, err
		}
		return asm.complete(), nil
	case uplink.SchemaResponse:
		if _, err := fmt.Fprintf(out, "%s\n", compactJSON(p)); err != nil {
			return false, err
		}
		var r uplink.Response
		if err := json.Unmarshal(p, &r); err != nil {
			return false, fmt.Errorf("response: %w", err)
		}
		switch r.Status {
		case "ok":
			// A logs request ends with its last chunk; an "ok" before
			// any chunk means there is nothing to send.
			return asm == nil || asm.complete() || asm.seen == 0, nil
		case "refused", "error":
			msg := r.Error
			if msg == "" {
				msg = "(no reason given)"
			}
			return true, fmt.Errorf("request %s: %s", r.Status, msg)
		}
		return false, nil
	default:
		_, err := fmt.Fprintf(out, "%s\n", compactJSON(p))
		return false, err
	}
}

func compactJSON(p []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return p
	}
	return b.Bytes()
}

// chunkAssembler puts a log upload together. Chunks are appended to
// FILE.part in chunk order (one that arrives early waits in memory for
// those before it; duplicates are dropped), so FILE.part always holds
// chunks first..next-1 without a gap and a new request with
// from_chunk=next resumes it. When the last chunk is in, FILE.part is
// decompressed (zstd) into FILE and removed.
type chunkAssembler struct {
	out         string   // FILE; "" = only track completeness
	part        *os.File // FILE.part
	first       int      // from_chunk of the request
	next        int      // next chunk to write
	last        int      // index of the last chunk, -1 until known
	pending     map[int][]byte
	seen        int // chunks received, duplicates included
	dups        int
	written     int64
	compression string
	format      string
}

func newChunkAssembler(out string, fromChunk int) (*chunkAssembler, error) {
	a := &chunkAssembler{out: out, first: fromChunk, next: fromChunk, last: -1, pending: map[int][]byte{}}
	if out == "" {
		return a, nil
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if fromChunk > 0 {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND // resuming
	}
	f, err := os.OpenFile(out+".part", flags, 0o644)
	if err != nil {
		return nil, err
	}
	if fromChunk > 0 {
		if a.written, err = f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return nil, err
		}
	}
	a.part = f
	return a, nil
}

func (a *chunkAssembler) add(c uplink.LogChunk) error {
	a.seen++
	if c.Compression != "" {
		a.compression = c.Compression
	}
	if c.Format != "" {
		a.format = c.Format
	}
	if c.Last && (a.last < 0 || c.Chunk < a.last) {
		a.last = c.Chunk
	}
	if c.Chunks > 0 && (a.last < 0 || c.Chunks-1 < a.last) {
		a.last = c.Chunks - 1
	}
	if _, ok := a.pending[c.Chunk]; ok || c.Chunk < a.next {
		a.dups++
		return nil
	}
	a.pending[c.Chunk] = c.Data
	for {
		data, ok := a.pending[a.next]
		if !ok {
			return nil
		}
		if a.part != nil {
			n, err := a.part.Write(data)
			a.written += int64(n)
			if err != nil {
				return fmt.Errorf("%s.part: %w", a.out, err)
			}
		}
		delete(a.pending, a.next)
		a.next++
	}
}

func (a *chunkAssembler) complete() bool { return a.last >= 0 && a.next > a.last }

// missing lists the chunks not received between next and the last one
// (or the highest received when the last is not known).
func (a *chunkAssembler) missing() []int {
	end := a.last
	if end < 0 {
		for k := range a.pending {
			end = max(end, k)
		}
	}
	var m []int
	for i := a.next; i <= end; i++ {
		if _, ok := a.pending[i]; !ok {
			m = append(m, i)
		}
	}
	return m
}

// finish ends a logs request: when complete it writes FILE, otherwise it
// keeps FILE.part and returns an error naming the missing chunks and the
// from_chunk to resume with. err is the request's error so far.
func (a *chunkAssembler) finish(err error, stderr io.Writer) error {
	if a == nil {
		return err
	}
	if a.part != nil {
		serr := a.part.Sync()
		if cerr := a.part.Close(); serr == nil {
			serr = cerr
		}
		if err == nil && serr != nil {
			err = fmt.Errorf("%s.part: %w", a.out, serr)
		}
	}
	if a.complete() {
		if err == nil && a.out != "" {
			if err = a.assemble(); err == nil {
				fi, _ := os.Stat(a.out)
				size := int64(0)
				if fi != nil {
					size = fi.Size()
				}
				fmt.Fprintf(stderr, "wrote %s: %d bytes (%s) from chunks %d-%d, %d duplicates dropped\n",
					a.out, size, orDash(a.format), a.first, a.last, a.dups)
			}
		}
		return err
	}
	if err == nil && a.seen == 0 {
		return nil // an "ok" with nothing to send
	}
	var b strings.Builder
	switch m := a.missing(); {
	case a.last < 0 && len(m) == 0:
		fmt.Fprintf(&b, "last chunk not received (got up to %d)", a.next-1)
	case a.last < 0:
		fmt.Fprintf(&b, "missing chunks %s, last chunk not received", ranges(m))
	default:
		fmt.Fprintf(&b, "missing chunks %s of %d-%d", ranges(m), a.first, a.last)
	}
	if a.out != "" {
		fmt.Fprintf(&b, "; %s.part holds chunks %d-%d (%d bytes): resume with from_chunk=%d -o %s", a.out, a.first, a.next-1, a.written, a.next, a.out)
	}
	if err != nil {
		return fmt.Errorf("%w: %s", err, b.String())
	}
	return errors.New(b.String())
}

// assemble turns FILE.part into FILE (decompressed), through a temporary
// file renamed into place.
func (a *chunkAssembler) assemble() error {
	part := a.out + ".part"
	switch a.compression {
	case "":
		return os.Rename(part, a.out)
	case "zstd":
	default:
		return fmt.Errorf("chunks use compression %q, which this evedge does not know; %s is left as received", a.compression, part)
	}
	in, err := os.Open(part)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := zstd.NewReader(in, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	tmp, err := os.CreateTemp(filepath.Dir(a.out), filepath.Base(a.out)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing to remove
	if _, err := io.Copy(tmp, zr); err != nil {
		tmp.Close()
		return fmt.Errorf("decompress %s: %w", part, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), a.out); err != nil {
		return err
	}
	return os.Remove(part)
}

// ranges formats numbers as "1, 3-5, 9".
func ranges(n []int) string {
	sort.Ints(n)
	var parts []string
	for i := 0; i < len(n); {
		j := i
		for j+1 < len(n) && n[j+1] == n[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(n[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", n[i], n[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
