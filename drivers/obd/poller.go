package obd

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Guard says whether the car may be polled. Diagnostic requests wake ECUs
// and gateways; a poller that keeps asking while the car sleeps drains the
// 12 V battery. A Guard must answer without sending anything on the car's
// bus.
type Guard interface {
	// Awake returns whether polling is allowed now, and why (for logs).
	Awake(ctx context.Context) (bool, string)
}

// GuardFunc adapts a function to Guard.
type GuardFunc func(ctx context.Context) (bool, string)

// Awake implements Guard.
func (f GuardFunc) Awake(ctx context.Context) (bool, string) { return f(ctx) }

// VoltageGuard allows polling while the 12 V battery shows the car is on:
// an EV's DC-DC converter holds it above about 13 V while the car is awake
// (driving, charging, climate), and it falls to 12.0-12.9 V when the car
// sleeps. Read is typically (*ELM327).Voltage, which the adapter answers
// itself without touching the bus.
type VoltageGuard struct {
	Read func(ctx context.Context) (float64, error)
	// Wake and Sleep are the hysteresis thresholds (default 13.2 V and 12.9 V).
	Wake, Sleep float64
	// Every bounds how often the voltage is read (default 5 s).
	Every time.Duration

	mu    sync.Mutex
	last  time.Time
	awake bool
	volts float64
}

// Awake implements Guard.
func (g *VoltageGuard) Awake(ctx context.Context) (bool, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	wake, sleep, every := g.Wake, g.Sleep, g.Every
	if wake == 0 {
		wake = 13.2
	}
	if sleep == 0 {
		sleep = 12.9
	}
	if every == 0 {
		every = 5 * time.Second
	}
	if g.last.IsZero() || time.Since(g.last) >= every {
		g.last = time.Now()
		v, err := g.Read(ctx)
		if err != nil {
			return g.awake, fmt.Sprintf("12 V unknown (%v)", err)
		}
		g.volts = v
		switch {
		case v >= wake:
			g.awake = true
		case v <= sleep:
			g.awake = false
		}
	}
	state := "asleep"
	if g.awake {
		state = "awake"
	}
	return g.awake, fmt.Sprintf("12 V at %.1f V: car %s", g.volts, state)
}

// ActivityGuard allows polling while the car's buses carry traffic: Last
// returns when the last frame was seen on a passively monitored bus.
type ActivityGuard struct {
	Last func() time.Time
	// Quiet is how long without traffic means asleep (default 3 s).
	Quiet time.Duration
}

// Awake implements Guard.
func (g *ActivityGuard) Awake(context.Context) (bool, string) {
	q := g.Quiet
	if q == 0 {
		q = 3 * time.Second
	}
	l := g.Last()
	if l.IsZero() {
		return false, "no bus traffic seen yet"
	}
	if d := time.Since(l); d > q {
		return false, fmt.Sprintf("bus quiet for %v", d.Round(time.Second))
	}
	return true, "bus active"
}

// PollerConfig configures a Poller.
type PollerConfig struct {
	Transport Transport
	// Set holds the manufacturer commands (may be nil).
	Set *Signalset
	// Commands to poll (default: every command of Set for ModelYear).
	Commands  []*Command
	ModelYear int
	// PIDs are SAE J1979 service 01 PIDs to poll functionally, grouped at
	// most MaxPIDs per request (default 6), every PIDPeriod (default 1 s).
	PIDs      []byte
	PIDPeriod time.Duration
	MaxPIDs   int
	// Rates override periods by signal id or command id. A command runs at
	// the fastest period of its signals.
	Rates map[string]time.Duration
	// MinPeriod bounds every period from below (default 100 ms).
	MinPeriod time.Duration
	// Guard stops polling while the car sleeps (default: always awake —
	// set one on a real car).
	Guard Guard
	// GuardEvery is how often a sleeping car is checked again (default 1 s).
	GuardEvery time.Duration
	// SleepAfter: when this many requests in a row get no answer at all
	// (NO DATA, UNABLE TO CONNECT, bus errors), the car is taken as asleep
	// and polling stops for SleepBackoff (defaults 3 and 60 s), whatever the
	// guard says: a car that does not answer must not be kept awake.
	SleepAfter   int
	SleepBackoff time.Duration
	// OnValues receives each decoded answer.
	OnValues func(at time.Time, cmd string, d *Decoded)
	Logger   *slog.Logger
}

// PollerStats count the poller's work.
type PollerStats struct {
	Requests, Answers, NoData, Negative, Errors, Values uint64
	Asleep                                              bool
	SleepReason                                         string
	Disabled                                            []string
}

type pollItem struct {
	name   string
	cmd    *Command // nil for a J1979 PID group
	pids   []byte
	period time.Duration
	due    time.Time
	// Failure handling.
	misses   int
	negative int
	disabled bool
	index    int
}

type pollQueue []*pollItem

func (q pollQueue) Len() int             { return len(q) }
func (q pollQueue) Less(i, j int) bool   { return q[i].due.Before(q[j].due) }
func (q pollQueue) Swap(i, j int)        { q[i], q[j] = q[j], q[i]; q[i].index = i; q[j].index = j }
func (q *pollQueue) Push(x any)          { it := x.(*pollItem); it.index = len(*q); *q = append(*q, it) }
func (q *pollQueue) Pop() any            { o := *q; it := o[len(o)-1]; *q = o[:len(o)-1]; return it }
func (q pollQueue) peek() *pollItem      { return q[0] }
func (q *pollQueue) fix(it *pollItem)    { heap.Fix(q, it.index) }
func (q *pollQueue) remove(it *pollItem) { heap.Remove(q, it.index) }

// Poller requests commands at their rates, one at a time, and stops while
// the car sleeps.
type Poller struct {
	cfg   PollerConfig
	mu    sync.Mutex
	stats PollerStats
	queue pollQueue
	// Consecutive requests without any answer.
	silent int
}

// NewPoller checks the configuration and builds the schedule.
func NewPoller(cfg PollerConfig) (*Poller, error) {
	if cfg.Transport == nil {
		return nil, errors.New("obd: poller needs a transport")
	}
	if cfg.PIDPeriod == 0 {
		cfg.PIDPeriod = time.Second
	}
	if cfg.MaxPIDs <= 0 || cfg.MaxPIDs > 6 {
		cfg.MaxPIDs = 6
	}
	if cfg.MinPeriod == 0 {
		cfg.MinPeriod = 100 * time.Millisecond
	}
	if cfg.GuardEvery == 0 {
		cfg.GuardEvery = time.Second
	}
	if cfg.SleepAfter == 0 {
		cfg.SleepAfter = 3
	}
	if cfg.SleepBackoff == 0 {
		cfg.SleepBackoff = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Commands == nil && cfg.Set != nil {
		cfg.Commands = cfg.Set.CommandsFor(cfg.ModelYear)
	}
	p := &Poller{cfg: cfg}
	now := time.Now()
	for _, c := range cfg.Commands {
		period := time.Duration(c.Freq * float64(time.Second))
		if r, ok := cfg.Rates[c.ID()]; ok {
			period = r
		}
		for _, s := range c.Signals {
			if r, ok := cfg.Rates[s.ID]; ok && r < period {
				period = r
			}
		}
		p.queue = append(p.queue, &pollItem{name: c.ID(), cmd: c, period: max(period, cfg.MinPeriod), due: now})
	}
	for _, g := range GroupPIDs(cfg.PIDs, cfg.MaxPIDs) {
		p.queue = append(p.queue, &pollItem{name: fmt.Sprintf("01 % X", g), pids: g, period: max(cfg.PIDPeriod, cfg.MinPeriod), due: now})
	}
	if len(p.queue) == 0 {
		return nil, errors.New("obd: nothing to poll")
	}
	for i, it := range p.queue {
		it.index = i
	}
	heap.Init(&p.queue)
	return p, nil
}

// Stats returns a copy of the counters.
func (p *Poller) Stats() PollerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Disabled = append([]string(nil), s.Disabled...)
	return s
}

func (p *Poller) setAsleep(asleep bool, why string) {
	p.mu.Lock()
	changed := p.stats.Asleep != asleep
	p.stats.Asleep, p.stats.SleepReason = asleep, why
	p.mu.Unlock()
	if changed {
		if asleep {
			p.cfg.Logger.Info("OBD polling paused: car asleep", "why", why)
		} else {
			p.cfg.Logger.Info("OBD polling resumed", "why", why)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run polls until ctx ends. Errors never stop it: they are counted, logged
// and retried later.
func (p *Poller) Run(ctx context.Context) error {
	var quietUntil time.Time
	for {
		if err := ctx.Err(); err != nil {
			return nil
		}
		if now := time.Now(); now.Before(quietUntil) {
			if sleepCtx(ctx, min(quietUntil.Sub(now), p.cfg.GuardEvery)) != nil {
				return nil
			}
			continue
		}
		if p.cfg.Guard != nil {
			if ok, why := p.cfg.Guard.Awake(ctx); !ok {
				p.setAsleep(true, why)
				if sleepCtx(ctx, p.cfg.GuardEvery) != nil {
					return nil
				}
				continue
			} else {
				p.setAsleep(false, why)
			}
		}
		if len(p.queue) == 0 {
			p.cfg.Logger.Warn("OBD poller: every command is disabled")
			<-ctx.Done()
			return nil
		}
		it := p.queue.peek()
		if wait := time.Until(it.due); wait > 0 {
			if sleepCtx(ctx, min(wait, p.cfg.GuardEvery)) != nil {
				return nil
			}
			continue
		}
		answered := p.poll(ctx, it)
		now := time.Now()
		if answered {
			p.silent = 0
			p.setAsleep(false, "ECUs answer")
		} else if ctx.Err() == nil {
			p.silent++
			if p.silent >= p.cfg.SleepAfter {
				p.silent = 0
				quietUntil = now.Add(p.cfg.SleepBackoff)
				p.setAsleep(true, fmt.Sprintf("%d requests in a row unanswered; next try in %v", p.cfg.SleepAfter, p.cfg.SleepBackoff))
			}
		}
		if it.disabled {
			p.queue.remove(it)
			continue
		}
		next := it.due.Add(it.period)
		if it.misses > 0 {
			// Back off a command that gets no answer: x2 per miss, at most 5 min.
			next = now.Add(min(it.period<<min(it.misses, 12), 5*time.Minute))
		}
		if next.Before(now) {
			next = now // never burst to catch up
		}
		it.due = next
		p.queue.fix(it)
	}
}

// poll runs one request; it reports whether any ECU answered.
func (p *Poller) poll(ctx context.Context, it *pollItem) bool {
	var req Request
	if it.cmd != nil {
		req = it.cmd.Request()
	} else {
		req = Request{TxID: FunctionalID, Data: append([]byte{0x01}, it.pids...)}
	}
	p.count(func(s *PollerStats) { s.Requests++ })
	rs, err := p.cfg.Transport.Do(ctx, req)
	at := time.Now()
	if err != nil {
		it.misses++
		switch {
		case errors.Is(err, ErrNoData), errors.Is(err, ErrUnableToConnect):
			p.count(func(s *PollerStats) { s.NoData++ })
		default:
			p.count(func(s *PollerStats) { s.Errors++ })
			if ctx.Err() == nil {
				p.cfg.Logger.Debug("OBD request failed", "command", it.name, "err", err)
			}
			if errors.Is(err, ErrAdapter) {
				// Give a reconnecting adapter a moment.
				_ = sleepCtx(ctx, 200*time.Millisecond)
			}
		}
		return false
	}
	it.misses = 0
	d := p.decode(it, rs)
	neg := 0
	for i := range rs {
		if n := rs[i].Negative(); n != nil && !rs[i].IsPending() {
			neg++
			if n.Code == 0x11 || n.Code == 0x12 || n.Code == 0x31 {
				it.negative++
			}
		}
	}
	if neg > 0 {
		p.count(func(s *PollerStats) { s.Negative++ })
		if it.negative >= 3 {
			it.disabled = true
			p.count(func(s *PollerStats) { s.Disabled = append(s.Disabled, it.name) })
			p.cfg.Logger.Warn("OBD command disabled: the ECU refuses it", "command", it.name, "problems", d.Problems)
		}
	} else {
		it.negative = 0
	}
	p.count(func(s *PollerStats) { s.Answers++; s.Values += uint64(len(d.Values)) })
	if p.cfg.OnValues != nil && len(d.Values) > 0 {
		p.cfg.OnValues(at, it.name, d)
	}
	return true
}

func (p *Poller) decode(it *pollItem, rs []Response) *Decoded {
	if it.cmd != nil {
		return it.cmd.set.DecodeResponses(it.cmd, rs)
	}
	return p.cfg.Set.DecodeResponses(nil, rs)
}

func (p *Poller) count(f func(*PollerStats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}
