package obd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tarm/serial"
)

// ELMOptions configure an ELM327 adapter.
type ELMOptions struct {
	// Baud is the serial speed (default 38400). When the adapter does not
	// answer at it, the common speeds are tried in turn (see ProbeBauds).
	Baud int
	// ProbeBauds are the speeds tried when Baud gets no answer (default
	// 38400, 115200, 9600, 230400, 500000). Empty list disables probing.
	ProbeBauds []int
	// Protocol is the ELM327 protocol number: "0" automatic (default),
	// "6" CAN 11-bit 500k, "7" 29-bit 500k, "8" 11-bit 250k, "9" 29-bit 250k.
	Protocol string
	// Timeout bounds one request (default 5 s; the first request with
	// automatic protocol search gets 20 s).
	Timeout time.Duration
	// Logger receives connection events (default: discard).
	Logger *slog.Logger
	// Open opens the port (default: github.com/tarm/serial with a 50 ms read
	// timeout). Tests may replace it.
	Open func(path string, baud int) (io.ReadWriteCloser, error)
}

func (o *ELMOptions) defaults() {
	if o.Baud == 0 {
		o.Baud = 38400
	}
	if o.ProbeBauds == nil {
		o.ProbeBauds = []int{38400, 115200, 9600, 230400, 500000}
	}
	if o.Protocol == "" {
		o.Protocol = "0"
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Open == nil {
		o.Open = openSerial
	}
}

// serialReadTimeout is how long one read of the serial port blocks. tarm's
// Read returns io.EOF when it expires, which the reader treats as a tick.
const serialReadTimeout = 50 * time.Millisecond

func openSerial(path string, baud int) (io.ReadWriteCloser, error) {
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, ReadTimeout: serialReadTimeout})
	if err != nil {
		return nil, err
	}
	return tickPort{p}, nil
}

// tickPort marks ports whose empty reads (io.EOF) are read timeouts.
type tickPort struct{ io.ReadWriteCloser }

// ELMInfo describes the adapter and the car's protocol.
type ELMInfo struct {
	Port     string  `json:"port"`
	Baud     int     `json:"baud"`
	Version  string  `json:"version"`            // ATI, e.g. "ELM327 v1.5"
	Device   string  `json:"device,omitempty"`   // AT@1
	Protocol string  `json:"protocol,omitempty"` // ATDP, once known
	ProtoNum string  `json:"protocol_number,omitempty"`
	Voltage  float64 `json:"battery_voltage,omitempty"` // ATRV, volts
}

// ELMStats count what happened on the link.
type ELMStats struct {
	Requests, Answers, NoData, Errors, Reconnects, Timeouts uint64
}

// ELM327 is an ELM327-compatible adapter on a serial port. It implements
// Transport. It is safe for concurrent use; requests are serialised.
//
// When the adapter disappears (USB unplugged, Bluetooth link lost, the
// port returns errors or stays silent), the request fails with ErrAdapter
// and the next request reopens the port and initialises the adapter again,
// with a backoff of at most 2 s between attempts.
type ELM327 struct {
	path string
	opt  ELMOptions

	mu      sync.Mutex
	port    io.ReadWriteCloser
	rx      chan []byte
	rxErr   chan error
	done    chan struct{}
	pending []byte
	closed  bool

	st        elmState
	info      ELMInfo
	searched  bool
	nextOpen  time.Time
	backoff   time.Duration
	timeouts  int
	stats     ELMStats
	readerWG  sync.WaitGroup
	lastOpenE error
}

// unknownSetting marks a setting whose adapter state is not known.
const unknownSetting = "\x00unknown"

// elmState is what the adapter is set to, so that settings are only sent
// when they change.
type elmState struct {
	header   string
	priority string
	cra      string
	fc       string
	cea      string
	st       byte
	can      bool
	is29     bool
	headers  bool
	noCEA    bool // adapter rejected ATCEA
	noFC     bool // adapter rejected ATFCSH
}

// OpenELM327 opens the adapter at path (a serial device such as
// /dev/ttyUSB0, /dev/rfcomm0, or a pty) and initialises it.
func OpenELM327(ctx context.Context, path string, opt ELMOptions) (*ELM327, error) {
	opt.defaults()
	e := &ELM327{path: path, opt: opt}
	e.info.Port = path
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.connect(ctx); err != nil {
		e.disconnect()
		return nil, err
	}
	return e, nil
}

// Info returns what is known about the adapter.
func (e *ELM327) Info() ELMInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.info
}

// Stats returns the link counters.
func (e *ELM327) Stats() ELMStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Close closes the port.
func (e *ELM327) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	e.disconnect()
	return nil
}

func (e *ELM327) disconnect() {
	if e.port == nil {
		return
	}
	close(e.done)
	e.port.Close()
	e.readerWG.Wait()
	e.port = nil
	e.st = elmState{}
}

// connect opens the port and initialises the adapter, probing speeds.
func (e *ELM327) connect(ctx context.Context) error {
	bauds := []int{e.opt.Baud}
	for _, b := range e.opt.ProbeBauds {
		if b != e.opt.Baud {
			bauds = append(bauds, b)
		}
	}
	var last error
	for _, baud := range bauds {
		if err := e.openAt(baud); err != nil {
			return fmt.Errorf("%w: open %s: %v", ErrAdapter, e.path, err)
		}
		err := e.initAdapter(ctx)
		if err == nil {
			e.info.Baud = baud
			e.opt.Logger.Info("ELM327 ready", "port", e.path, "baud", baud, "version", e.info.Version)
			return nil
		}
		last = err
		e.disconnect()
		if ctx.Err() != nil || !errors.Is(err, ErrTimeout) {
			break // a wrong speed shows as silence or garbage
		}
	}
	return fmt.Errorf("%w: %s does not answer as an ELM327: %v", ErrAdapter, e.path, last)
}

func (e *ELM327) openAt(baud int) error {
	p, err := e.opt.Open(e.path, baud)
	if err != nil {
		return err
	}
	e.port = p
	e.rx = make(chan []byte, 64)
	e.rxErr = make(chan error, 1)
	e.done = make(chan struct{})
	e.pending = nil
	_, tick := p.(tickPort)
	e.readerWG.Add(1)
	go e.readLoop(p, tick, e.rx, e.rxErr, e.done)
	return nil
}

func (e *ELM327) readLoop(p io.Reader, tick bool, rx chan<- []byte, rxErr chan<- error, done <-chan struct{}) {
	defer e.readerWG.Done()
	buf := make([]byte, 512)
	for {
		n, err := p.Read(buf)
		if n > 0 {
			select {
			case rx <- append([]byte(nil), buf[:n]...):
			case <-done:
				return
			}
		}
		select {
		case <-done:
			return
		default:
		}
		if err != nil {
			if tick && errors.Is(err, io.EOF) {
				continue
			}
			rxErr <- err
			return
		}
	}
}

// initAdapter runs the initialisation sequence.
func (e *ELM327) initAdapter(ctx context.Context) error {
	e.st = elmState{}
	// A harmless command ends whatever a previous user left running or
	// half-typed (ATMA monitoring stops at any byte); its answer is dropped.
	// Not a bare CR: that repeats the adapter's last command, which could
	// be a previous session's 04 (clear trouble codes).
	_, _ = e.exchange(ctx, "ATI", 500*time.Millisecond)
	out, err := e.exchange(ctx, "ATZ", 3*time.Second)
	if err != nil {
		return err
	}
	if v := findVersion(out); v != "" {
		e.info.Version = v
	}
	// Clones differ in what they implement: an unknown setting ("?") is
	// noted and worked around (the answer parser copes with echo, spaces
	// and missing headers); only a silent or broken link fails here.
	e.st.headers = true
	for _, c := range []string{"ATE0", "ATL0", "ATS0", "ATH1", "ATAT1", "ATSP" + e.opt.Protocol} {
		if _, err := e.at(ctx, c); err != nil {
			if !errors.Is(err, ErrUnknownCommand) {
				return fmt.Errorf("%s: %w", c, err)
			}
			e.opt.Logger.Warn("ELM327 rejects a setting", "command", c)
			if c == "ATH1" {
				e.st.headers = false
			}
		}
	}
	e.st.can = true // until the protocol is known otherwise
	// Power-on defaults: header 7DF (priority 18 for 29-bit), no filter.
	// Sending ATSH7DF needlessly confuses some emulators and clones that
	// tie answers to the header they expect.
	e.st.header, e.st.priority = "7DF", "18"
	if out, err := e.exchange(ctx, "ATI", time.Second); err == nil {
		if v := findVersion(out); v != "" {
			e.info.Version = v
		}
	}
	if out, err := e.exchange(ctx, "AT@1", time.Second); err == nil {
		if l := SplitLines(out); len(l) > 0 && !strings.HasPrefix(l[len(l)-1], "?") {
			e.info.Device = l[len(l)-1]
		}
	}
	e.readVoltage(ctx)
	e.searched = e.opt.Protocol != "0"
	if e.searched {
		e.readProtocol(ctx)
	}
	e.timeouts = 0
	return nil
}

func findVersion(out string) string {
	for _, l := range SplitLines(out) {
		if i := strings.Index(strings.ToUpper(l), "ELM327"); i >= 0 {
			return strings.TrimSpace(l[i:])
		}
		if strings.HasPrefix(strings.ToUpper(l), "STN") || strings.HasPrefix(strings.ToUpper(l), "OBDLINK") {
			return l
		}
	}
	return ""
}

func (e *ELM327) readVoltage(ctx context.Context) {
	out, err := e.exchange(ctx, "ATRV", time.Second)
	if err != nil {
		return
	}
	for _, l := range SplitLines(out) {
		s := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(l)), "V")
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			e.info.Voltage = v
		}
	}
}

// Voltage reads the adapter's supply voltage (ATRV): the car's 12 V
// battery. It sends nothing on the car's bus, so it is safe while the car
// sleeps.
func (e *ELM327) Voltage(ctx context.Context) (float64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ensure(ctx); err != nil {
		return 0, err
	}
	e.info.Voltage = 0
	e.readVoltage(ctx)
	if e.info.Voltage == 0 {
		return 0, fmt.Errorf("%w: no voltage reading", ErrAdapter)
	}
	return e.info.Voltage, nil
}

// readProtocol asks which protocol the adapter uses (after a search).
func (e *ELM327) readProtocol(ctx context.Context) {
	if out, err := e.exchange(ctx, "ATDPN", 2*time.Second); err == nil {
		for _, l := range SplitLines(out) {
			l = strings.TrimPrefix(strings.ToUpper(l), "A")
			if len(l) == 1 {
				e.info.ProtoNum = l
				switch l {
				case "6", "8", "B":
					e.st.can, e.st.is29 = true, false
				case "7", "9", "A", "C":
					e.st.can, e.st.is29 = true, true
				default:
					e.st.can = false
				}
			}
		}
	}
	if out, err := e.exchange(ctx, "ATDP", 2*time.Second); err == nil {
		if l := SplitLines(out); len(l) > 0 {
			e.info.Protocol = l[len(l)-1]
		}
	}
}

// at sends a setting command and expects OK.
func (e *ELM327) at(ctx context.Context, cmd string) (string, error) {
	out, err := e.exchange(ctx, cmd, 2*time.Second)
	if err != nil {
		return out, err
	}
	for _, l := range SplitLines(out) {
		if compact(l) == compact(cmd) {
			continue // echo before ATE0 took effect
		}
		if l == "?" {
			return out, ErrUnknownCommand
		}
	}
	return out, nil
}

// exchange sends one line and returns what the adapter printed before its
// prompt.
func (e *ELM327) exchange(ctx context.Context, cmd string, timeout time.Duration) (string, error) {
	if e.port == nil {
		return "", fmt.Errorf("%w: not connected", ErrAdapter)
	}
	// Drop anything stale (late answers, unsolicited output).
	e.pending = nil
	for drained := false; !drained; {
		select {
		case <-e.rx:
		default:
			drained = true
		}
	}
	if _, err := io.WriteString(e.port, cmd+"\r"); err != nil {
		return "", e.fail(fmt.Errorf("%w: write %s: %v", ErrAdapter, e.path, err))
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var buf []byte
	for {
		if i := strings.IndexByte(string(buf), '>'); i >= 0 {
			e.timeouts = 0
			return string(buf[:i]), nil
		}
		select {
		case b := <-e.rx:
			buf = append(buf, b...)
			if len(buf) > 1<<16 {
				return "", fmt.Errorf("%w: answer longer than 64 KiB without a prompt", ErrAdapter)
			}
		case err := <-e.rxErr:
			return string(buf), e.fail(fmt.Errorf("%w: read %s: %v", ErrAdapter, e.path, err))
		case <-deadline.C:
			e.timeouts++
			e.stats.Timeouts++
			err := fmt.Errorf("%w: no prompt from %s within %v after %q (got %q)", ErrTimeout, e.path, timeout, cmd, clip(string(buf), 80))
			if e.timeouts >= 2 {
				// A silent adapter: start again from scratch next time.
				return string(buf), e.fail(err)
			}
			return string(buf), err
		case <-ctx.Done():
			return string(buf), ctx.Err()
		}
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// fail drops the connection; the next request reconnects.
func (e *ELM327) fail(err error) error {
	e.opt.Logger.Warn("ELM327 link lost", "port", e.path, "err", err)
	e.disconnect()
	e.stats.Errors++
	return err
}

// ensure reconnects when the link was lost, with backoff.
func (e *ELM327) ensure(ctx context.Context) error {
	if e.closed {
		return ErrClosed
	}
	if e.port != nil {
		return nil
	}
	now := time.Now()
	if now.Before(e.nextOpen) {
		return fmt.Errorf("%w: %s unavailable, retrying in %v (last error: %v)", ErrAdapter, e.path, e.nextOpen.Sub(now).Round(time.Millisecond), e.lastOpenE)
	}
	err := e.connect(ctx)
	if err != nil {
		e.backoff = min(max(2*e.backoff, 100*time.Millisecond), 2*time.Second)
		e.nextOpen = time.Now().Add(e.backoff)
		e.lastOpenE = err
		return err
	}
	e.backoff = 0
	e.stats.Reconnects++
	return nil
}

// Command sends a raw command (an AT command or hex bytes) and returns the
// lines printed before the prompt.
func (e *ELM327) Command(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ensure(ctx); err != nil {
		return nil, err
	}
	out, err := e.exchange(ctx, cmd, timeout)
	return SplitLines(out), err
}

// configure sends the settings a request needs that differ from the
// adapter's current ones.
func (e *ELM327) configure(ctx context.Context, r *Request) error {
	set := func(cur *string, want, cmd string) error {
		if *cur == want {
			return nil
		}
		if _, err := e.at(ctx, cmd); err != nil {
			if errors.Is(err, ErrUnknownCommand) && softSetting(cmd) {
				e.opt.Logger.Debug("ELM327 rejects a setting; going on", "command", cmd)
			} else {
				return fmt.Errorf("%s: %w", cmd, err)
			}
		}
		*cur = want
		return nil
	}
	if r.Extended != e.st.is29 && e.st.can {
		// Switch between 11- and 29-bit CAN at the same speed.
		proto := map[bool]string{false: "6", true: "7"}[r.Extended]
		if e.info.ProtoNum == "8" || e.info.ProtoNum == "9" {
			proto = map[bool]string{false: "8", true: "9"}[r.Extended]
		}
		if _, err := e.at(ctx, "ATSP"+proto); err != nil {
			return err
		}
		e.st.is29 = r.Extended
		// Filters and headers may survive the switch: send them again.
		e.st.header, e.st.cra, e.st.priority = unknownSetting, unknownSetting, unknownSetting
	}
	var hdr, cra string
	if r.Extended {
		if err := set(&e.st.priority, fmt.Sprintf("%02X", r.TxID>>24), fmt.Sprintf("ATCP%02X", r.TxID>>24)); err != nil {
			return err
		}
		hdr = fmt.Sprintf("%06X", r.TxID&0xFFFFFF)
		if r.RxID != 0 {
			cra = fmt.Sprintf("%08X", r.RxID)
		}
	} else {
		hdr = fmt.Sprintf("%03X", r.TxID)
		if r.RxID != 0 {
			cra = fmt.Sprintf("%03X", r.RxID)
		}
	}
	if err := set(&e.st.header, hdr, "ATSH"+hdr); err != nil {
		return err
	}
	if cra != e.st.cra {
		// ATCRA without an address clears the filter; clones without it
		// take ATAR (automatic receive).
		if _, err := e.at(ctx, "ATCRA"+cra); err != nil {
			switch {
			case cra == "" && errors.Is(err, ErrUnknownCommand):
				if _, err := e.at(ctx, "ATAR"); err != nil && !errors.Is(err, ErrUnknownCommand) {
					return err
				}
			case errors.Is(err, ErrUnknownCommand):
				e.opt.Logger.Debug("ELM327 rejects a receive filter; answers are filtered in software", "command", "ATCRA"+cra)
			default:
				return fmt.Errorf("ATCRA%s: %w", cra, err)
			}
		}
		e.st.cra = cra
	}
	cea := ""
	if r.ExtAddr {
		cea = fmt.Sprintf("%02X", r.TxExtAddr)
	}
	if cea != e.st.cea {
		if e.st.noCEA && cea != "" {
			return fmt.Errorf("%w: this adapter does not support extended addressing (ATCEA)", ErrUnknownCommand)
		}
		if err := set(&e.st.cea, cea, "ATCEA"+cea); err != nil {
			if errors.Is(err, ErrUnknownCommand) {
				e.st.noCEA = true
			}
			if cea != "" {
				return err
			}
			e.st.cea = ""
		}
	}
	fc := ""
	if r.FlowControl && !r.Functional() && !e.st.noFC {
		// Flow control with the request's header (the ELM default assumes
		// response id - 8, which fails for ids like 607 -> 6F1).
		data := "300000"
		if r.ExtAddr {
			data = fmt.Sprintf("%02X300000", r.TxExtAddr)
		}
		fc = hdr + "/" + data
	}
	if fc != e.st.fc {
		if fc == "" {
			if _, err := e.at(ctx, "ATFCSM0"); err != nil && !errors.Is(err, ErrUnknownCommand) {
				return err
			}
		} else {
			h, d, _ := strings.Cut(fc, "/")
			for _, c := range []string{"ATFCSH" + h, "ATFCSD" + d, "ATFCSM1"} {
				if _, err := e.at(ctx, c); err != nil {
					if errors.Is(err, ErrUnknownCommand) {
						e.st.noFC = true // clone without flow-control commands
						break
					}
					return err
				}
			}
		}
		e.st.fc = fc
	}
	st := byte(0)
	if r.Timeout > 0 {
		st = byte(min(255, max(1, r.Timeout/(4096*time.Microsecond))))
	}
	if st != e.st.st {
		cmd := "ATST32"
		if st != 0 {
			cmd = fmt.Sprintf("ATST%02X", st)
		}
		if _, err := e.at(ctx, cmd); err != nil && !errors.Is(err, ErrUnknownCommand) {
			return err
		}
		e.st.st = st
	}
	return nil
}

// softSetting reports whether a rejected setting can be done without: the
// default header (7DF), clearing the receive filter, and the priority byte
// of 29-bit ids that equals the default. Answers are filtered by id in
// software anyway.
func softSetting(cmd string) bool {
	switch cmd {
	case "ATSH7DF", "ATCP18":
		return true
	}
	return false
}

// Do sends a request and returns the answers (Transport).
func (e *ELM327) Do(ctx context.Context, r Request) ([]Response, error) {
	if len(r.Data) == 0 {
		return nil, fmt.Errorf("obd: empty request")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ensure(ctx); err != nil {
		return nil, err
	}
	if err := e.configure(ctx, &r); err != nil {
		return nil, err
	}
	e.stats.Requests++
	cmd := fmt.Sprintf("%X", r.Data)
	timeout := e.opt.Timeout
	if !e.searched {
		timeout = max(timeout, 20*time.Second) // SEARCHING... through protocols
	}
	var msgs []Response
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		msgs, err = e.request(ctx, cmd, r, timeout)
		if err != nil || !onlyPending(msgs) {
			break
		}
		// The adapter gave up while the ECU still said "response pending":
		// ask again.
	}
	switch {
	case err == nil:
		e.stats.Answers++
	case errors.Is(err, ErrNoData):
		e.stats.NoData++
	default:
		e.stats.Errors++
	}
	return msgs, err
}

func (e *ELM327) request(ctx context.Context, cmd string, r Request, timeout time.Duration) ([]Response, error) {
	out, err := e.exchange(ctx, cmd, timeout)
	if err != nil {
		return nil, err
	}
	if !e.searched {
		e.searched = true
		e.readProtocol(ctx)
	}
	is29 := e.st.is29
	a := ParseAnswer(out, AnswerOptions{Headers: e.st.headers, IDs29: &is29, ExtAddr: r.ExtAddr, Echo: cmd})
	if !e.st.can && e.st.headers {
		// Non-CAN protocols print 3-byte headers and a checksum: read
		// payloads without headers from now on.
		if _, err := e.at(ctx, "ATH0"); err == nil {
			e.st.headers = false
			out, err = e.exchange(ctx, cmd, timeout)
			if err != nil {
				return nil, err
			}
			a = ParseAnswer(out, AnswerOptions{Echo: cmd})
		}
	}
	msgs := dropPending(a.Messages)
	if r.RxID != 0 {
		msgs = filterID(msgs, r.RxID)
	}
	if len(msgs) == 0 {
		if err := a.Err(); err != nil {
			return nil, err
		}
		return nil, ErrNoData
	}
	return msgs, nil
}

func onlyPending(ms []Response) bool {
	if len(ms) == 0 {
		return false
	}
	for i := range ms {
		if !ms[i].IsPending() {
			return false
		}
	}
	return true
}

// dropPending removes "response pending" answers from ECUs that later gave
// their real answer.
func dropPending(ms []Response) []Response {
	out := ms[:0:0]
	for i := range ms {
		if ms[i].IsPending() {
			later := false
			for j := i + 1; j < len(ms); j++ {
				if ms[j].ID == ms[i].ID && !ms[j].IsPending() {
					later = true
				}
			}
			if later {
				continue
			}
		}
		out = append(out, ms[i])
	}
	return out
}

func filterID(ms []Response, id uint32) []Response {
	out := ms[:0:0]
	for _, m := range ms {
		if m.ID == 0 || m.ID == id {
			out = append(out, m)
		}
	}
	return out
}
