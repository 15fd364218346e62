package obd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signalset is a vehicle description in the OBDb signalset v3 format
// (https://github.com/OBDb): the diagnostic commands to poll, each with the
// ECU it goes to and the signals packed in its answer.
type Signalset struct {
	Commands        []*Command `json:"commands"`
	DiagnosticLevel string     `json:"diagnosticLevel,omitempty"`
	SignalGroups    []Group    `json:"signalGroups,omitempty"`
	// Source names the file it was loaded from, for error messages.
	Source string `json:"-"`

	byID map[string]*Command
}

// Group gathers signals whose ids match a pattern (for example all module
// voltages).
type Group struct {
	ID                   string `json:"id"`
	Path                 string `json:"path,omitempty"`
	MatchingRegex        string `json:"matchingRegex"`
	Name                 string `json:"name,omitempty"`
	SuggestedMetricGroup string `json:"suggestedMetricGroup,omitempty"`
}

// YearFilter restricts a command to model years.
type YearFilter struct {
	From  int   `json:"from,omitempty"`
	To    int   `json:"to,omitempty"`
	Years []int `json:"years,omitempty"`
}

// Matches reports whether the filter admits a model year, with OBDb's
// semantics: from<to is a range, from>=to means "from or later, or to or
// earlier" (a hole), and listed years always match.
func (f *YearFilter) Matches(year int) bool {
	if f == nil {
		return true
	}
	for _, y := range f.Years {
		if y == year {
			return true
		}
	}
	switch {
	case f.From != 0 && f.To != 0:
		if f.From < f.To {
			return f.From <= year && year <= f.To
		}
		return year >= f.From || year <= f.To
	case f.To != 0:
		return year <= f.To
	case f.From != 0:
		return year >= f.From
	}
	return false
}

func (f *YearFilter) idString() string {
	var parts []string
	if f.From != 0 && f.To != 0 && f.From < f.To {
		parts = append(parts, fmt.Sprintf("%d-%d", f.From, f.To))
	} else {
		if f.From != 0 {
			parts = append(parts, fmt.Sprintf("%d-", f.From))
		}
		if f.To != 0 {
			parts = append(parts, fmt.Sprintf("-%d", f.To))
		}
	}
	ys := append([]int(nil), f.Years...)
	sort.Ints(ys)
	for _, y := range ys {
		parts = append(parts, strconv.Itoa(y))
	}
	return strings.Join(parts, ";")
}

// Command is one request and the signals decoded from its answer.
type Command struct {
	Hdr       string            `json:"hdr"`
	Rax       string            `json:"rax,omitempty"`
	Eax       string            `json:"eax,omitempty"`
	Pri       string            `json:"pri,omitempty"`
	Tst       string            `json:"tst,omitempty"`
	Tmo       string            `json:"tmo,omitempty"`
	FCM1      bool              `json:"fcm1,omitempty"`
	Dbg       bool              `json:"dbg,omitempty"`
	Din       string            `json:"din,omitempty"`
	Dout      string            `json:"dout,omitempty"`
	Cmd       map[string]string `json:"cmd"`
	Freq      float64           `json:"freq"`
	Proto     string            `json:"proto,omitempty"`
	Filter    *YearFilter       `json:"filter,omitempty"`
	DbgFilter *YearFilter       `json:"dbgfilter,omitempty"`
	Signals   []*Signal         `json:"signals"`

	// Derived by compile.
	id       string
	service  byte
	param    []byte
	req      Request
	set      *Signalset
	position int
}

// Signal is one value packed in a command's answer.
type Signal struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Path            string `json:"path,omitempty"`
	Description     string `json:"description,omitempty"`
	Hidden          bool   `json:"hidden,omitempty"`
	SuggestedMetric string `json:"suggestedMetric,omitempty"`
	Fmt             Format `json:"fmt"`

	cmd *Command
}

// Format says where a signal sits in the answer and how to scale it:
// value = raw * mul / div + add, clamped to [min, max] when max > min.
// Bit 0 is the most significant bit of the first byte after the service
// and parameter bytes.
type Format struct {
	Bix     int                 `json:"bix,omitempty"`
	Len     int                 `json:"len"`
	Blsb    bool                `json:"blsb,omitempty"`
	Sign    bool                `json:"sign,omitempty"`
	Min     *float64            `json:"min,omitempty"`
	Max     *float64            `json:"max,omitempty"`
	Add     *float64            `json:"add,omitempty"`
	Mul     *float64            `json:"mul,omitempty"`
	Div     *float64            `json:"div,omitempty"`
	Unit    string              `json:"unit,omitempty"`
	NullMin *float64            `json:"nullmin,omitempty"`
	NullMax *float64            `json:"nullmax,omitempty"`
	OMin    *float64            `json:"omin,omitempty"`
	OMax    *float64            `json:"omax,omitempty"`
	OVal    *float64            `json:"oval,omitempty"`
	Map     map[string]MapEntry `json:"map,omitempty"`
}

// MapEntry is one enumerated value.
type MapEntry struct {
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// UnmarshalJSON accepts both {"value":..,"description":..} and a bare string.
func (m *MapEntry) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		m.Value, m.Description = s, s
		return nil
	}
	type plain MapEntry
	return json.Unmarshal(b, (*plain)(m))
}

func f64(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// LoadSignalset reads and checks a signalset file.
func LoadSignalset(path string) (*Signalset, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSignalset(path, b)
}

// ParseSignalset parses a signalset; name is used in error messages.
// Errors name the file, the JSON line and column, or the command and signal.
func ParseSignalset(name string, b []byte) (*Signalset, error) {
	var s Signalset
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", name, jsonPosError(b, dec, err))
	}
	s.Source = name
	if err := s.compile(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &s, nil
}

func jsonPosError(b []byte, dec *json.Decoder, err error) error {
	off := -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = int(se.Offset)
	case errors.As(err, &te):
		off = int(te.Offset)
	default:
		off = int(dec.InputOffset())
	}
	if off < 0 || off > len(b) {
		return err
	}
	line := 1 + bytes.Count(b[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(b[:off], '\n')
	return fmt.Errorf("line %d col %d: %w", line, col, err)
}

func parseHex(field, s string, minLen, maxLen int) (uint32, error) {
	if len(s) < minLen || len(s) > maxLen {
		return 0, fmt.Errorf("%s %q: want %d to %d hex digits", field, s, minLen, maxLen)
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q: not hex", field, s)
	}
	return uint32(v), nil
}

func (s *Signalset) compile() error {
	s.byID = make(map[string]*Command, len(s.Commands))
	ids := map[string]string{}
	for i, c := range s.Commands {
		if c == nil {
			return fmt.Errorf("commands[%d]: null", i)
		}
		if err := c.compile(); err != nil {
			return fmt.Errorf("commands[%d] (%s): %w", i, c.describe(), err)
		}
		c.set, c.position = s, i
		if _, dup := s.byID[c.id]; dup {
			return fmt.Errorf("commands[%d]: duplicate command %s", i, c.id)
		}
		s.byID[c.id] = c
		for j, sig := range c.Signals {
			if sig == nil {
				return fmt.Errorf("commands[%d] (%s) signals[%d]: null", i, c.id, j)
			}
			if sig.ID == "" {
				return fmt.Errorf("commands[%d] (%s) signals[%d]: no id", i, c.id, j)
			}
			// The same signal id in two commands is legal (model-year
			// variants, J1979 PIDs 13 and 1D); lookups find the first.
			if _, dup := ids[sig.ID]; !dup {
				ids[sig.ID] = c.id
			}
			sig.cmd = c
			if err := sig.Fmt.check(); err != nil {
				return fmt.Errorf("commands[%d] (%s) signal %s: %w", i, c.id, sig.ID, err)
			}
		}
	}
	return nil
}

func (c *Command) describe() string {
	if c.id != "" {
		return c.id
	}
	return "hdr " + c.Hdr
}

// maxBits bounds len: values are assembled in a uint64.
const maxBits = 64

func (f *Format) check() error {
	if f.Len <= 0 || f.Len > maxBits {
		return fmt.Errorf("fmt.len %d: want 1..%d", f.Len, maxBits)
	}
	if f.Bix < 0 || f.Bix > 8*4096 {
		return fmt.Errorf("fmt.bix %d out of range", f.Bix)
	}
	if f.Map == nil && f.Max == nil {
		return fmt.Errorf("fmt: needs max (or map)")
	}
	if f.Div != nil && *f.Div == 0 {
		return fmt.Errorf("fmt.div is 0")
	}
	for k := range f.Map {
		if _, err := strconv.ParseUint(k, 10, 64); err != nil {
			return fmt.Errorf("fmt.map key %q is not an integer", k)
		}
	}
	return nil
}

func (c *Command) compile() error {
	if len(c.Cmd) != 1 {
		return fmt.Errorf("cmd must hold exactly one service, has %d", len(c.Cmd))
	}
	for svc, p := range c.Cmd {
		sv, err := parseHex("cmd service", svc, 2, 2)
		if err != nil {
			return err
		}
		c.service = byte(sv)
		want := 2
		switch c.service {
		case 0x22:
			want = 4
		case 0x01, 0x21, 0x09:
		default:
			// Unknown services: the parameter is taken as given.
			want = len(p)
		}
		if len(p) != want || len(p)%2 != 0 || len(p) == 0 {
			return fmt.Errorf("cmd %s parameter %q: want %d hex digits", svc, p, want)
		}
		pv, err := parseHex("cmd parameter", p, want, want)
		if err != nil {
			return err
		}
		c.param = make([]byte, len(p)/2)
		for i := range c.param {
			c.param[len(c.param)-1-i] = byte(pv >> (8 * i))
		}
	}
	if c.Freq <= 0 || math.IsNaN(c.Freq) || math.IsInf(c.Freq, 0) {
		return fmt.Errorf("freq %v: want a positive number of seconds", c.Freq)
	}
	if len(c.Signals) == 0 {
		return fmt.Errorf("no signals")
	}
	r := Request{Data: append([]byte{c.service}, c.param...), FlowControl: c.FCM1}
	hdr, err := parseHex("hdr", c.Hdr, 3, 4)
	if err != nil {
		return err
	}
	pri, tst := uint32(0x18), uint32(0xF1)
	if c.Pri != "" {
		if pri, err = parseHex("pri", c.Pri, 2, 2); err != nil {
			return err
		}
	}
	if c.Tst != "" {
		if tst, err = parseHex("tst", c.Tst, 2, 2); err != nil {
			return err
		}
	}
	if len(c.Hdr) == 4 { // 29-bit: priority, 2-byte header, tester address
		r.Extended = true
		r.TxID = pri<<24 | hdr<<8 | tst
	} else {
		r.TxID = hdr
	}
	if c.Rax != "" {
		rax, err := parseHex("rax", c.Rax, 2, 8)
		if err != nil {
			return err
		}
		switch {
		case r.Extended && len(c.Rax) <= 3:
			r.RxID = pri<<24 | 0xDA<<16 | tst<<8 | rax&0xFF
		default:
			r.RxID = rax
		}
	} else if !r.Extended && r.TxID != FunctionalID {
		r.RxID = ResponseID(r.TxID, false)
	} else if r.Extended {
		r.RxID = ResponseID(r.TxID, true)
	}
	if c.Eax != "" {
		e, err := parseHex("eax", c.Eax, 2, 2)
		if err != nil {
			return err
		}
		r.ExtAddr, r.TxExtAddr, r.RxExtAddr = true, byte(e), byte(tst)
	}
	if c.Tmo != "" {
		t, err := parseHex("tmo", c.Tmo, 2, 2)
		if err != nil {
			return err
		}
		r.Timeout = elmTimeout(byte(t))
	}
	c.req = r
	c.id = c.buildID()
	return nil
}

// buildID makes the OBDb command id: HDR[.RAX].CMD[|options], options in
// OBDb order: t= (timeout), e= (extended address), ta= (tester address),
// fc=1, p= (protocol), c= (priority), f= (model-year filter).
func (c *Command) buildID() string {
	var b strings.Builder
	b.WriteString(c.Hdr)
	if c.Rax != "" {
		b.WriteString("." + c.Rax)
	}
	b.WriteString(fmt.Sprintf(".%02X%X", c.service, c.param))
	var opts []string
	if c.Tmo != "" {
		opts = append(opts, "t="+strings.ToUpper(c.Tmo))
	}
	if c.Eax != "" {
		opts = append(opts, "e="+strings.ToUpper(c.Eax))
	}
	if c.Tst != "" {
		opts = append(opts, "ta="+strings.ToUpper(c.Tst))
	}
	if c.FCM1 {
		opts = append(opts, "fc=1")
	}
	if c.Proto == "9141-2" || c.Proto == "iso9141_2" {
		opts = append(opts, "p=9141-2")
	}
	if c.Pri != "" {
		opts = append(opts, "c="+strings.ToUpper(c.Pri))
	}
	if c.Filter != nil {
		if s := c.Filter.idString(); s != "" {
			opts = append(opts, "f="+s)
		}
	}
	if len(opts) > 0 {
		b.WriteString("|" + strings.Join(opts, ","))
	}
	return b.String()
}

// elmTimeout converts an ELM327 ATST value (units of 4.096 ms) to a duration.
func elmTimeout(v byte) time.Duration {
	if v == 0 {
		v = 0x32
	}
	return time.Duration(v) * 4096 * time.Microsecond
}

// ID returns the OBDb command id, for example "7E4.7EC.220101|fc=1".
func (c *Command) ID() string { return c.id }

// Request returns the request that polls this command.
func (c *Command) Request() Request {
	r := c.req
	r.Data = append([]byte(nil), c.req.Data...)
	return r
}

// Service returns the service id (0x01, 0x21, 0x22).
func (c *Command) Service() byte { return c.service }

// Param returns the PID or data identifier bytes.
func (c *Command) Param() []byte { return c.param }

// Command returns the command with the given OBDb id.
func (s *Signalset) Command(id string) *Command { return s.byID[id] }

// LookupCommand finds a command by id, also accepting ids written with
// different letter case or option order.
func (s *Signalset) LookupCommand(id string) *Command {
	if c := s.byID[id]; c != nil {
		return c
	}
	want := normalizeID(id)
	for _, c := range s.Commands {
		if normalizeID(c.id) == want {
			return c
		}
	}
	return nil
}

func normalizeID(id string) string {
	id = strings.ToUpper(strings.TrimSpace(id))
	base, opts, ok := strings.Cut(id, "|")
	if !ok {
		return base
	}
	o := strings.Split(opts, ",")
	sort.Strings(o)
	return base + "|" + strings.Join(o, ",")
}

// Commands for a model year (0: all), in file order.
func (s *Signalset) CommandsFor(year int) []*Command {
	var out []*Command
	for _, c := range s.Commands {
		if year == 0 || c.Filter.Matches(year) {
			out = append(out, c)
		}
	}
	return out
}

// Value is one decoded signal value.
type Value struct {
	Signal *Signal
	// Num is the scaled value of a numeric signal, or the raw value of an
	// enumerated one.
	Num float64
	// Str is the enumerated value's name ("" when the raw value is not in
	// the map, or for numeric signals).
	Str string
	// Enum marks an enumerated signal.
	Enum bool
	// Null is set when the value is at or beyond nullmin/nullmax: the ECU
	// says "not available".
	Null bool
}

// JSON returns the value as OBDb's reference decoder reports it: a number,
// the enumerated name, or nil for an enumerated raw value not in the map.
func (v Value) JSON() any {
	if v.Enum {
		if v.Str == "" {
			return nil
		}
		return v.Str
	}
	return v.Num
}

// Match reports whether an answer is this command's (service + 0x40 and the
// same parameter bytes), and returns the data after those bytes.
func (c *Command) Match(data []byte) ([]byte, bool) {
	n := 1 + len(c.param)
	if len(data) < n || data[0] != c.service+0x40 || !bytes.Equal(data[1:n], c.param) {
		return nil, false
	}
	return data[n:], true
}

// Decode decodes every signal of the command from an answer payload (with
// its service and parameter bytes). Signals that do not fit in a short
// answer are reported in the error and left out; the others are decoded.
func (c *Command) Decode(data []byte, out []Value) ([]Value, error) {
	body, ok := c.Match(data)
	if !ok {
		return out, fmt.Errorf("obd: answer % X is not for command %s", head(data, 3), c.id)
	}
	var short []string
	for _, s := range c.Signals {
		v, err := s.Fmt.decode(body)
		if err != nil {
			short = append(short, s.ID)
			continue
		}
		v.Signal = s
		out = append(out, v)
	}
	if len(short) > 0 {
		return out, fmt.Errorf("obd: command %s: answer of %d data bytes too short for %s", c.id, len(body), strings.Join(short, ", "))
	}
	return out, nil
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

var errShortData = errors.New("not enough data")

// Extract reads len bits at bix, most significant bit first, after
// reversing the bytes that hold the value when blsb is set.
func (f *Format) extract(data []byte) (uint64, error) {
	end := f.Bix + f.Len
	if end > len(data)*8 {
		return 0, errShortData
	}
	if f.Blsb && f.Len > 8 {
		sb := f.Bix / 8
		eb := min(sb+(f.Len+7)/8, len(data))
		rev := make([]byte, len(data))
		copy(rev, data)
		for i, j := sb, eb-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		data = rev
	}
	var v uint64
	i := f.Bix
	// Leading bits up to a byte boundary, whole bytes, trailing bits.
	for ; i < end && i%8 != 0; i++ {
		v = v<<1 | uint64(data[i/8]>>(7-i%8)&1)
	}
	for ; i+8 <= end; i += 8 {
		v = v<<8 | uint64(data[i/8])
	}
	for ; i < end; i++ {
		v = v<<1 | uint64(data[i/8]>>(7-i%8)&1)
	}
	return v, nil
}

func (f *Format) decode(data []byte) (Value, error) {
	raw, err := f.extract(data)
	if err != nil {
		return Value{}, err
	}
	if f.Map != nil {
		v := Value{Enum: true, Num: float64(raw)}
		if e, ok := f.Map[strconv.FormatUint(raw, 10)]; ok {
			v.Str = e.Value
		}
		return v, nil
	}
	var x float64
	if f.Sign && f.Len < 64 && raw&(1<<(f.Len-1)) != 0 {
		x = float64(int64(raw) - int64(1)<<f.Len)
	} else if f.Sign && f.Len == 64 {
		x = float64(int64(raw))
	} else {
		x = float64(raw)
	}
	x = x*f64(f.Mul, 1)/f64(f.Div, 1) + f64(f.Add, 0)
	lo, hi := f64(f.Min, 0), f64(f.Max, 0)
	if hi > lo {
		x = max(lo, min(x, hi))
	}
	v := Value{Num: x}
	if f.NullMin != nil && x <= *f.NullMin || f.NullMax != nil && x >= *f.NullMax {
		v.Null = true
	}
	return v, nil
}

// Signal returns the signal with the given id, or nil.
func (s *Signalset) Signal(id string) *Signal {
	for _, c := range s.Commands {
		for _, sig := range c.Signals {
			if sig.ID == id {
				return sig
			}
		}
	}
	return nil
}

// Command returns the command a signal belongs to.
func (s *Signal) Command() *Command { return s.cmd }
