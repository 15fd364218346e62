package uplink

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/wallclock"
)

// Options configure the uplink.
type Options struct {
	// Broker is tcp://host:port, ssl://host:port (or tls://, mqtts://).
	Broker string
	// Vehicle is the vehicle id, one topic level.
	Vehicle string
	// ClientID defaults to "evedge-<vehicle>".
	ClientID           string
	Username, Password string
	// TLS is used for ssl:// brokers (CA, client certificate); nil uses the
	// system roots.
	TLS *tls.Config
	// KeepAlive is the MQTT keepalive (default 5 min: each ping costs about
	// 150 bytes of the data budget).
	KeepAlive time.Duration
	// Store holds the outbox, sequences, nonces and byte counters. Required.
	Store *store.Store
	// RequestKey verifies signed requests; nil refuses every request.
	RequestKey ed25519.PublicKey
	// Skew is the clock tolerance for request validity (default 5 min).
	Skew time.Duration
	// Handlers answer requests by name (health, logs, dtc ...).
	Handlers map[string]Handler
	// Version goes into the status message.
	Version string
	Logger  *slog.Logger
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// MaxBackoff caps the jittered reconnect backoff (default 60 s).
	MaxBackoff time.Duration
	// Window is how many messages are published before waiting for their
	// acknowledgements (default 256).
	Window int
}

// Handler answers one verified request. It may publish more messages
// (health reports, log chunks) through u and returns the response body.
type Handler func(ctx context.Context, u *Uplink, r Request) (any, error)

// Stats are the uplink's counters.
type Stats struct {
	Connected     bool
	Connects      uint64
	ConnectErrors uint64
	Published     uint64 // messages acknowledged by the broker
	Bytes         uint64 // estimated link bytes since start
	Requests      uint64
	Refused       uint64
	LastError     string
}

// Uplink is the MQTT session of one car.
type Uplink struct {
	o      Options
	tls    bool
	kick   chan struct{}
	reqs   chan mqtt.Message
	booted time.Time

	mu    sync.Mutex
	stats Stats

	connected atomic.Bool
	bytes     atomic.Uint64

	// clock (SetClock) says when wall time is trusted; until then
	// messages wait in held (guarded by hmu, as is booted).
	clock       *wallclock.Gate
	hmu         sync.Mutex
	held        []heldMsg
	heldDropped int
	bootMono    wallclock.Mono
	bootHeld    bool // booted is on the untrusted clock: restamp from bootMono
}

// heldMsg is a message published before the wall clock was sane.
type heldMsg struct {
	kind, schema, topic string
	priority            int
	build               func(Envelope) any
	id                  string
	m                   wallclock.Mono // when it was made
}

// MaxHeld bounds the messages Publish holds while the wall clock is not
// trusted (see SetClock); past it the oldest are dropped.
const MaxHeld = 1024

// New checks the options.
func New(o Options) (*Uplink, error) {
	if o.Store == nil {
		return nil, errors.New("uplink: no store")
	}
	if !ValidVehicleID(o.Vehicle) {
		return nil, fmt.Errorf("uplink: vehicle id %q: want 1..64 characters without / # + or spaces", o.Vehicle)
	}
	u, err := url.Parse(o.Broker)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("uplink: broker %q: want tcp://host:port or ssl://host:port", o.Broker)
	}
	up := &Uplink{o: o, kick: make(chan struct{}, 1), reqs: make(chan mqtt.Message, 16)}
	switch u.Scheme {
	case "tcp", "mqtt":
	case "ssl", "tls", "mqtts", "tcps":
		up.tls = true
	default:
		return nil, fmt.Errorf("uplink: broker %q: scheme %q: want tcp or ssl", o.Broker, u.Scheme)
	}
	if up.o.ClientID == "" {
		up.o.ClientID = "evedge-" + o.Vehicle
	}
	if up.o.KeepAlive == 0 {
		up.o.KeepAlive = 5 * time.Minute
	}
	if up.o.Skew == 0 {
		up.o.Skew = 5 * time.Minute
	}
	if up.o.Logger == nil {
		up.o.Logger = slog.New(slog.DiscardHandler)
	}
	if up.o.Now == nil {
		up.o.Now = time.Now
	}
	if up.o.MaxBackoff == 0 {
		up.o.MaxBackoff = time.Minute
	}
	if up.o.Window <= 0 {
		up.o.Window = 256
	}
	up.booted = up.o.Now()
	return up, nil
}

// TLS reports whether the broker link is encrypted.
func (u *Uplink) TLS() bool { return u.tls }

// Vehicle returns the vehicle id.
func (u *Uplink) Vehicle() string { return u.o.Vehicle }

// Stats returns a snapshot of the counters.
func (u *Uplink) Stats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.stats
	s.Connected = u.connected.Load()
	s.Bytes = u.bytes.Load()
	return s
}

func (u *Uplink) count(f func(*Stats)) {
	u.mu.Lock()
	f(&u.stats)
	u.mu.Unlock()
}

func (u *Uplink) envelope(schema string, seq int64) Envelope {
	return Envelope{Schema: schema, ID: NewID(), Seq: seq, Vehicle: u.o.Vehicle, Time: Stamp(u.o.Now())}
}

// SetClock makes the uplink wait for wall time it can trust: g says when
// the clock is sane (a board without RTC before NTP or GNSS set it; see
// wallclock.Gate). Until then Run does not connect (the broker's TLS
// certificate and the validity of signed requests cannot be checked
// against a wrong clock anyway), Publish holds messages, at most MaxHeld,
// the oldest dropped, and queues them once the clock is sane, in order and
// stamped with the true time they were made at (placed by the monotonic
// clock), and the health reporter keeps its first window open. Call it
// before Run and before anything is published; nil or a sane clock
// changes nothing.
func (u *Uplink) SetClock(g *wallclock.Gate) {
	u.hmu.Lock()
	defer u.hmu.Unlock()
	u.clock = g
	if g != nil && !g.Sane() {
		u.bootMono, u.bootHeld = g.Mono(), true
	}
}

// boot is when the uplink started, for status messages.
func (u *Uplink) boot() time.Time {
	u.hmu.Lock()
	defer u.hmu.Unlock()
	return u.booted
}

// releaseLocked queues the held messages once the clock is sane (hmu held).
func (u *Uplink) releaseLocked() {
	if u.bootHeld {
		if w, ok := u.clock.Wall(u.bootMono); ok {
			u.booted, u.bootHeld = w, false
		}
	}
	if len(u.held) == 0 && u.heldDropped == 0 {
		return
	}
	var failed int
	for _, h := range u.held {
		w, _ := u.clock.Wall(h.m)
		if _, err := u.enqueue(h.kind, h.schema, h.topic, h.priority, h.build, h.id, w); err != nil {
			failed++
			u.o.Logger.Error("uplink: queueing a message held for the clock", "kind", h.kind, "err", err)
		}
	}
	u.o.Logger.Info("uplink: clock sane: held messages queued at the times they were made",
		"messages", len(u.held)-failed, "dropped_while_held", u.heldDropped)
	u.held, u.heldDropped = nil, 0
}

// Publish puts a message into the outbox: build receives the envelope
// (schema, a fresh id, the kind's next sequence number) and returns the
// payload value, marshalled to JSON. build runs under the store's lock: it
// must not call the store. The message leaves when the broker is
// reachable, in order with the others of its kind.
//
// While the wall clock is not trusted (SetClock) the message is held:
// build runs later, and the envelope returned has its id but no sequence
// number or time yet.
func (u *Uplink) Publish(kind, schema, topic string, priority int, build func(Envelope) any) (Envelope, error) {
	if u.clock == nil {
		return u.enqueue(kind, schema, topic, priority, build, "", u.o.Now())
	}
	u.hmu.Lock()
	defer u.hmu.Unlock()
	if !u.clock.Sane() {
		h := heldMsg{kind: kind, schema: schema, topic: topic, priority: priority, build: build, id: NewID(), m: u.clock.Mono()}
		if len(u.held) >= MaxHeld {
			u.held = u.held[1:]
			u.heldDropped++
		}
		u.held = append(u.held, h)
		return Envelope{Schema: schema, ID: h.id, Vehicle: u.o.Vehicle}, nil
	}
	u.releaseLocked()
	return u.enqueue(kind, schema, topic, priority, build, "", u.o.Now())
}

// enqueue puts a message made at t into the outbox, with message id id
// (a fresh one when "").
func (u *Uplink) enqueue(kind, schema, topic string, priority int, build func(Envelope) any, id string, t time.Time) (Envelope, error) {
	var env Envelope
	_, _, err := u.o.Store.EnqueueSeq(store.OutMsg{Kind: kind, Priority: priority, Topic: topic, QoS: 1, Retain: kind == KindStatus}, kind,
		func(seq int64) ([]byte, error) {
			env = Envelope{Schema: schema, ID: id, Seq: seq, Vehicle: u.o.Vehicle, Time: Stamp(t)}
			if env.ID == "" {
				env.ID = NewID()
			}
			b, err := json.Marshal(build(env))
			if err != nil {
				return nil, err
			}
			if len(b) > MaxPayload {
				return nil, fmt.Errorf("uplink: %s payload of %d bytes over the %d limit", kind, len(b), MaxPayload)
			}
			return b, nil
		})
	if err != nil {
		return env, err
	}
	select {
	case u.kick <- struct{}{}:
	default:
	}
	return env, nil
}

// PublishEvent queues an event (urgent: it leaves before health reports).
func (u *Uplink) PublishEvent(kind string, severity int, source string, body any) (Envelope, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return Envelope{}, err
	}
	return u.Publish(KindEvent, SchemaEvent, Topic(u.o.Vehicle, KindEvent), store.PriorityUrgent, func(env Envelope) any {
		return Event{Envelope: env, Kind: kind, Severity: severity, Source: source, Body: raw}
	})
}

// Respond queues the final answer to a request.
func (u *Uplink) Respond(r Request, status string, errText string, body any) error {
	var raw json.RawMessage
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		raw = b
	}
	_, err := u.Publish(KindResponse, SchemaResponse, Topic(u.o.Vehicle, KindResponse, r.ID), store.PriorityNormal, func(env Envelope) any {
		return Response{Envelope: env, Request: r.ID, Name: r.Name, Status: status, Error: errText, Body: raw}
	})
	return err
}

func (u *Uplink) statusPayload(state string) []byte {
	b, _ := json.Marshal(Status{Envelope: u.envelope(SchemaStatus, 0), State: state, Version: u.o.Version, Boot: Stamp(u.boot())})
	return b
}

// Run keeps a session with the broker until ctx ends: connect (with a
// jittered exponential backoff after failures), drain the outbox in order,
// and serve requests. It returns nil when ctx ends.
func (u *Uplink) Run(ctx context.Context) error {
	u.hmu.Lock()
	g := u.clock
	u.hmu.Unlock()
	if g != nil {
		if !g.Sane() {
			u.o.Logger.Info("uplink: waiting for a sane clock before connecting", "broker", u.o.Broker)
			select {
			case <-ctx.Done():
				return nil
			case <-g.Ready():
			}
		}
		u.hmu.Lock()
		u.releaseLocked()
		u.hmu.Unlock()
	}
	backoff := time.Second
	go u.serveRequests(ctx)
	for ctx.Err() == nil {
		start := time.Now()
		err := u.session(ctx)
		u.connected.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		u.count(func(s *Stats) { s.LastError = err.Error() })
		u.o.Logger.Warn("uplink: broker link down", "broker", u.o.Broker, "err", err)
		if time.Since(start) > 2*time.Minute {
			backoff = time.Second // it was up for a while: start over
		}
		// Full jitter: a fleet that lost its broker does not come back in step.
		wait := time.Duration(rand.Int64N(int64(backoff))) + backoff/2
		backoff = min(2*backoff, u.o.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
	return nil
}

// session is one connection: it returns when the link breaks.
func (u *Uplink) session(ctx context.Context) error {
	lost := make(chan struct{})
	var lostErr error
	var lostOnce sync.Once
	statusTopic := Topic(u.o.Vehicle, KindStatus)
	will := u.statusPayload("offline")
	opts := mqtt.NewClientOptions().
		AddBroker(u.o.Broker).
		SetClientID(u.o.ClientID).
		SetProtocolVersion(4). // MQTT 3.1.1; no silent fallback to 3.1 that hides refusals
		SetUsername(u.o.Username).
		SetPassword(u.o.Password).
		SetCleanSession(false). // requests sent while the car was away wait at the broker
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(u.o.KeepAlive).
		SetPingTimeout(20*time.Second).
		SetConnectTimeout(20*time.Second).
		SetWriteTimeout(30*time.Second).
		SetOrderMatters(false).
		SetBinaryWill(statusTopic, will, 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			lostOnce.Do(func() { lostErr = err; close(lost) })
		})
	if u.tls {
		cfg := u.o.TLS
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts.SetTLSConfig(cfg)
	}
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !waitToken(ctx, nil, tok, 30*time.Second) {
		return fmt.Errorf("connect %s: timeout", u.o.Broker)
	}
	u.addBytes(ConnectCost(u.tls, u.o.ClientID, statusTopic, len(will)))
	if err := tok.Error(); err != nil {
		u.count(func(s *Stats) { s.ConnectErrors++ })
		return fmt.Errorf("connect %s: %w", u.o.Broker, err)
	}
	defer c.Disconnect(250)
	u.connected.Store(true)
	u.count(func(s *Stats) { s.Connects++ })
	u.o.Logger.Info("uplink: connected", "broker", u.o.Broker, "client", u.o.ClientID)

	sub := c.Subscribe(Topic(u.o.Vehicle, "cmd", "+"), 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case u.reqs <- m:
		default:
			u.o.Logger.Warn("uplink: request dropped, too many pending", "topic", m.Topic())
		}
	})
	if !waitToken(ctx, lost, sub, 30*time.Second) || sub.Error() != nil {
		return fmt.Errorf("subscribe requests: %v", sub.Error())
	}
	// The retained status goes through the outbox like everything else.
	if _, err := u.Publish(KindStatus, SchemaStatus, statusTopic, store.PriorityUrgent, func(env Envelope) any {
		return Status{Envelope: env, State: "online", Version: u.o.Version, Boot: Stamp(u.boot())}
	}); err != nil {
		return err
	}
	ping := time.NewTicker(u.o.KeepAlive)
	defer ping.Stop()
	goodbye := func() {
		// The retained status becomes offline now rather than when the
		// keepalive times out.
		t := c.Publish(statusTopic, 1, true, u.statusPayload("offline"))
		t.WaitTimeout(2 * time.Second)
	}
	for {
		n, err := u.drain(ctx, c, lost)
		if ctx.Err() != nil {
			goodbye()
			return ctx.Err()
		}
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			goodbye()
			return ctx.Err()
		case <-lost:
			return fmt.Errorf("connection lost: %w", lostErr)
		case <-u.kick:
		case <-ping.C:
			u.addBytes(PingCost(u.tls)) // paho sends it; count it for the budget
		case <-time.After(time.Second):
			// Messages enqueued by another process or before a kick was
			// possible are picked up within a second.
		}
	}
}

// waitToken waits for t, giving up when ctx ends, the connection is lost
// (lost closed; nil: never) or after d.
func waitToken(ctx context.Context, lost <-chan struct{}, t mqtt.Token, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.Done():
		return true
	case <-ctx.Done():
	case <-lost:
	case <-timer.C:
	}
	// The token may have completed at the same moment.
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

func (u *Uplink) addBytes(n int) {
	u.bytes.Add(uint64(n))
	if _, err := u.o.Store.AddCounter(budgetCounter(u.o.Now()), int64(n)); err != nil && !errors.Is(err, store.ErrClosed) {
		u.o.Logger.Warn("uplink: counting bytes", "err", err)
	}
}

// budgetCounter names the store counter of a month's link bytes.
func budgetCounter(t time.Time) string { return "uplink_bytes_" + t.UTC().Format("2006-01") }

// drain publishes one window of the outbox and acknowledges, in order,
// what the broker confirmed. A failure leaves the rest for the next
// session: nothing is acknowledged after a message that was not, so order
// per kind holds (a receiver may see a message twice; it drops it by id).
func (u *Uplink) drain(ctx context.Context, c mqtt.Client, lost <-chan struct{}) (int, error) {
	msgs, err := u.o.Store.NextBatch(u.o.Window)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	toks := make([]mqtt.Token, len(msgs))
	for i, m := range msgs {
		toks[i] = c.Publish(m.Topic, m.QoS, m.Retain, m.Payload)
	}
	var ack []int64
	var failed error
	for i, t := range toks {
		if !waitToken(ctx, lost, t, 60*time.Second) {
			failed = fmt.Errorf("publish %s: no acknowledgement", msgs[i].Topic)
			break
		}
		if err := t.Error(); err != nil {
			failed = fmt.Errorf("publish %s: %w", msgs[i].Topic, err)
			break
		}
		ack = append(ack, msgs[i].ID)
		u.addBytes(PublishCost(msgs[i].Topic, len(msgs[i].Payload), u.tls))
	}
	if len(ack) > 0 {
		if err := u.o.Store.Ack(ack...); err != nil {
			return len(ack), err
		}
		u.count(func(s *Stats) { s.Published += uint64(len(ack)) })
	}
	return len(ack), failed
}
