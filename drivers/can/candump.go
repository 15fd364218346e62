package can

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The candump log format, as written by `candump -l` (can-utils) and read by
// canplayer:
//
//	(1700000000.123456) can0 123#DEADBEEF
//	(1700000000.123500) can1 18DAF110#0322F19000000000 T
//
// The frame is in compact notation: 3 hex digits for a standard identifier,
// 8 for an extended one, then `#` and the payload (`R` or `R4` for a remote
// frame). A CAN FD frame has `##`, one hex digit of CAN FD flags
// (CANFD_BRS 1, CANFD_ESI 2; newer kernels add CANFD_FDF 4), then the
// payload, up to 64 bytes, optionally dotted as in `123##1.11.22`:
//
//	(1700000000.123600) can0 123##1112233
//
// An 8-digit identifier with CAN_ERR_FLAG (0x20000000) is an error frame.
// Some candump versions end the line with ` R` or ` T` (received or
// transmitted). (can-utils lib.c: parse_canframe, sprint_canframe.)

// canErrFlag is SocketCAN's CAN_ERR_FLAG, as it appears in candump
// identifiers of error frames.
const canErrFlag = 0x20000000

// CandumpReader reads a candump log. It is a Source.
//
// Bus indexes come from the interface names: the trailing number of the
// name (can0 -> 0, vcan3 -> 3, slcan1 -> 1). A name without a number, one
// whose number is above 255, or one whose number another name already took
// (can0 and vcan0) gets the lowest free index, in order of first
// appearance; Buses reports the mapping.
//
// Times are nanoseconds since the Unix epoch, as logged (up to nine
// fraction digits are kept). CAN FD frames of up to 8 bytes are read with
// the FD flag, and BRS and ESI from their flags digit (other flag bits are
// ignored); longer ones are counted and skipped with ErrUnsupportedFD.
// Blank lines and lines starting with '#' are skipped silently; bad lines
// are counted and skipped.
type CandumpReader struct {
	lr    lineReader
	f     Frame
	names []busName
	last  int       // index in names of the last interface seen
	used  [4]uint64 // bit set of bus indexes given out
}

type busName struct {
	name string
	bus  uint8
}

// NewCandumpReader returns a reader of the candump log r. name is the file
// name used in LineErrors (may be "").
func NewCandumpReader(r io.Reader, name string) *CandumpReader {
	return &CandumpReader{lr: newLineReader(r, name)}
}

// Receive reads the next frame, skipping bad lines. It returns false at the
// end of the input or on an I/O error (see Err).
func (r *CandumpReader) Receive() bool {
	for {
		line, ok := r.lr.next()
		if !ok {
			return false
		}
		line = trimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		iface, err := parseCandumpLine(line, &r.f)
		if err == nil {
			r.f.Bus, err = r.busOf(iface)
		}
		if err == nil && r.lr.partial {
			err = errIncomplete
		}
		if err != nil {
			r.lr.add(r.lr.n, err)
			continue
		}
		return true
	}
}

// Frame returns the frame read by the last successful Receive.
func (r *CandumpReader) Frame() Frame { return r.f }

// Err returns the I/O error that ended the read, if any. Bad lines are not
// errors here: see Skipped and LineErrors.
func (r *CandumpReader) Err() error { return r.lr.err }

// Skipped counts the lines skipped as bad or unsupported so far. It may be
// called from any goroutine.
func (r *CandumpReader) Skipped() int { return int(r.lr.skipped.Load()) }

// LineErrors returns the problems with the first 100 skipped lines.
func (r *CandumpReader) LineErrors() []*LineError { return r.lr.lineErrors() }

// Buses returns the bus index given to each interface name seen so far.
func (r *CandumpReader) Buses() map[string]uint8 {
	m := make(map[string]uint8, len(r.names))
	for _, n := range r.names {
		m[n.name] = n.bus
	}
	return m
}

func (r *CandumpReader) busOf(name []byte) (uint8, error) {
	if r.last < len(r.names) && r.names[r.last].name == string(name) {
		return r.names[r.last].bus, nil
	}
	for i := range r.names {
		if r.names[i].name == string(name) {
			r.last = i
			return r.names[i].bus, nil
		}
	}
	bus, ok := trailingNumber(name)
	if !ok || r.used[bus/64]&(1<<(bus%64)) != 0 {
		bus, ok = r.firstFree()
		if !ok {
			return 0, fmt.Errorf("interface %q: more than 256 interfaces", name)
		}
	}
	r.used[bus/64] |= 1 << (bus % 64)
	r.names = append(r.names, busName{name: string(name), bus: bus})
	r.last = len(r.names) - 1
	return bus, nil
}

func (r *CandumpReader) firstFree() (uint8, bool) {
	for i := 0; i < 256; i++ {
		if r.used[i/64]&(1<<(i%64)) == 0 {
			return uint8(i), true
		}
	}
	return 0, false
}

// trailingNumber returns the decimal number that ends name, if it has one
// and it is at most 255.
func trailingNumber(name []byte) (uint8, bool) {
	i := len(name)
	for i > 0 && isDigit(name[i-1]) {
		i--
	}
	v, ok := parseDec(name[i:], 255)
	return uint8(v), ok
}

var errCandumpSyntax = errors.New("not a candump line: want `(seconds) interface frame`")

// parseCandumpLine parses one candump log line (without line ending) into
// f and returns the interface name.
func parseCandumpLine(line []byte, f *Frame) (iface []byte, err error) {
	*f = Frame{}
	s := trimSpace(line)
	if len(s) == 0 || s[0] != '(' {
		return nil, errCandumpSyntax
	}
	end := bytes.IndexByte(s, ')')
	if end < 0 {
		return nil, errCandumpSyntax
	}
	if f.Time, err = parseSeconds(s[1:end]); err != nil {
		return nil, err
	}
	iface, rest := field(s[end+1:])
	tok, rest := field(rest)
	if len(tok) == 0 {
		return nil, errCandumpSyntax
	}
	if err := parseCompact(tok, f); err != nil {
		return nil, err
	}
	dir, rest := field(rest)
	if len(dir) > 0 {
		switch {
		case len(dir) == 1 && (dir[0] == 'T' || dir[0] == 't'):
			f.Flags |= TX
		case len(dir) == 1 && (dir[0] == 'R' || dir[0] == 'r'):
		default:
			return nil, fmt.Errorf("unexpected %q after the frame (want R or T)", dir)
		}
		if more, _ := field(rest); len(more) > 0 {
			return nil, fmt.Errorf("unexpected %q after the direction", more)
		}
	}
	return iface, nil
}

// parseCompact parses candump's compact frame notation into f (which must
// be zero apart from Time).
func parseCompact(tok []byte, f *Frame) error {
	hash := bytes.IndexByte(tok, '#')
	if hash < 0 {
		return fmt.Errorf("frame %q has no '#'", tok)
	}
	idText, data := tok[:hash], tok[hash+1:]
	id, ok := parseHex(idText)
	switch {
	case !ok:
		return fmt.Errorf("bad identifier %q", idText)
	case len(idText) == 3:
		if id > 0x7FF {
			return fmt.Errorf("standard identifier %s above 7FF", idText)
		}
	case len(idText) == 8:
		if id > canErrFlag|0x1FFFFFFF {
			return fmt.Errorf("identifier %s has flag bits other than CAN_ERR_FLAG", idText)
		}
		if id&canErrFlag != 0 {
			// An error frame: the identifier holds the error class.
			// Error classes fit in 11 bits; a larger one is marked
			// Extended so that the frame stays valid.
			f.Flags |= ErrorFrame
			id &^= canErrFlag
			if id > 0x7FF {
				f.Flags |= Extended
			}
		} else {
			f.Flags |= Extended
		}
	default:
		return fmt.Errorf("identifier %q: want 3 or 8 hex digits", idText)
	}
	f.ID = id
	if len(data) > 0 && data[0] == '#' {
		return parseCompactFD(data[1:], f)
	}
	if len(data) > 0 && (data[0] == 'R' || data[0] == 'r') {
		f.Flags |= Remote
		d := data[1:]
		if len(d) == 0 {
			return nil
		}
		n := hexVal[d[0]]
		if n > MaxDataLen {
			return fmt.Errorf("remote frame length %q above 8", d)
		}
		f.Len = n
		if d = d[1:]; len(d) == 0 || n == MaxDataLen && isRawDLC(d) {
			return nil
		}
		return fmt.Errorf("bad remote frame %q", data)
	}
	n := 0
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '.' && n > 0:
			i++
			continue
		case c == '_' && n == MaxDataLen && isRawDLC(data[i:]):
			// A raw DLC 9..F on an 8-byte frame (can-utils len8_dlc):
			// the payload is the 8 bytes.
			f.Len = MaxDataLen
			return nil
		case n == MaxDataLen:
			return fmt.Errorf("payload %q longer than 8 bytes", data)
		case i+1 >= len(data):
			return fmt.Errorf("payload %q has an odd number of hex digits", data)
		}
		hi, lo := hexVal[c], hexVal[data[i+1]]
		if hi == 0xFF || lo == 0xFF {
			return fmt.Errorf("bad payload %q", data)
		}
		f.Data[n] = hi<<4 | lo
		n++
		i += 2
	}
	f.Len = uint8(n)
	return nil
}

// parseCompactFD parses what follows `##` in a CAN FD frame: the flags
// digit, then up to 64 payload bytes, each optionally preceded by a '.'
// (as can-utils' parse_canframe reads them). Payloads over 8 bytes are
// ErrUnsupportedFD.
func parseCompactFD(d []byte, f *Frame) error {
	if f.Flags&ErrorFrame != 0 {
		return errors.New("error frame (CAN_ERR_FLAG) in CAN FD notation ##")
	}
	if len(d) == 0 || hexVal[d[0]] == 0xFF {
		return fmt.Errorf("CAN FD frame: want one hex digit of flags after ##, got %q", truncate(d))
	}
	fl := hexVal[d[0]]
	f.Flags |= FD
	if fl&canfdBRS != 0 {
		f.Flags |= BRS
	}
	if fl&canfdESI != 0 {
		f.Flags |= ESI
	}
	data := d[1:]
	n := 0
	for i := 0; i < len(data); {
		if data[i] == '.' {
			i++
			if i < len(data) && data[i] == '.' {
				return fmt.Errorf("bad CAN FD payload %q", truncate(data))
			}
			continue
		}
		if i+1 >= len(data) {
			return fmt.Errorf("CAN FD payload %q has an odd number of hex digits", truncate(data))
		}
		hi, lo := hexVal[data[i]], hexVal[data[i+1]]
		if hi == 0xFF || lo == 0xFF {
			return fmt.Errorf("bad CAN FD payload %q", truncate(data))
		}
		if n < MaxDataLen {
			f.Data[n] = hi<<4 | lo
		}
		n++
		i += 2
	}
	switch {
	case n > canFDMaxLen:
		return fmt.Errorf("CAN FD payload of %d bytes, more than %d", n, canFDMaxLen)
	case n > MaxDataLen:
		return ErrUnsupportedFD
	}
	f.Len = uint8(n)
	return nil
}

// canFDMaxLen is the longest CAN FD payload.
const canFDMaxLen = 64

// isRawDLC reports whether s is `_X` with X a DLC from 9 to F.
func isRawDLC(s []byte) bool {
	return len(s) == 2 && s[0] == '_' && hexVal[s[1]] >= 9 && hexVal[s[1]] <= 15
}

// CandumpWriter writes a candump log, one line per frame:
//
//	(1700000000.123456) can0 123#DEADBEEF
//	(1700000000.123600) can0 123##1112233
//
// Bus n is written as interface `can<n>`. Times are written in microseconds
// (truncated toward zero; times before the epoch get a minus sign). A TX
// frame ends with ` T`. A CAN FD frame (flag FD) is written `ID##<flags>`
// and its payload, the flags digit holding BRS (1) and ESI (2), as candump
// logs them; one marked FD that is also remote or an error frame is
// refused with ErrNotRepresentable. Error frames are written with
// CAN_ERR_FLAG in the identifier, as candump does; that notation cannot
// carry Extended, so an error frame reads back as Extended only when its
// class is above 0x7FF. Output is buffered: call Flush or Close at the end.
type CandumpWriter struct {
	w   *bufio.Writer
	buf []byte
}

// NewCandumpWriter returns a writer of a candump log to w.
func NewCandumpWriter(w io.Writer) *CandumpWriter {
	return &CandumpWriter{w: bufio.NewWriterSize(w, 32<<10), buf: make([]byte, 0, 64)}
}

// WriteFrame writes one line. A frame that fails Validate is refused, as is
// one marked FD that is remote or an error frame (ErrNotRepresentable).
func (w *CandumpWriter) WriteFrame(f Frame) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("candump: %w", err)
	}
	if f.Flags&FD != 0 && f.Flags&(Remote|ErrorFrame) != 0 {
		return errFDKind("candump", f.Flags)
	}
	b := append(w.buf[:0], '(')
	b = appendSeconds(b, f.Time)
	b = append(b, ") can"...)
	b = appendUint(b, uint64(f.Bus))
	b = append(b, ' ')
	if f.Flags&ErrorFrame != 0 {
		f.ID |= canErrFlag
		f.Flags |= Extended // eight digits
	}
	b = AppendCompact(b, &f)
	if f.Flags&TX != 0 {
		b = append(b, " T"...)
	}
	b = append(b, '\n')
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// Flush writes buffered lines to the underlying writer.
func (w *CandumpWriter) Flush() error { return w.w.Flush() }

// Close flushes. It does not close the underlying writer.
func (w *CandumpWriter) Close() error { return w.w.Flush() }
