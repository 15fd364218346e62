package obd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/evedge/evedge/drivers/obd/isotp"
)

// Answer errors printed by ELM327 adapters (see ELM327DS, "Messages and
// Error Messages").
var (
	ErrStopped        = errors.New("obd: adapter stopped the answer (STOPPED)")
	ErrBufferFull     = errors.New("obd: adapter buffer full (BUFFER FULL): the serial link is too slow for the bus")
	ErrUnknownCommand = errors.New("obd: adapter did not understand the command (?)")
	ErrDataError      = errors.New("obd: adapter reported a data error")
)

// AnswerOptions say how to read an adapter's answer.
type AnswerOptions struct {
	// Headers: the adapter prints CAN ids (ATH1).
	Headers bool
	// IDs29: ids are 29-bit; nil detects it from each line.
	IDs29 *bool
	// ExtAddr: the first data byte of each frame is an extended address.
	ExtAddr bool
	// Raw: CAN auto-formatting is off (ATCAF0) or headers are on, so each
	// data line is a whole CAN frame with its PCI byte. With Headers this is
	// implied.
	Raw bool
	// DLC: the adapter prints the data length before the data (ATD1).
	DLC bool
	// Echo is the command that was sent; a first line equal to it is the
	// adapter's echo and dropped.
	Echo string
}

// RawFrame is one CAN frame printed by the adapter.
type RawFrame struct {
	ID   uint32
	Data []byte
}

// Answer is a parsed adapter answer.
type Answer struct {
	// Frames are the CAN frames printed (with headers or raw formatting).
	Frames []RawFrame
	// Messages are the complete messages, reassembled per ECU.
	Messages []Response
	// Status is the adapter's status message (ErrNoData, ErrBus ...) or nil.
	Status error
	// Problems lists lines that could not be used, and reassembly errors.
	Problems []string
	// Stray counts consecutive frames that arrived without their first
	// frame: the tail of an earlier answer, seen at the start of recordings
	// and after an interrupted answer. They are dropped.
	Stray int
}

// Err returns what a caller should report when there are no messages.
func (a *Answer) Err() error {
	if len(a.Messages) > 0 {
		return nil
	}
	if a.Status != nil {
		return a.Status
	}
	if len(a.Problems) > 0 {
		return fmt.Errorf("%w: unusable answer: %s", ErrAdapter, strings.Join(a.Problems, "; "))
	}
	return ErrNoData
}

// statusLine recognises adapter messages. The second result tells whether
// the line is an informational one to skip.
func statusLine(l string) (error, bool) {
	u := strings.ToUpper(l)
	switch {
	case strings.HasPrefix(u, "SEARCHING"), strings.HasPrefix(u, "BUS INIT"),
		u == "OK", strings.HasPrefix(u, "ELM327"), strings.HasPrefix(u, "LV RESET"):
		return nil, true
	case strings.HasPrefix(u, "NO DATA"):
		return ErrNoData, false
	case strings.HasPrefix(u, "STOPPED"):
		return ErrStopped, false
	case strings.HasPrefix(u, "CAN ERROR"), strings.HasPrefix(u, "BUS ERROR"),
		strings.HasPrefix(u, "BUS BUSY"), strings.HasPrefix(u, "FB ERROR"),
		strings.HasPrefix(u, "ACT ALERT"), strings.HasPrefix(u, "<RX ERROR"):
		return fmt.Errorf("%w (%s)", ErrBus, l), false
	case strings.HasPrefix(u, "BUFFER FULL"), strings.HasPrefix(u, "OUT OF MEMORY"):
		return ErrBufferFull, false
	case u == "?":
		return ErrUnknownCommand, false
	case strings.HasPrefix(u, "UNABLE TO CONNECT"):
		return ErrUnableToConnect, false
	case strings.HasPrefix(u, "DATA ERROR"), strings.HasPrefix(u, "<DATA ERROR"):
		return ErrDataError, false
	case len(u) == 5 && strings.HasPrefix(u, "ERR"):
		return fmt.Errorf("%w: internal error %s", ErrAdapter, l), false
	}
	return nil, false
}

func compact(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// SplitLines cuts an adapter's output into trimmed, non-empty lines: CR, LF
// and CR LF all end a line, NUL bytes (sent by some clones) and the prompt
// are dropped.
func SplitLines(text string) []string {
	text = strings.Map(func(r rune) rune {
		switch r {
		case 0, '>':
			return -1
		case '\n':
			return '\r'
		}
		return r
	}, text)
	var out []string
	for _, l := range strings.Split(text, "\r") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func hexBytes(s string) ([]byte, bool) {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) == 0 || len(s)%2 != 0 {
		return nil, false
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, false
		}
		b[i] = byte(v)
	}
	return b, true
}

func isHexSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == ' ' || c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseAnswer reads what an ELM327 printed for one request (everything
// before the prompt). It copes with echo, spaces or none, headers or none,
// 11- and 29-bit ids, "0:"/"1:" multi-line answers, raw ISO-TP frames, the
// adapter's status messages, and garbage; it never panics.
func ParseAnswer(text string, o AnswerOptions) *Answer {
	a := &Answer{}
	lines := SplitLines(text)
	if len(lines) > 0 && o.Echo != "" && compact(lines[0]) == compact(o.Echo) {
		lines = lines[1:]
	}
	raw := o.Headers || o.Raw
	var (
		multiLen  = -1 // length line of a headers-off multi-line answer
		multi     []byte
		multiNext = 0
	)
	flushMulti := func() {
		if multiLen < 0 {
			return
		}
		if len(multi) >= multiLen && multiLen > 0 {
			a.Messages = append(a.Messages, Response{Data: multi[:multiLen]})
		} else {
			a.Problems = append(a.Problems, fmt.Sprintf("multi-line answer announced %d bytes, got %d", multiLen, len(multi)))
		}
		multiLen, multi, multiNext = -1, nil, 0
	}
	for _, l := range lines {
		if st, skip := statusLine(l); skip {
			continue
		} else if st != nil {
			if a.Status == nil || errors.Is(a.Status, ErrNoData) {
				a.Status = st
			}
			continue
		}
		if !raw {
			// Headers off, auto-formatting on: "014", "0: 49 02 01 ..", or a
			// single-frame payload.
			if idx, rest, ok := strings.Cut(l, ":"); ok && len(strings.TrimSpace(idx)) == 1 {
				n, err := strconv.ParseUint(strings.TrimSpace(idx), 16, 8)
				b, okb := hexBytes(rest)
				if err != nil || !okb || multiLen < 0 || int(n) != multiNext&0xf {
					a.Problems = append(a.Problems, fmt.Sprintf("bad multi-line answer line %q", l))
					continue
				}
				multi = append(multi, b...)
				multiNext++
				continue
			}
			s := strings.ReplaceAll(l, " ", "")
			if len(s) == 3 && isHexSpace(s) {
				flushMulti()
				n, _ := strconv.ParseUint(s, 16, 16)
				multiLen = int(n)
				continue
			}
			b, ok := hexBytes(l)
			if !ok || !isHexSpace(l) {
				a.Problems = append(a.Problems, fmt.Sprintf("garbage line %q", l))
				continue
			}
			flushMulti()
			a.Messages = append(a.Messages, Response{Data: b})
			continue
		}
		f, err := parseFrameLine(l, o)
		if err != nil {
			a.Problems = append(a.Problems, err.Error())
			continue
		}
		a.Frames = append(a.Frames, f)
	}
	flushMulti()
	if raw {
		a.assemble(o)
	}
	return a
}

// parseFrameLine reads "7E8 10 14 49 02 01 31 47 31", "7E8101449020131",
// "18 DA F1 10 03 41 0D 00" or "18DAF11003410D00" (with headers), or a
// headerless raw frame (ATCAF0 ATH0).
func parseFrameLine(l string, o AnswerOptions) (RawFrame, error) {
	if !isHexSpace(l) {
		return RawFrame{}, fmt.Errorf("garbage line %q", l)
	}
	var f RawFrame
	rest := l
	if o.Headers {
		fields := strings.Fields(l)
		var id string
		is29 := false
		if o.IDs29 != nil {
			is29 = *o.IDs29
		}
		switch {
		case len(fields) > 1: // spaces on
			if o.IDs29 == nil {
				is29 = len(fields[0]) == 2 && len(fields) >= 5
			}
			if is29 {
				if len(fields) < 4 {
					return f, fmt.Errorf("line %q: short 29-bit header", l)
				}
				id = strings.Join(fields[:4], "")
				rest = strings.Join(fields[4:], "")
			} else {
				id = fields[0]
				rest = strings.Join(fields[1:], "")
			}
		default: // spaces off: 11-bit lines have odd length
			if o.IDs29 == nil {
				is29 = len(l)%2 == 0
			}
			n := 3
			if is29 {
				n = 8
			}
			if len(l) < n {
				return f, fmt.Errorf("line %q: shorter than a CAN id", l)
			}
			id, rest = l[:n], l[n:]
		}
		if (is29 && len(id) != 8) || (!is29 && len(id) != 3) {
			return f, fmt.Errorf("line %q: bad CAN id %q", l, id)
		}
		v, err := strconv.ParseUint(id, 16, 32)
		if err != nil || (!is29 && v > 0x7FF) || v > 0x1FFFFFFF {
			return f, fmt.Errorf("line %q: bad CAN id %q", l, id)
		}
		f.ID = uint32(v)
		if o.DLC {
			rest = strings.TrimSpace(rest)
			if len(rest) < 1 {
				return f, fmt.Errorf("line %q: no length", l)
			}
			rest = rest[1:]
		}
	}
	b, ok := hexBytes(rest)
	if !ok {
		return f, fmt.Errorf("line %q: odd or missing data bytes", l)
	}
	if len(b) > 8 {
		return f, fmt.Errorf("line %q: %d data bytes in one CAN frame", l, len(b))
	}
	f.Data = b
	return f, nil
}

// assemble reassembles raw frames into messages, one ISO-TP stream per id
// (and extended address).
func (a *Answer) assemble(o AnswerOptions) {
	type key struct {
		id  uint32
		ext byte
	}
	streams := map[key]*isotp.Reassembler{}
	for _, f := range a.Frames {
		data := f.Data
		k := key{id: f.ID}
		if o.ExtAddr {
			if len(data) < 2 {
				a.Problems = append(a.Problems, fmt.Sprintf("frame %03X % X: too short for extended addressing", f.ID, f.Data))
				continue
			}
			k.ext, data = data[0], data[1:]
		}
		r := streams[k]
		if r == nil {
			r = new(isotp.Reassembler)
			streams[k] = r
		}
		res, err := r.Feed(data)
		if errors.Is(err, isotp.ErrUnexpected) {
			a.Stray++
			continue
		}
		if err != nil {
			a.Problems = append(a.Problems, fmt.Sprintf("frame %03X % X: %v", f.ID, f.Data, err))
			continue
		}
		if res.Payload != nil {
			a.Messages = append(a.Messages, Response{ID: f.ID, ExtAddr: k.ext, Data: res.Payload})
		}
	}
	for k, r := range streams {
		if r.Active() {
			a.Problems = append(a.Problems, fmt.Sprintf("answer from %03X incomplete: %d bytes missing", k.id, r.Missing()))
		}
	}
}
