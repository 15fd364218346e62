package can

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// SavvyCAN's native "GVRET" CSV log. Two header variants exist in real
// data; columns are found by name, so either (and any order) is read:
//
//	Time Stamp,ID,Extended,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8
//	Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8
//	22213513,00000111,false,Rx,0,8,00,00,00,00,00,00,00,00,
//
// The time stamp is in microseconds (since the start of the capture, or
// since the epoch, depending on the SavvyCAN version), the ID in hex, and
// lines may end with a comma. The format has no notation for remote or
// error frames, nor for CAN FD: SavvyCAN's own loader and saver
// (framefileio.cpp, loadNativeCSVFile/saveNativeCSVFile) know only these
// columns, so a CAN FD frame of up to 8 bytes is a plain line and reads
// back without the FD flag.

// ErrNotRepresentable is returned by a writer for a frame its format cannot
// hold (remote and error frames in GVRET CSV; in every format, a frame
// marked FD that is also remote or an error frame, which CAN FD does not
// have). Nothing is written and the writer stays usable.
var ErrNotRepresentable = errors.New("frame kind not representable in this log format")

// gvret column kinds.
const (
	gcIgnore uint8 = iota
	gcTime
	gcID
	gcExt
	gcDir
	gcBus
	gcLen
	gcData // gcData+i is column D(i+1), i < 8
)

// maxGVRETCols is how many columns a layout describes; later ones are
// ignored.
const maxGVRETCols = 96

type gvretLayout struct {
	cols [maxGVRETCols]uint8
	n    int // columns described
	has  [gcData + MaxDataLen]bool
}

var (
	gvretV1 = newGVRETLayout(gcTime, gcID, gcExt, gcBus, gcLen, gcData, gcData+1, gcData+2, gcData+3, gcData+4, gcData+5, gcData+6, gcData+7)
	gvretV2 = newGVRETLayout(gcTime, gcID, gcExt, gcDir, gcBus, gcLen, gcData, gcData+1, gcData+2, gcData+3, gcData+4, gcData+5, gcData+6, gcData+7)
)

func newGVRETLayout(cols ...uint8) *gvretLayout {
	l := &gvretLayout{n: len(cols)}
	copy(l.cols[:], cols)
	for _, c := range cols {
		l.has[c] = true
	}
	return l
}

// gvretDefaultCols returns SavvyCAN's column order for a file without a
// header: with a Dir column when the fourth field starts with R or T.
func gvretDefaultCols(line []byte) *gvretLayout {
	f := line
	for i := 0; i < 3; i++ {
		j := bytes.IndexByte(f, ',')
		if j < 0 {
			return gvretV1
		}
		f = f[j+1:]
	}
	f = trimSpace(f)
	if len(f) > 0 && (f[0]|0x20 == 'r' || f[0]|0x20 == 't') {
		return gvretV2
	}
	return gvretV1
}

// isGVRETHeader reports whether line looks like a GVRET header (it names a
// time stamp column and an ID column).
func isGVRETHeader(line []byte) bool {
	l, err := parseGVRETHeader(line)
	return err == nil && l != nil
}

// parseGVRETHeader reads the column names of a header line. It returns
// nil, nil for a line that is not a header at all.
func parseGVRETHeader(line []byte) (*gvretLayout, error) {
	if bytes.IndexByte(line, ',') < 0 {
		return nil, nil
	}
	names := strings.Split(string(line), ",")
	l := &gvretLayout{}
	for i, name := range names {
		if i >= maxGVRETCols {
			break
		}
		name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"`))
		var c uint8
		switch name {
		case "time stamp", "timestamp", "time":
			c = gcTime
		case "id":
			c = gcID
		case "extended", "ext", "ide":
			c = gcExt
		case "dir", "direction":
			c = gcDir
		case "bus":
			c = gcBus
		case "len", "dlc", "length":
			c = gcLen
		case "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8":
			c = gcData + name[1] - '1'
		}
		if c != gcIgnore {
			if l.has[c] {
				return nil, fmt.Errorf("GVRET header has column %q twice", name)
			}
			l.has[c] = true
		}
		l.cols[i] = c
		l.n = i + 1
	}
	if !l.has[gcTime] || !l.has[gcID] {
		return nil, nil
	}
	if !l.has[gcLen] {
		return nil, errors.New(`GVRET header has no "LEN" column`)
	}
	return l, nil
}

// GVRETReader reads a SavvyCAN GVRET CSV log. It is a Source.
//
// Columns are found by their header names (Time Stamp, ID, Extended, Dir,
// Bus, LEN, D1..D8; any order, any case); a file without a header is read
// in SavvyCAN's order. A later header line (files joined together) replaces
// the layout. Frame.Time is the time stamp (µs) times 1000; it is negative
// where SavvyCAN wrote negative time stamps (some captures restart their
// clock). Dir Tx sets the TX flag. A missing Extended column means
// "extended when the ID is above 7FF"; a missing Bus column means bus 0.
// The format cannot mark CAN FD: a line with LEN up to 8 is read as a
// classical frame (FD lost), and one with LEN above 8 (a CAN FD frame that
// SavvyCAN cut to D1..D8) is counted and skipped with ErrUnsupportedFD.
// Blank lines are skipped silently; bad lines are counted and skipped.
type GVRETReader struct {
	lr     lineReader
	f      Frame
	layout *gvretLayout
}

// NewGVRETReader returns a reader of the GVRET CSV log r. name is the file
// name used in LineErrors (may be "").
func NewGVRETReader(r io.Reader, name string) *GVRETReader {
	return &GVRETReader{lr: newLineReader(r, name)}
}

// Receive reads the next frame, skipping bad lines. It returns false at the
// end of the input or on an I/O error (see Err).
func (r *GVRETReader) Receive() bool {
	for {
		line, ok := r.lr.next()
		if !ok {
			return false
		}
		line = trimSpace(line)
		if len(line) == 0 {
			continue
		}
		if c := line[0]; !isDigit(c) && c != '-' {
			l, err := parseGVRETHeader(line)
			switch {
			case err != nil:
				r.lr.add(r.lr.n, err)
			case l == nil:
				r.lr.add(r.lr.n, fmt.Errorf("not a GVRET header or frame: %q", truncate(line)))
			default:
				r.layout = l
			}
			continue
		}
		if r.layout == nil {
			r.layout = gvretDefaultCols(line)
		}
		_, err := parseGVRETLine(line, r.layout, &r.f)
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
func (r *GVRETReader) Frame() Frame { return r.f }

// Err returns the I/O error that ended the read, if any. Bad lines are not
// errors here: see Skipped and LineErrors.
func (r *GVRETReader) Err() error { return r.lr.err }

// Skipped counts the lines skipped as bad or unsupported so far. It may be
// called from any goroutine.
func (r *GVRETReader) Skipped() int { return int(r.lr.skipped.Load()) }

// LineErrors returns the problems with the first 100 skipped lines.
func (r *GVRETReader) LineErrors() []*LineError { return r.lr.lineErrors() }

// HasDir reports whether the layout in use has a Dir column.
func (r *GVRETReader) HasDir() bool { return r.layout != nil && r.layout.has[gcDir] }

// parseGVRETLine parses one data line with layout l into f. It returns the
// number of fields.
func parseGVRETLine(line []byte, l *gvretLayout, f *Frame) (int, error) {
	*f = Frame{}
	var vals [gcData + MaxDataLen][]byte
	var got [gcData + MaxDataLen]bool
	n := 0
	for s := line; ; n++ {
		i := bytes.IndexByte(s, ',')
		fld := s
		if i >= 0 {
			fld = s[:i]
		}
		if n < l.n {
			if c := l.cols[n]; c != gcIgnore {
				vals[c], got[c] = trimSpace(fld), true
			}
		}
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	if !got[gcTime] || !got[gcID] || !got[gcLen] {
		return n, fmt.Errorf("%d fields, too few for the header", n+1)
	}

	t := vals[gcTime]
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		t = t[1:]
	}
	us, ok := parseDec(t, math.MaxInt64/1000)
	if !ok {
		return n, fmt.Errorf("bad time stamp %q", vals[gcTime])
	}
	f.Time = int64(us) * 1000
	if neg {
		f.Time = -f.Time
	}

	id, ok := parseHex(vals[gcID])
	if !ok {
		return n, fmt.Errorf("bad ID %q", vals[gcID])
	}
	switch ext := vals[gcExt]; {
	case !got[gcExt]:
		if id > 0x7FF {
			f.Flags |= Extended
		}
	case equalFold(ext, "true") || equalFold(ext, "1"):
		f.Flags |= Extended
	case equalFold(ext, "false") || equalFold(ext, "0"):
	default:
		return n, fmt.Errorf("bad Extended %q (want true or false)", ext)
	}
	if id > 0x1FFFFFFF || f.Flags&Extended == 0 && id > 0x7FF {
		return n, fmt.Errorf("ID %s out of range (Extended %s)", vals[gcID], vals[gcExt])
	}
	f.ID = id

	if got[gcDir] {
		switch d := vals[gcDir]; {
		case len(d) > 0 && d[0]|0x20 == 'r':
		case len(d) > 0 && d[0]|0x20 == 't':
			f.Flags |= TX
		default:
			return n, fmt.Errorf("bad Dir %q (want Rx or Tx)", d)
		}
	}
	if got[gcBus] {
		b, ok := parseDec(vals[gcBus], 255)
		if !ok {
			return n, fmt.Errorf("bad Bus %q", vals[gcBus])
		}
		f.Bus = uint8(b)
	}
	ln, ok := parseDec(vals[gcLen], 64)
	switch {
	case !ok:
		return n, fmt.Errorf("bad LEN %q", vals[gcLen])
	case ln > MaxDataLen:
		return n, ErrUnsupportedFD
	}
	for i := 0; i < int(ln); i++ {
		v := vals[int(gcData)+i]
		if len(v) == 0 || len(v) > 2 {
			return n, fmt.Errorf("LEN %d but D%d is %q", ln, i+1, v)
		}
		b, ok := parseHex(v)
		if !ok {
			return n, fmt.Errorf("bad D%d %q", i+1, v)
		}
		f.Data[i] = byte(b)
	}
	f.Len = uint8(ln)
	return n, nil
}

// equalFold reports whether b equals the ASCII string s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// truncate shortens a bad line for an error message.
func truncate(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}

// GVRETWriter writes a SavvyCAN GVRET CSV log with the Dir column, as
// current SavvyCAN versions do:
//
//	Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8
//	22213513,00000111,false,Rx,0,8,00,00,00,00,00,00,00,00,
//
// Time stamps are Frame.Time in microseconds (truncated toward zero). The
// format has no notation for remote or error frames: WriteFrame refuses
// them with ErrNotRepresentable. Nor has it one for CAN FD: a frame marked
// FD is written as a classical line (same id, payload, direction), so the
// FD, BRS and ESI flags do not survive a GVRET export. Output is buffered:
// call Flush or Close at the end (an empty log still gets its header).
type GVRETWriter struct {
	w      *bufio.Writer
	buf    []byte
	header bool
}

const gvretHeader = "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n"

// NewGVRETWriter returns a writer of a GVRET CSV log to w.
func NewGVRETWriter(w io.Writer) *GVRETWriter {
	return &GVRETWriter{w: bufio.NewWriterSize(w, 32<<10), buf: make([]byte, 0, 80)}
}

func (w *GVRETWriter) writeHeader() error {
	if w.header {
		return nil
	}
	w.header = true
	_, err := w.w.WriteString(gvretHeader)
	return err
}

// WriteFrame writes one line. A frame that fails Validate, a remote frame
// and an error frame are refused.
func (w *GVRETWriter) WriteFrame(f Frame) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("gvret: %w", err)
	}
	if f.Flags&(Remote|ErrorFrame) != 0 {
		return fmt.Errorf("gvret: %s frame: %w", frameKind(f.Flags), ErrNotRepresentable)
	}
	if err := w.writeHeader(); err != nil {
		return err
	}
	b := w.buf[:0]
	us := f.Time / 1000
	if us < 0 {
		b = append(b, '-')
		b = appendUint(b, uint64(-us))
	} else {
		b = appendUint(b, uint64(us))
	}
	b = append(b, ',')
	for s := 28; s >= 0; s -= 4 {
		b = append(b, hexUpper[f.ID>>uint(s)&0xF])
	}
	if f.Flags&Extended != 0 {
		b = append(b, ",true,"...)
	} else {
		b = append(b, ",false,"...)
	}
	if f.Flags&TX != 0 {
		b = append(b, "Tx,"...)
	} else {
		b = append(b, "Rx,"...)
	}
	b = appendUint(b, uint64(f.Bus))
	b = append(b, ',')
	b = appendUint(b, uint64(f.Len))
	b = append(b, ',')
	for i := 0; i < MaxDataLen; i++ {
		b = appendHexByte(b, f.Data[i]&^mask(i >= int(f.Len)))
		b = append(b, ',')
	}
	b = append(b, '\n')
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// mask returns 0xFF when cond holds, else 0.
func mask(cond bool) byte {
	if cond {
		return 0xFF
	}
	return 0
}

// errFDKind is the error for a frame marked FD that is also remote or an
// error frame: CAN FD has neither, so no format can say what it was.
func errFDKind(format string, fl Flags) error {
	return fmt.Errorf("%s: CAN FD %s frame: %w", format, frameKind(fl), ErrNotRepresentable)
}

func frameKind(fl Flags) string {
	if fl&ErrorFrame != 0 {
		return "error"
	}
	return "remote"
}

// Flush writes buffered lines (and the header, if not yet written) to the
// underlying writer.
func (w *GVRETWriter) Flush() error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	return w.w.Flush()
}

// Close flushes. It does not close the underlying writer.
func (w *GVRETWriter) Close() error { return w.Flush() }
