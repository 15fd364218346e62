package can

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// The Vector ASCII log (.asc), as written by CANalyzer, CANoe, python-can
// and SavvyCAN:
//
//	date Wed Nov 8 09:21:54.000 pm 2023
//	base hex  timestamps absolute
//	internal events logged
//	// version 9.0.0
//	Begin Triggerblock Wed Nov 8 09:21:54.000 pm 2023
//	   0.000000 Start of measurement
//	   0.075600 1  59E             Rx   d 8 00 00 00 00 18 0E 00 00
//	   0.075900 1  18DAF110x       Tx   d 3 02 10 03  Length = 0 BitCount = 0 ID = 417001744x
//	   0.076000 2  123             Rx   r 4
//	   0.080000 1  ErrorFrame
//	   0.081000 CANFD   1 Rx        123                                   1 0 3  3 11 22 33        0    0     3000        0        0        0        0        0
//	End TriggerBlock
//
// Each event line starts with its time in seconds: since the start of the
// measurement (the `date` line) with `timestamps absolute`, since the
// previous event with `timestamps relative`. `base dec` writes identifiers,
// DLCs and data bytes in decimal.
//
// Events on a CAN FD channel are `CANFD` lines (Vector's "CAN, Log &
// Trigger ASC Logging Format", CAN FD events; python-can's ASCWriter
// writes the same layout):
//
//	<time> CANFD <ch> <Rx|Tx> <id>[x] [<symbolic name>] <BRS> <ESI> <DLC> <DataLength> <data bytes...>
//	       <MessageDuration> <MessageLength> <Flags> <CRC> <BitTimingConfArb> <BitTimingConfData> <BitTimingConfExtArb> <BitTimingConfExtData>
//
// BRS and ESI are 0 or 1, the DLC is in the log's base, DataLength is
// decimal, and Flags is hex with the bits of Vector's CAN FD message
// flags: 0x1000 EDL (a CAN FD frame; clear for a classical frame on a CAN
// FD channel), 0x2000 BRS, 0x4000 ESI, 0x0010 remote frame.

// ASCReader reads a Vector ASC log. It is a Source.
//
// Channels: Vector tools number channels from 1 (CAN1, CAN2 ...), and so
// do python-can and ASCWriter; some tools write 0 for their first (or
// only) bus. A log that numbers channels from 1 maps channel N to bus N-1;
// a log that uses channel 0 maps channel N to bus N. The reader decides at
// the first frame: zero-based if that frame, or any frame line in the rest
// of the read buffer (up to 64 KiB, nothing more is read for this), is on
// channel 0. A channel 0 met later in a log judged one-based is a bad line.
// ChannelBase reports the decision.
//
// Frame.Time is the time of the `date` line plus the event's offset, in
// nanoseconds since the Unix epoch. The date is read as UTC: tools write
// the recording PC's local time and seldom name a zone. English or German
// month names and a 12- or 24-hour clock are understood. Without a `date`
// line that can be read, Frame.Time is the offset alone (Start reports
// which). `CANFD` lines are read: with the FD flag (and BRS and ESI from
// their columns) when their Flags have EDL set or they end before Flags;
// as classical data or remote frames when EDL is clear; `CANFD <ch> <dir>
// ErrorFrame ...` as an error frame. Those with a DataLength above 8 are
// counted and skipped with ErrUnsupportedFD; events of other kinds (LIN,
// FlexRay ...) are counted and skipped as bad lines.
// Header lines, comments, blank lines and non-frame CAN events (Start of
// measurement, Statistic:, Status:, TxRq, system variables) are skipped
// silently. A DLC from 9 to F on a classical frame carries 8 bytes, which
// are kept. An identifier above 7FF without the `x` suffix is taken as
// extended. When a line carries `ID = <decimal>[x]` after the data (CANoe
// does), that identifier is used: it is the only one on lines that show a
// message name instead of an identifier.
type ASCReader struct {
	lr       lineReader
	f        Frame
	dec      bool // base dec
	relative bool // timestamps relative
	acc      int64
	start    time.Time
	startNS  int64
	dated    bool // start comes from a `date` line
	chanBase int  // -1 until decided
}

// NewASCReader returns a reader of the ASC log r. name is the file name used
// in LineErrors (may be "").
func NewASCReader(r io.Reader, name string) *ASCReader {
	return &ASCReader{lr: newLineReader(r, name), chanBase: -1}
}

// Receive reads the next frame, skipping bad lines. It returns false at the
// end of the input or on an I/O error (see Err).
func (r *ASCReader) Receive() bool {
	for {
		line, ok := r.lr.next()
		if !ok {
			return false
		}
		s := trimSpace(line)
		if len(s) == 0 {
			continue
		}
		if c := s[0]; !isDigit(c) && c != '-' && c != '.' {
			if err := r.header(s); err != nil {
				r.lr.add(r.lr.n, err)
			}
			continue
		}
		if err := r.event(s); err != nil {
			if err != errSkip {
				r.lr.add(r.lr.n, err)
			}
			continue
		}
		return true
	}
}

// errSkip marks a line skipped silently.
var errSkip = errors.New("skip")

func (r *ASCReader) event(s []byte) error {
	tok, rest := field(s)
	t, err := parseSeconds(tok)
	if err != nil {
		return err
	}
	if r.relative {
		var ok bool
		if t, ok = addTime(r.acc, t); !ok {
			return errTimeRange
		}
		r.acc = t
	}
	kind, ch, err := parseASCEvent(rest, r.dec, &r.f)
	if err != nil {
		return err
	}
	if kind != ascFrame {
		return errSkip
	}
	if r.f.Bus, err = r.busOf(ch); err != nil {
		return err
	}
	var ok bool
	if r.f.Time, ok = addTime(r.startNS, t); !ok {
		return errTimeRange
	}
	if r.lr.partial {
		return errIncomplete
	}
	return nil
}

func (r *ASCReader) busOf(ch uint64) (uint8, error) {
	if r.chanBase < 0 {
		r.chanBase = 1
		if ch == 0 || r.zeroAhead() {
			r.chanBase = 0
		}
	}
	if r.chanBase == 0 {
		if ch > 255 {
			return 0, fmt.Errorf("channel %d above 255", ch)
		}
		return uint8(ch), nil
	}
	switch {
	case ch == 0:
		return 0, errors.New("channel 0 in a log whose channels count from 1")
	case ch > 256:
		return 0, fmt.Errorf("channel %d above 256", ch)
	}
	return uint8(ch - 1), nil
}

// zeroAhead reports whether a frame line on channel 0 is in the read
// buffer. It reads nothing more.
func (r *ASCReader) zeroAhead() bool {
	buf, _ := r.lr.br.Peek(r.lr.br.Buffered())
	for len(buf) > 0 {
		var line []byte
		line, buf, _ = bytes.Cut(buf, []byte{'\n'})
		tok, rest := field(line)
		if len(tok) == 0 || !isDigit(tok[0]) {
			continue
		}
		tok, rest = field(rest)
		if equalFold(tok, "CANFD") {
			tok, _ = field(rest)
		}
		if len(tok) == 1 && tok[0] == '0' {
			return true
		}
	}
	return false
}

func (r *ASCReader) header(s []byte) error {
	if bytes.HasPrefix(s, []byte("//")) {
		return nil
	}
	tok, rest := field(s)
	switch {
	case equalFold(tok, "date"):
		// A new date starts a new measurement (logs joined together).
		r.acc = 0
		if t, ok := parseASCDate(rest); ok {
			r.setStart(t)
			r.dated = true
		}
		return nil
	case equalFold(tok, "base"):
		return r.base(rest)
	case equalFold(tok, "internal"), equalFold(tok, "no"):
		return nil // [no] internal events logged
	case equalFold(tok, "begin"), equalFold(tok, "end"):
		kw, rest := field(rest)
		if !equalFold(kw, "triggerblock") {
			break
		}
		if !r.dated && equalFold(tok, "begin") {
			if t, ok := parseASCDate(rest); ok {
				r.setStart(t)
			}
		}
		return nil
	}
	return fmt.Errorf("not an ASC header or event line: %q", truncate(s))
}

func (r *ASCReader) setStart(t time.Time) {
	r.start = t
	r.startNS = t.UnixNano()
}

func (r *ASCReader) base(s []byte) error {
	tok, rest := field(s)
	switch {
	case equalFold(tok, "hex"):
		r.dec = false
	case equalFold(tok, "dec"):
		r.dec = true
	default:
		return fmt.Errorf("base %q: want hex or dec", tok)
	}
	if tok, rest = field(rest); len(tok) == 0 {
		return nil
	}
	if !equalFold(tok, "timestamps") {
		return fmt.Errorf("unexpected %q in base line", tok)
	}
	switch tok, _ = field(rest); {
	case equalFold(tok, "absolute"):
		r.relative = false
	case equalFold(tok, "relative"):
		r.relative = true
		r.acc = 0
	default:
		return fmt.Errorf("timestamps %q: want absolute or relative", tok)
	}
	return nil
}

// Frame returns the frame read by the last successful Receive.
func (r *ASCReader) Frame() Frame { return r.f }

// Err returns the I/O error that ended the read, if any. Bad lines are not
// errors here: see Skipped and LineErrors.
func (r *ASCReader) Err() error { return r.lr.err }

// Skipped counts the lines skipped as bad or unsupported so far. It may be
// called from any goroutine.
func (r *ASCReader) Skipped() int { return int(r.lr.skipped.Load()) }

// LineErrors returns the problems with the first 100 skipped lines.
func (r *ASCReader) LineErrors() []*LineError { return r.lr.lineErrors() }

// Start returns the measurement start read from the `date` line (or, when
// there is none, from `Begin Triggerblock`), and whether there was one
// that could be read. Frame times are this start plus each event's offset.
func (r *ASCReader) Start() (time.Time, bool) { return r.start, !r.start.IsZero() }

// ChannelBase returns 1 when the log numbers channels from 1 (channel N is
// bus N-1), 0 when it uses channel 0 (channel N is bus N), and -1 before
// the first frame.
func (r *ASCReader) ChannelBase() int { return r.chanBase }

type ascKind uint8

const (
	ascSkip ascKind = iota
	ascFrame
)

// parseASCEvent parses what follows the time of an event line into f (all
// but Time and Bus) and returns the channel number.
func parseASCEvent(s []byte, dec bool, f *Frame) (ascKind, uint64, error) {
	*f = Frame{}
	tok, rest := field(s)
	if len(tok) == 0 {
		return 0, 0, errors.New("no event after the time")
	}
	if !isDigit(tok[0]) {
		switch {
		case equalFold(tok, "CANFD"):
			return parseASCFD(rest, dec, f)
		case equalFold(tok, "Start"), equalFold(tok, "CAN"), equalFold(tok, "SV:"), equalFold(tok, "Log"):
			// Start of measurement, CAN n Status:..., system variables,
			// log trigger events.
			return ascSkip, 0, nil
		}
		return 0, 0, fmt.Errorf("unsupported event %q", truncate(tok))
	}
	ch, ok := parseDec(tok, 1<<16)
	if !ok {
		return 0, 0, fmt.Errorf("bad channel %q", truncate(tok))
	}
	idTok, rest := field(rest)
	switch {
	case equalFold(idTok, "ErrorFrame"):
		f.Flags = ErrorFrame
		return ascFrame, ch, nil
	case equalFold(idTok, "Statistic:"), equalFold(idTok, "Status:"):
		return ascSkip, 0, nil
	}
	dir, rest := field(rest)
	switch {
	case equalFold(dir, "Rx"):
	case equalFold(dir, "Tx"):
		f.Flags |= TX
	case equalFold(dir, "TxRq"):
		return ascSkip, 0, nil // a transmit request, not a frame on the bus
	default:
		return 0, 0, fmt.Errorf("want Rx or Tx after the identifier, got %q", truncate(dir))
	}
	typ, rest := field(rest)
	switch {
	case len(typ) == 1 && typ[0]|0x20 == 'd':
		var dlcTok []byte
		dlcTok, rest = field(rest)
		dlc, ok := parseASCNum(dlcTok, dec, 15)
		if !ok {
			return 0, 0, fmt.Errorf("bad DLC %q", truncate(dlcTok))
		}
		n := min(int(dlc), MaxDataLen)
		for i := 0; i < n; i++ {
			var b []byte
			b, rest = field(rest)
			v, ok := parseASCNum(b, dec, 255)
			if !ok {
				if len(b) == 0 {
					return 0, 0, fmt.Errorf("DLC %d but %d data bytes", dlc, i)
				}
				return 0, 0, fmt.Errorf("bad data byte %q", truncate(b))
			}
			f.Data[i] = byte(v)
		}
		f.Len = uint8(n)
	case len(typ) == 1 && typ[0]|0x20 == 'r':
		f.Flags |= Remote
		if dlcTok, r2 := field(rest); len(dlcTok) > 0 {
			if dlc, ok := parseASCNum(dlcTok, dec, 15); ok {
				f.Len = uint8(min(int(dlc), MaxDataLen))
				rest = r2
			}
		}
	default:
		return 0, 0, fmt.Errorf("want d or r after the direction, got %q", truncate(typ))
	}
	id, ext, ok := trailingASCID(rest)
	if !ok {
		if id, ext, ok = parseASCID(idTok, dec); !ok {
			return 0, 0, fmt.Errorf("bad identifier %q", truncate(idTok))
		}
	}
	if id > 0x1FFFFFFF {
		return 0, 0, fmt.Errorf("identifier %q above 1FFFFFFF", truncate(idTok))
	}
	if ext || id > 0x7FF {
		f.Flags |= Extended
	}
	f.ID = id
	return ascFrame, ch, nil
}

// Vector's CAN FD message flags (the <Flags> column of CANFD lines, as in
// BLF's CAN_FD_MESSAGE_64).
const (
	ascFDRemote = 0x0010
	ascFDEDL    = 0x1000 // a CAN FD frame (extended data length)
	ascFDBRS    = 0x2000
	ascFDESI    = 0x4000
)

// parseASCFD parses what follows `CANFD` on an event line into f (all but
// Time and Bus) and returns the channel number.
func parseASCFD(s []byte, dec bool, f *Frame) (ascKind, uint64, error) {
	chTok, rest := field(s)
	ch, ok := parseDec(chTok, 1<<16)
	if !ok {
		return 0, 0, fmt.Errorf("CANFD: bad channel %q", truncate(chTok))
	}
	dir, rest := field(rest)
	switch {
	case equalFold(dir, "Rx"):
	case equalFold(dir, "Tx"):
		f.Flags |= TX
	case equalFold(dir, "TxRq"):
		return ascSkip, 0, nil
	default:
		return 0, 0, fmt.Errorf("CANFD: want Rx or Tx after the channel, got %q", truncate(dir))
	}
	idTok, rest := field(rest)
	if equalFold(idTok, "ErrorFrame") {
		// As classical ErrorFrame lines: no identifier, data nor direction.
		f.Flags = ErrorFrame
		return ascFrame, ch, nil
	}
	id, ext, ok := parseASCID(idTok, dec)
	switch {
	case !ok:
		return 0, 0, fmt.Errorf("CANFD: bad identifier %q", truncate(idTok))
	case id > 0x1FFFFFFF:
		return 0, 0, fmt.Errorf("CANFD: identifier %q above 1FFFFFFF", truncate(idTok))
	}
	brs, rest := field(rest)
	if len(brs) > 0 && !isDigit(brs[0]) {
		// A symbolic name (a DBC message name, never starting with a
		// digit) before BRS.
		brs, rest = field(rest)
	}
	esi, rest := field(rest)
	if !isBit(brs) || !isBit(esi) {
		return 0, 0, fmt.Errorf("CANFD: want BRS and ESI (0 or 1), got %q %q", truncate(brs), truncate(esi))
	}
	dlcTok, rest := field(rest)
	dlc, ok := parseASCNum(dlcTok, dec, 15)
	if !ok {
		return 0, 0, fmt.Errorf("CANFD: bad DLC %q", truncate(dlcTok))
	}
	nTok, rest := field(rest)
	n, ok := parseDec(nTok, canFDMaxLen)
	switch {
	case !ok:
		return 0, 0, fmt.Errorf("CANFD: bad data length %q", truncate(nTok))
	case n > MaxDataLen:
		return 0, 0, ErrUnsupportedFD
	}
	for i := 0; i < int(n); i++ {
		var b []byte
		b, rest = field(rest)
		v, ok := parseASCNum(b, dec, 255)
		if !ok {
			if len(b) == 0 {
				return 0, 0, fmt.Errorf("CANFD: data length %d but %d data bytes", n, i)
			}
			return 0, 0, fmt.Errorf("CANFD: bad data byte %q", truncate(b))
		}
		f.Data[i] = byte(v)
	}
	// <MessageDuration> <MessageLength> <Flags>: a line that ends before
	// Flags is taken as a CAN FD frame.
	_, rest = field(rest)
	_, rest = field(rest)
	fdFrame, remote := true, false
	if flTok, _ := field(rest); len(flTok) > 0 {
		fl, ok := parseHex(flTok)
		if !ok {
			return 0, 0, fmt.Errorf("CANFD: bad flags %q", truncate(flTok))
		}
		fdFrame, remote = fl&ascFDEDL != 0, fl&ascFDRemote != 0
	}
	switch {
	case fdFrame:
		if uint64(dlc) != n {
			return 0, 0, fmt.Errorf("CANFD: DLC %d but data length %d", dlc, n)
		}
		f.Flags |= FD
		if brs[0] == '1' {
			f.Flags |= BRS
		}
		if esi[0] == '1' {
			f.Flags |= ESI
		}
		f.Len = uint8(n)
	case remote:
		// A classical remote frame on a CAN FD channel: the DLC is the
		// requested length, there is no data.
		f.Flags |= Remote
		f.Data = [MaxDataLen]byte{}
		f.Len = uint8(min(int(dlc), MaxDataLen))
	default:
		// A classical data frame on a CAN FD channel; a DLC from 9 to F
		// carries 8 bytes.
		if min(uint64(dlc), MaxDataLen) != n {
			return 0, 0, fmt.Errorf("CANFD: DLC %d but data length %d", dlc, n)
		}
		f.Len = uint8(n)
	}
	if ext || id > 0x7FF {
		f.Flags |= Extended
	}
	f.ID = id
	return ascFrame, ch, nil
}

// isBit reports whether s is "0" or "1".
func isBit(s []byte) bool { return len(s) == 1 && (s[0] == '0' || s[0] == '1') }

// parseASCNum parses a number of the log's base, at most max (and, in hex,
// at most two digits).
func parseASCNum(s []byte, dec bool, max uint32) (uint32, bool) {
	if dec {
		v, ok := parseDec(s, uint64(max))
		return uint32(v), ok
	}
	if len(s) > 2 {
		return 0, false
	}
	v, ok := parseHex(s)
	return v, ok && v <= max
}

// parseASCID parses an identifier with an optional `x` (extended) suffix.
func parseASCID(s []byte, dec bool) (id uint32, ext, ok bool) {
	if n := len(s); n > 0 && s[n-1]|0x20 == 'x' {
		ext, s = true, s[:n-1]
	}
	if dec {
		v, ok := parseDec(s, 0x1FFFFFFF)
		return uint32(v), ext, ok
	}
	id, ok = parseHex(s)
	return id, ext, ok
}

// trailingASCID finds `ID = <decimal>[x]` among the fields after the data.
func trailingASCID(s []byte) (id uint32, ext, ok bool) {
	for {
		var tok []byte
		if tok, s = field(s); len(tok) == 0 {
			return 0, false, false
		}
		if len(tok) == 2 && tok[0] == 'I' && tok[1] == 'D' {
			eq, r2 := field(s)
			if len(eq) != 1 || eq[0] != '=' {
				continue
			}
			v, _ := field(r2)
			return parseASCID(v, true)
		}
	}
}

// ascDateLayout is how the writer writes the `date` line, as CANalyzer does.
const ascDateLayout = "Mon Jan 2 03:04:05.000 pm 2006"

var ascMonths = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March, "mär": time.March, "mrz": time.March,
	"apr": time.April, "may": time.May, "mai": time.May, "jun": time.June, "jul": time.July,
	"aug": time.August, "sep": time.September, "oct": time.October, "okt": time.October,
	"nov": time.November, "dec": time.December, "dez": time.December,
}

// parseASCDate reads the date of a `date` or `Begin Triggerblock` line in
// the forms tools write: `Wed Nov 8 09:21:54.123 pm 2023`, `Sam Sep 30
// 15:06:13.191 2017` (German), `Wed, 08 Nov 2023 21:21:54 GMT`. The day of
// the week is ignored, and the time is read as UTC.
func parseASCDate(b []byte) (time.Time, bool) {
	var (
		month                   time.Month
		day, year               = -1, -1
		hour, minute, sec, nsec = -1, 0, 0, 0
		am, pm                  bool
	)
	for _, fl := range strings.Fields(string(b)) {
		fl = strings.TrimRight(fl, ",")
		low := strings.ToLower(fl)
		switch {
		case strings.Contains(fl, ":"):
			var ok bool
			if hour, minute, sec, nsec, ok = parseClock(fl); !ok {
				return time.Time{}, false
			}
		case low == "am":
			am = true
		case low == "pm":
			pm = true
		case allDigits(fl) && len(fl) == 4:
			year = atoi(fl)
		case allDigits(fl) && len(fl) <= 2:
			day = atoi(fl)
		default:
			// A month name; the day of the week is not one.
			if r := []rune(low); len(r) >= 3 {
				if m, ok := ascMonths[string(r[:3])]; ok {
					month = m
				}
			}
		}
	}
	switch {
	case month == 0, day < 1, day > 31, year < 0, hour < 0, minute > 59, sec > 60:
		return time.Time{}, false
	case am || pm:
		if hour < 1 || hour > 12 {
			return time.Time{}, false
		}
		if hour == 12 {
			hour = 0
		}
		if pm {
			hour += 12
		}
	case hour > 23:
		return time.Time{}, false
	}
	t := time.Date(year, month, day, hour, minute, sec, nsec, time.UTC)
	if t.Before(minUnixNano) || t.After(maxUnixNano) {
		return time.Time{}, false // out of Frame.Time's range
	}
	return t, true
}

var (
	minUnixNano = time.Unix(0, math.MinInt64).UTC()
	maxUnixNano = time.Unix(0, math.MaxInt64).UTC()
)

// parseClock parses hh:mm:ss[.fraction].
func parseClock(s string) (h, m, sec, ns int, ok bool) {
	hs, rest, ok1 := strings.Cut(s, ":")
	ms, ss, ok2 := strings.Cut(rest, ":")
	ss, frac, _ := strings.Cut(ss, ".")
	if !ok1 || !ok2 || !allDigits(hs) || !allDigits(ms) || !allDigits(ss) ||
		len(hs) > 2 || len(ms) > 2 || len(ss) > 2 || len(frac) > 9 || frac != "" && !allDigits(frac) {
		return 0, 0, 0, 0, false
	}
	if frac != "" {
		ns = atoi(frac)
		for i := len(frac); i < 9; i++ {
			ns *= 10
		}
	}
	return atoi(hs), atoi(ms), atoi(ss), ns, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// atoi converts a short string of digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// ASCWriter writes a Vector ASC log with `base hex  timestamps absolute`.
//
// The `date` line holds the start given to NewASCWriter, or, when that is
// the zero Time, the time of the first frame; it is written to the
// millisecond, in UTC. Each frame's time is written as its offset from that
// start in seconds with six decimals (truncated toward zero to the
// microsecond; frames earlier than the start get a negative offset, which
// this package reads back but Vector tools may not). Frames whose times
// count from the start of a recording rather than from the epoch (GVRET
// logs) come out dated January 1970, and read back to the same times.
//
// Bus B is written as channel B+1 (Vector numbering). An error frame is
// written as `ErrorFrame`, which carries neither its identifier nor data,
// nor TX. A CAN FD frame (flag FD) is written as a `CANFD` line in
// Vector's layout, with BRS and ESI in their columns and in Flags (EDL
// 0x1000, BRS 0x2000, ESI 0x4000) and zero for what the agent does not
// know (message duration and length, CRC, bit timings); one marked FD that
// is also remote or an error frame is refused with ErrNotRepresentable.
// Output is buffered; the header is written with the first frame (or by
// Flush when a start was given); Close writes `End TriggerBlock`.
type ASCWriter struct {
	w       *bufio.Writer
	buf     []byte
	start   time.Time
	startNS int64
	begun   bool
	closed  bool
}

// NewASCWriter returns a writer of an ASC log to w, whose measurement
// starts at start (the zero Time: at the first frame).
func NewASCWriter(w io.Writer, start time.Time) *ASCWriter {
	return &ASCWriter{w: bufio.NewWriterSize(w, 32<<10), buf: make([]byte, 0, 96), start: start}
}

var errWriterClosed = errors.New("asc: writer closed")

func (w *ASCWriter) begin(first int64) error {
	if w.begun {
		return nil
	}
	w.begun = true
	t := first
	if !w.start.IsZero() {
		t = w.start.UnixNano()
	}
	// The date line holds milliseconds: start on a whole one.
	ms := t / 1e6
	if t%1e6 < 0 && ms > math.MinInt64/1_000_000 {
		ms--
	}
	w.startNS = ms * 1e6
	date := time.Unix(0, w.startNS).UTC().Format(ascDateLayout)
	_, err := fmt.Fprintf(w.w, "date %s\nbase hex  timestamps absolute\ninternal events logged\n// version 9.0.0\nBegin Triggerblock %s\n   0.000000 Start of measurement\n", date, date)
	return err
}

// WriteFrame writes one line. A frame that fails Validate is refused, as is
// one too far (about 292 years) from the start.
func (w *ASCWriter) WriteFrame(f Frame) error {
	if w.closed {
		return errWriterClosed
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("asc: %w", err)
	}
	if f.Flags&FD != 0 && f.Flags&(Remote|ErrorFrame) != 0 {
		return errFDKind("asc", f.Flags)
	}
	if err := w.begin(f.Time); err != nil {
		return err
	}
	off, ok := addTime(f.Time, -w.startNS)
	if !ok {
		return fmt.Errorf("asc: frame time %d: %w", f.Time, errTimeRange)
	}
	var ts [24]byte
	t := appendSeconds(ts[:0], off)
	b := w.buf[:0]
	for i := len(t); i < 11; i++ {
		b = append(b, ' ')
	}
	b = append(b, t...)
	b = append(b, ' ')
	if f.Flags&FD != 0 {
		return w.write(appendASCFD(b, &f))
	}
	b = appendUint(b, uint64(f.Bus)+1)
	if f.Flags&ErrorFrame != 0 {
		b = append(b, "  ErrorFrame\n"...)
		return w.write(b)
	}
	b = append(b, "  "...)
	idStart := len(b)
	s := 28
	for s > 0 && f.ID>>uint(s)&0xF == 0 {
		s -= 4
	}
	for ; s >= 0; s -= 4 {
		b = append(b, hexUpper[f.ID>>uint(s)&0xF])
	}
	if f.Flags&Extended != 0 {
		b = append(b, 'x')
	}
	for len(b)-idStart < 15 {
		b = append(b, ' ')
	}
	if f.Flags&TX != 0 {
		b = append(b, " Tx   "...)
	} else {
		b = append(b, " Rx   "...)
	}
	if f.Flags&Remote != 0 {
		b = append(b, 'r')
		if f.Len > 0 {
			b = append(b, ' ', hexUpper[f.Len])
		}
	} else {
		b = append(b, 'd', ' ', hexUpper[f.Len])
		for i := 0; i < int(f.Len); i++ {
			b = append(b, ' ')
			b = appendHexByte(b, f.Data[i])
		}
	}
	b = append(b, '\n')
	return w.write(b)
}

// appendASCFD appends a CAN FD frame's `CANFD` event, after its time, in
// the column layout of Vector's tools (and python-can's ASCWriter).
func appendASCFD(b []byte, f *Frame) []byte {
	b = append(b, "CANFD "...)
	b = appendPadded(b, uint64(f.Bus)+1, 3)
	if f.Flags&TX != 0 {
		b = append(b, " Tx   "...)
	} else {
		b = append(b, " Rx   "...)
	}
	var id [9]byte
	idb := id[:0]
	s := 28
	for s > 0 && f.ID>>uint(s)&0xF == 0 {
		s -= 4
	}
	for ; s >= 0; s -= 4 {
		idb = append(idb, hexUpper[f.ID>>uint(s)&0xF])
	}
	if f.Flags&Extended != 0 {
		idb = append(idb, 'x')
	}
	for i := len(idb); i < 8; i++ {
		b = append(b, ' ')
	}
	b = append(b, idb...)
	// Two spaces, an empty symbolic name of 32 columns, then BRS and ESI.
	b = append(b, "                                   "...)
	flags := uint64(ascFDEDL)
	if f.Flags&BRS != 0 {
		b = append(b, '1')
		flags |= ascFDBRS
	} else {
		b = append(b, '0')
	}
	if f.Flags&ESI != 0 {
		b = append(b, " 1 "...)
		flags |= ascFDESI
	} else {
		b = append(b, " 0 "...)
	}
	b = append(b, hexUpper[f.Len], ' ', ' ', '0'+f.Len)
	for i := 0; i < int(f.Len); i++ {
		b = append(b, ' ')
		b = appendHexByte(b, f.Data[i])
	}
	// Message duration (ns) and length (bits), not known here; Flags;
	// CRC and the four bit timing configurations, not known either.
	b = append(b, "        0    0     "...)
	b = append(b, hexUpper[flags>>12&0xF], '0', '0', '0')
	b = append(b, "        0        0        0        0        0\n"...)
	return b
}

// appendPadded appends v right-aligned in width columns.
func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	d := appendUint(tmp[:0], v)
	for i := len(d); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, d...)
}

func (w *ASCWriter) write(b []byte) error {
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// Flush writes buffered lines to the underlying writer.
func (w *ASCWriter) Flush() error {
	if !w.begun && !w.start.IsZero() && !w.closed {
		if err := w.begin(0); err != nil {
			return err
		}
	}
	return w.w.Flush()
}

// Close writes `End TriggerBlock` (and the header, if no frame was written)
// and flushes. It does not close the underlying writer.
func (w *ASCWriter) Close() error {
	if w.closed {
		return nil
	}
	if err := w.begin(0); err != nil {
		return err
	}
	w.closed = true
	if _, err := w.w.WriteString("End TriggerBlock\n"); err != nil {
		return err
	}
	return w.w.Flush()
}

// isASCHeader reports whether line is one of the header lines that only
// ASC logs have.
func isASCHeader(line []byte) bool {
	for _, p := range ascHeaderPrefixes {
		if len(line) >= len(p) && equalFold(line[:len(p)], p) {
			return true
		}
	}
	return false
}

var ascHeaderPrefixes = []string{
	"date ", "base hex", "base dec", "begin triggerblock", "internal events logged",
	"no internal events logged", "// version",
}
