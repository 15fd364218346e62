package elmsim

import (
	"io"
	"strings"
	"time"
)

// maxLine is the adapter's command buffer; longer lines get "?".
// Approximation: counted without spaces and ignored characters.
const maxLine = 128

// txBuffer is the adapter's output buffer for the BUFFER FULL model.
const txBuffer = 256

// protoSel is a protocol setting: number 0-12 (0 auto, 6-9 ISO 15765-4 CAN,
// A J1939, B-C user CAN) and whether the adapter searches when it fails.
type protoSel struct {
	num  byte
	auto bool
}

// settings are the AT settings that ATZ, ATWS and ATD reset.
type settings struct {
	echo, linefeeds, spaces, headers bool
	caf, cfc, dlc, responses         bool
	longMsg                          bool
	memory                           bool
	adaptive                         int

	headerSet bool
	header    uint32 // 24 bits (ATSH xyz / xxyyzz) or 29 bits (8 digits)
	header29  bool   // header holds the priority bits too
	priority  byte

	cra          string // receive address pattern (3 or 8 chars, X wildcards)
	filter, mask uint32
	filterSet    bool
	maskSet      bool
	cea          int // extended address byte, -1: off
	tester       byte
	fcHeader     uint32
	fcHeaderSet  bool
	fcData       []byte
	fcMode       int
	timeout      byte
}

func defaultSettings() settings {
	return settings{
		echo: true, spaces: true, caf: true, cfc: true, responses: true,
		memory: true, adaptive: 1, priority: 0x18, cea: -1, tester: 0xF1, timeout: 0x32,
	}
}

// session is one power-up of the adapter on one connection.
type session struct {
	sim *Sim
	car *Car
	w   io.Writer
	in  <-chan []byte
	eof bool

	pend []byte // received, not yet consumed
	echo []byte // echo not yet written

	set      settings
	proto    protoSel
	detected byte // protocol found by the automatic search, 0: none

	last     string
	line     []byte
	overflow bool
	nodes    []*nodeState
}

func newSession(s *Sim, car *Car, w io.Writer, in <-chan []byte) *session {
	ss := &session{sim: s, car: car, w: w, in: in}
	ss.reset()
	for i := range car.Nodes {
		n := &car.Nodes[i]
		ss.nodes = append(ss.nodes, &nodeState{node: n, ext29: n.extended(), blockLeft: -1})
	}
	return ss
}

// reset puts the settings back to their power-up values (ATZ, ATWS, ATD).
func (ss *session) reset() {
	ss.set = defaultSettings()
	ss.proto = ss.sim.storedProto()
	ss.detected = 0
}

// run reads commands until the input ends.
func (ss *session) run() error {
	for {
		b, ok := ss.next()
		if !ok {
			return nil
		}
		switch b {
		case '\n', 0:
			// Ignored, as the datasheet says of linefeeds and nulls.
		case '\r':
			line := ss.line
			ss.line = ss.line[:0]
			over := ss.overflow
			ss.overflow = false
			if ss.set.echo && !ss.sim.Faults().Silent {
				ss.echo = append(ss.echo, ss.eol()...)
			}
			if err := ss.flushEcho(); err != nil {
				return err
			}
			if err := ss.command(string(line), over); err != nil {
				return err
			}
		default:
			if ss.set.echo && !ss.sim.Faults().Silent {
				ss.echo = append(ss.echo, b)
			}
			if len(ss.line) >= maxLine*2 {
				ss.overflow = true
				continue
			}
			ss.line = append(ss.line, b)
		}
	}
}

// next returns the next received byte, blocking until one comes; false at
// the end of the input.
func (ss *session) next() (byte, bool) {
	for len(ss.pend) == 0 {
		if err := ss.flushEcho(); err != nil {
			return 0, false
		}
		if ss.eof {
			return 0, false
		}
		b, ok := <-ss.in
		if !ok {
			ss.eof = true
			continue
		}
		ss.pend = append(ss.pend, b...)
	}
	b := ss.pend[0]
	ss.pend = ss.pend[1:]
	return b, true
}

// poll moves input that has arrived into pend without blocking.
func (ss *session) poll() {
	for !ss.eof {
		select {
		case b, ok := <-ss.in:
			if !ok {
				ss.eof = true
				return
			}
			ss.pend = append(ss.pend, b...)
		default:
			return
		}
	}
}

// interrupted reports whether a character arrived while the adapter is
// busy. Linefeeds and nulls do not count (they are ignored anyway).
func (ss *session) interrupted() bool {
	ss.poll()
	for len(ss.pend) > 0 && (ss.pend[0] == '\n' || ss.pend[0] == 0) {
		ss.pend = ss.pend[1:]
	}
	return len(ss.pend) > 0
}

// takeInterrupt drops the character that interrupted the adapter.
// Approximation: the ELM327 loses that character; the rest of what was sent
// is kept and read as the next command.
func (ss *session) takeInterrupt() {
	if len(ss.pend) > 0 {
		ss.pend = ss.pend[1:]
	}
}

// wait waits d, or less if a character arrives (true: interrupted). At the
// end of the input nobody reads any more and it does not wait.
func (ss *session) wait(d time.Duration) bool {
	if ss.interrupted() {
		return true
	}
	if d <= 0 || ss.eof {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case b, ok := <-ss.in:
			if !ok {
				ss.eof = true
				return false
			}
			ss.pend = append(ss.pend, b...)
			if ss.interrupted() {
				return true
			}
		case <-t.C:
			return false
		}
	}
}

// waitInput blocks until a character arrives (true) or the input ends.
func (ss *session) waitInput() bool {
	for !ss.interrupted() {
		if ss.eof {
			return false
		}
		b, ok := <-ss.in
		if !ok {
			ss.eof = true
			return false
		}
		ss.pend = append(ss.pend, b...)
	}
	return true
}

func (ss *session) flushEcho() error {
	if len(ss.echo) == 0 {
		return nil
	}
	e := ss.echo
	ss.echo = nil
	return ss.write(e)
}

func (ss *session) eol() string {
	if ss.set.linefeeds {
		return "\r\n"
	}
	return "\r"
}

// write sends bytes, paced like a serial line and split as the faults say.
func (ss *session) write(p []byte) error {
	f := ss.sim.Faults()
	chunk := len(p)
	if f.SplitWrites > 0 {
		chunk = f.SplitWrites
	}
	for off := 0; off < len(p); off += chunk {
		end := min(off+chunk, len(p))
		if _, err := ss.w.Write(p[off:end]); err != nil {
			return err
		}
		if baud := ss.sim.Timing.Baud; baud > 0 {
			time.Sleep(time.Duration(end-off) * 10 * time.Second / time.Duration(baud))
		}
		if f.SplitWrites > 0 && end < len(p) {
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// reply prints lines and the prompt at once.
func (ss *session) reply(lines ...string) error {
	var b strings.Builder
	eol := ss.eol()
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString(eol)
	}
	b.WriteString(eol)
	b.WriteString(">")
	return ss.write([]byte(b.String()))
}

// prompt prints the end of an answer.
func (ss *session) prompt() error { return ss.write([]byte(ss.eol() + ">")) }

// printLine prints one line of an answer.
func (ss *session) printLine(l string) error { return ss.write([]byte(l + ss.eol())) }

// stopped ends an answer interrupted by the client.
func (ss *session) stopped() error {
	ss.takeInterrupt()
	return ss.reply("STOPPED")
}

// command runs one command line (without its CR).
func (ss *session) command(raw string, overflow bool) error {
	f := ss.sim.Faults()
	if f.Silent {
		return nil
	}
	cmd := normalize(raw)
	if cmd == "" && !overflow {
		// A bare CR repeats the last command.
		if ss.last == "" {
			return ss.prompt()
		}
		cmd = ss.last
	} else {
		ss.last = cmd
	}
	if f.Delay > 0 && ss.wait(f.Delay) {
		return ss.stopped()
	}
	if len(f.Garbage) > 0 {
		if err := ss.write(f.Garbage); err != nil {
			return err
		}
	}
	if overflow || len(cmd) > maxLine || f.Unknown {
		return ss.reply("?")
	}
	if strings.HasPrefix(cmd, "AT") {
		return ss.at(cmd[2:])
	}
	return ss.request(cmd)
}

// normalize upper-cases a command and drops spaces and control characters
// the ELM327 ignores.
func normalize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == 0:
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
