package can

// This file ties the log formats together (format names, detection, opening
// by name) and holds what their readers and writers share: line reading,
// bad-line bookkeeping, and number parsing and formatting without
// allocations.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Format names a CAN log file format.
type Format string

// The log formats this package reads and writes.
const (
	// FormatCandump is the SocketCAN candump log: `(1700000000.123456) can0 123#DEADBEEF`.
	FormatCandump Format = "candump"
	// FormatGVRET is SavvyCAN's native GVRET CSV: `Time Stamp,ID,Extended,Dir,Bus,LEN,D1,...,D8`.
	FormatGVRET Format = "gvret"
	// FormatASC is the Vector ASCII log (CANalyzer, CANoe).
	FormatASC Format = "asc"
)

// ErrUnknownFormat is returned when a log's format can be neither parsed
// from a name nor detected from its content.
var ErrUnknownFormat = errors.New("unknown CAN log format")

// ParseFormat returns the Format named by s: "candump", "gvret" (or "csv")
// or "asc", in any case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "candump":
		return FormatCandump, nil
	case "gvret", "csv":
		return FormatGVRET, nil
	case "asc":
		return FormatASC, nil
	}
	return "", fmt.Errorf("%w %q (want candump, gvret, csv or asc)", ErrUnknownFormat, s)
}

// detectLen is how much of a log DetectFormat is given by NewReader and
// OpenLog.
const detectLen = 8 << 10

// DetectFormat guesses the format of a log from its first few kilobytes.
// It looks at up to the first 64 non-blank lines and decides on the first
// one that is typical of one format: a candump frame line, a GVRET header
// or frame line, an ASC header line or frame line. It returns an error
// wrapping ErrUnknownFormat when none is.
func DetectFormat(head []byte) (Format, error) {
	head = bytes.TrimPrefix(head, utf8BOM)
	var f Frame
	for n := 0; n < 64 && len(head) > 0; {
		var line []byte
		line, head, _ = bytes.Cut(head, []byte{'\n'})
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		n++
		switch {
		case line[0] == '(':
			if _, err := parseCandumpLine(line, &f); err == nil || errors.Is(err, ErrUnsupportedFD) {
				return FormatCandump, nil
			}
		case isGVRETHeader(line):
			return FormatGVRET, nil
		case isASCHeader(line):
			return FormatASC, nil
		case isDigit(line[0]):
			if bytes.IndexByte(line, ',') >= 0 {
				if _, err := parseGVRETLine(line, gvretDefaultCols(line), &f); err == nil || errors.Is(err, ErrUnsupportedFD) {
					return FormatGVRET, nil
				}
				continue
			}
			tok, rest := field(line)
			if _, err := parseSeconds(tok); err != nil {
				continue
			}
			if k, _, err := parseASCEvent(rest, false, &f); err == nil && k == ascFrame || errors.Is(err, ErrUnsupportedFD) {
				return FormatASC, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no candump, GVRET or ASC line at the start", ErrUnknownFormat)
}

// formatFromExt guesses a format from a file name's extension.
func formatFromExt(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".log", ".candump":
		return FormatCandump
	case ".csv":
		return FormatGVRET
	case ".asc":
		return FormatASC
	}
	return ""
}

// LogReader is a Source of frames read from a log file, which counts the
// lines it could not use.
type LogReader interface {
	Source
	// Skipped counts bad or unsupported lines.
	Skipped() int
	// LineErrors returns the first 100 problems, each naming its line.
	LineErrors() []*LineError
}

// LogWriter writes frames to a log file.
type LogWriter interface {
	// WriteFrame writes one frame. It refuses (with an error, writing
	// nothing) a frame that fails Validate or that the format cannot hold;
	// the writer stays usable.
	WriteFrame(f Frame) error
	// Flush writes buffered lines to the underlying writer.
	Flush() error
	// Close flushes and ends the log (ASC writes its End TriggerBlock). It
	// does not close the underlying writer.
	Close() error
}

var (
	_ LogReader = (*CandumpReader)(nil)
	_ LogReader = (*GVRETReader)(nil)
	_ LogReader = (*ASCReader)(nil)
	_ LogWriter = (*CandumpWriter)(nil)
	_ LogWriter = (*GVRETWriter)(nil)
	_ LogWriter = (*ASCWriter)(nil)
)

// NewReader returns a reader of format f from r. name is the file name used
// in LineErrors (may be ""). An empty f detects the format from the first
// few kilobytes of r.
func NewReader(r io.Reader, name string, f Format) (LogReader, error) {
	if f == "" {
		br := bufio.NewReaderSize(r, readBufSize)
		head, err := br.Peek(detectLen)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, fmt.Errorf("%s: %w", displayName(name), err)
		}
		if f, err = DetectFormat(head); err != nil {
			return nil, fmt.Errorf("%s: %w", displayName(name), err)
		}
		r = br
	}
	switch f {
	case FormatCandump:
		return NewCandumpReader(r, name), nil
	case FormatGVRET:
		return NewGVRETReader(r, name), nil
	case FormatASC:
		return NewASCReader(r, name), nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, string(f))
}

// OpenLog opens the log file at path. An empty f detects the format from the
// content, and from the file name's extension (.log candump, .csv GVRET,
// .asc ASC) when the content says nothing (an empty file). The caller closes
// the returned Closer when done.
func OpenLog(path string, f Format) (LogReader, io.Closer, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(file, readBufSize)
	if f == "" {
		head, err := br.Peek(detectLen)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			file.Close()
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if f, err = DetectFormat(head); err != nil {
			if f = formatFromExt(path); f == "" || len(bytes.TrimSpace(head)) > 0 {
				file.Close()
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	r, err := NewReader(br, path, f)
	if err != nil {
		file.Close()
		return nil, nil, err
	}
	return r, file, nil
}

// NewWriter returns a writer of format f to w. An ASC writer takes its start
// time (the `date` line) from the first frame; use NewASCWriter to choose it.
func NewWriter(w io.Writer, f Format) (LogWriter, error) {
	switch f {
	case FormatCandump:
		return NewCandumpWriter(w), nil
	case FormatGVRET:
		return NewGVRETWriter(w), nil
	case FormatASC:
		return NewASCWriter(w, time.Time{}), nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, string(f))
}

func displayName(name string) string {
	if name == "" {
		return "log"
	}
	return name
}

// ---- shared by the readers ----

const (
	// readBufSize is the readers' buffer; a longer line is a bad line.
	readBufSize = 64 << 10
	// maxLineErrors is how many LineErrors a reader keeps.
	maxLineErrors = 100
)

var (
	utf8BOM = []byte{0xEF, 0xBB, 0xBF}

	errLineTooLong = fmt.Errorf("line longer than %d bytes", readBufSize)
	// errIncomplete refuses a frame on a last line with no end of line: a
	// log copied while it was being written ends with a cut line, whose
	// payload may look whole but is not.
	errIncomplete = errors.New("last line has no end of line: frame may be cut short")
	errTimeRange  = errors.New("time out of range")
)

// lineErrs is the bad-line bookkeeping shared by the log readers.
type lineErrs struct {
	file    string
	skipped atomic.Int64 // read by other goroutines (live view) while the reader runs
	errs    []*LineError
}

func (l *lineErrs) add(line int, err error) {
	l.skipped.Add(1)
	if len(l.errs) < maxLineErrors {
		l.errs = append(l.errs, &LineError{File: l.file, Line: line, Err: err})
	}
}

func (l *lineErrs) lineErrors() []*LineError { return slices.Clone(l.errs) }

// lineReader splits its input into lines without copying them.
type lineReader struct {
	lineErrs
	br      *bufio.Reader
	n       int   // number of the line last returned, 1-based
	partial bool  // the line last returned had no end of line
	err     error // the I/O error that ended the input, never io.EOF
	done    bool
}

func newLineReader(r io.Reader, name string) lineReader {
	return lineReader{br: bufio.NewReaderSize(r, readBufSize), lineErrs: lineErrs{file: name}}
}

// next returns the next line without its line ending (LF or CRLF). The slice
// is valid until the following call. Over-long lines are counted as bad
// and skipped.
func (l *lineReader) next() ([]byte, bool) {
	for !l.done {
		b, err := l.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			l.n++
			for err == bufio.ErrBufferFull {
				_, err = l.br.ReadSlice('\n')
			}
			l.add(l.n, errLineTooLong)
			if err != nil {
				l.finish(err)
			}
			continue
		}
		if err != nil {
			l.finish(err)
			if len(b) == 0 {
				return nil, false
			}
		}
		l.n++
		l.partial = err != nil
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
		}
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
		if l.n == 1 {
			b = bytes.TrimPrefix(b, utf8BOM)
		}
		return b, true
	}
	return nil, false
}

func (l *lineReader) finish(err error) {
	l.done = true
	if err != io.EOF {
		if l.file != "" {
			err = fmt.Errorf("%s: %w", l.file, err)
		}
		l.err = err
	}
}

// ---- parsing helpers (no allocations) ----

// hexVal maps an ASCII byte to its hex value, or 0xFF.
var hexVal = func() (t [256]uint8) {
	for i := range t {
		t[i] = 0xFF
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c - 'a' + 10)
		t[c-'a'+'A'] = uint8(c - 'a' + 10)
	}
	return t
}()

func isDigit(c byte) bool { return c-'0' <= 9 }

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// parseHex parses 1 to 8 hex digits.
func parseHex(s []byte) (uint32, bool) {
	if len(s) == 0 || len(s) > 8 {
		return 0, false
	}
	var v uint32
	for _, c := range s {
		d := hexVal[c]
		if d == 0xFF {
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

// parseDec parses an unsigned decimal number up to max.
func parseDec(s []byte, max uint64) (uint64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if !isDigit(c) {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseSeconds parses `[-]seconds[.fraction]` (at most 9 fraction digits)
// into nanoseconds.
func parseSeconds(s []byte) (int64, error) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac, _ := bytes.Cut(s, []byte{'.'})
	if len(intPart) == 0 && len(frac) == 0 || len(frac) > 9 {
		return 0, errBadTime(s)
	}
	var sec uint64
	if len(intPart) > 0 {
		var ok bool
		if sec, ok = parseDec(intPart, math.MaxInt64/1_000_000_000); !ok {
			return 0, errBadTime(s)
		}
	}
	var ns uint64
	if len(frac) > 0 {
		v, ok := parseDec(frac, 999999999)
		if !ok {
			return 0, errBadTime(s)
		}
		for i := len(frac); i < 9; i++ {
			v *= 10
		}
		ns = v
	}
	t := sec*1e9 + ns
	if t > math.MaxInt64 {
		return 0, errTimeRange
	}
	if neg {
		return -int64(t), nil
	}
	return int64(t), nil
}

func errBadTime(s []byte) error { return fmt.Errorf("bad time %q", s) }

// appendSeconds appends t (ns) as `[-]seconds.micro`: six fraction digits,
// truncated toward zero.
func appendSeconds(b []byte, t int64) []byte {
	u := uint64(t)
	if t < 0 {
		b = append(b, '-')
		u = uint64(-t) // right for MinInt64 too
	}
	us := u / 1000
	b = appendUint(b, us/1e6)
	b = append(b, '.')
	return appendZeroPad(b, us%1e6, 6)
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

func appendZeroPad(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:width]...)
}

const hexUpper = "0123456789ABCDEF"

func appendHexByte(b []byte, v byte) []byte {
	return append(b, hexUpper[v>>4], hexUpper[v&0xF])
}

// field returns the first blank-separated field of s and what follows it.
func field(s []byte) (tok, rest []byte) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

func trimSpace(s []byte) []byte {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// addTime returns a+b, or false when it overflows.
func addTime(a, b int64) (int64, bool) {
	c := a + b
	if (c > a) != (b > 0) {
		return 0, false
	}
	return c, true
}
