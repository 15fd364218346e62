// Package signals turns CAN frames into named physical values.
//
// A DBC file, parsed at run time with einride's pkg/dbc parser, is compiled
// into decoder tables (Database): per message a list of signals with their
// bit position precomputed as a shift and a mask over the 64-bit payload, so
// decoding a frame is a table lookup and a few shifts per signal, with no
// allocation. A signal map (TOML) names signals with COVESA VSS paths, units
// and rates (Map), and a last-known-value Table keeps the newest value of
// every signal for the rest of the agent to read.
//
// Supported: standard and extended identifiers, little- (Intel) and big-endian
// (Motorola) signals of 1..64 bits, signed, IEEE float32/float64
// (SIG_VALTYPE_), simple multiplexing (M / mN) and value tables (VAL_).
// Extended multiplexing (SG_MUL_VAL_) is not interpreted: such signals are
// decoded by their plain mN switch value.
package signals

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/evedge/evedge/drivers/can"
	"go.einride.tech/can/pkg/dbc"
)

// Kind is how a signal's raw bits are interpreted.
type Kind uint8

const (
	Unsigned Kind = iota
	Signed
	Float32
	Float64
)

// Database is a compiled DBC file: the decoder tables for its messages.
type Database struct {
	// File is the path or name the DBC was loaded from.
	File string
	// Messages in file order.
	Messages []*Message
	// Signals of all messages; Signal.Index is the position here.
	Signals []*Signal
	// Warnings about definitions that were skipped (for example a signal
	// that does not fit in 64 bits), each naming file and line.
	Warnings []string

	std    [2048]*Message // by 11-bit id
	ext    map[uint32]*Message
	byName map[string]*Message
}

// Message is one CAN message of a Database.
type Message struct {
	Name        string
	ID          uint32
	Extended    bool
	Size        uint8 // bytes, as declared
	Transmitter string
	// Signals in decode order: the multiplexer switch, if any, first.
	Signals []*Signal

	mux    *Signal
	byName map[string]*Signal
}

// Signal is one signal of a Message with its precomputed decoder.
type Signal struct {
	Name    string
	Message *Message
	// Index is the signal's position in Database.Signals, a dense id for
	// tables such as the last-known values.
	Index int
	Kind  Kind
	// BigEndian is true for Motorola byte order.
	BigEndian bool
	StartBit  uint8 // as written in the DBC
	Size      uint8 // bits
	Factor    float64
	Offset    float64
	Min, Max  float64
	// Unit is the DBC unit.
	Unit string
	// Labels is the value table (VAL_), nil when none.
	Labels map[int64]string

	IsMultiplexer bool   // this is the message's multiplexer switch (M)
	Multiplexed   bool   // this signal is present only when the switch equals MuxValue
	MuxValue      uint64 // switch value for a multiplexed signal

	// Mapping is the signal map entry for this signal, nil when unmapped.
	Mapping *Mapping

	shift     uint8  // right shift of the 64-bit payload word
	mask      uint64 // mask after the shift
	needBytes uint8  // frame length needed to carry the signal
	line      int
}

// Value is one decoded signal value.
type Value struct {
	Signal *Signal
	// Raw holds the raw bits (sign-extended for signed signals, as int64 bits).
	Raw uint64
	// Value is the physical value: raw*factor+offset, then the signal map's
	// scale and offset when the signal is mapped.
	Value float64
}

// Label returns the value-table text for the raw value, if the signal has one.
func (v *Value) Label() (string, bool) {
	if v.Signal.Labels == nil {
		return "", false
	}
	s, ok := v.Signal.Labels[int64(v.Raw)]
	return s, ok
}

// Load reads and compiles the DBC file at path.
func Load(path string) (*Database, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dbc: %w", err)
	}
	return Parse(path, data)
}

// Parse compiles DBC text; name is used in error messages (file:line:col).
func Parse(name string, data []byte) (db *Database, err error) {
	defer func() {
		// The upstream parser panics on some malformed inputs instead of
		// returning its parse error; never let that crash the agent.
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("dbc: %s: malformed file: %v", name, r)
		}
	}()
	p := dbc.NewParser(name, data)
	if perr := p.Parse(); perr != nil {
		pos := perr.Position()
		return nil, fmt.Errorf("dbc: %s:%d:%d: %s", name, pos.Line, pos.Column, perr.Reason())
	}
	return compile(name, p.Defs())
}

// ErrNoMessages is returned for a DBC file that defines no message.
var ErrNoMessages = errors.New("no messages (BO_) defined")

func compile(name string, defs []dbc.Def) (*Database, error) {
	db := &Database{
		File:   name,
		ext:    make(map[uint32]*Message),
		byName: make(map[string]*Message),
	}
	type sigKey struct {
		id   dbc.MessageID
		name string
	}
	valueTypes := map[sigKey]dbc.SignalValueType{}
	labels := map[sigKey]map[int64]string{}
	for _, d := range defs {
		switch d := d.(type) {
		case *dbc.SignalValueTypeDef:
			valueTypes[sigKey{d.MessageID, string(d.SignalName)}] = d.SignalValueType
		case *dbc.ValueDescriptionsDef:
			if d.ObjectType != dbc.ObjectTypeSignal {
				continue
			}
			m := make(map[int64]string, len(d.ValueDescriptions))
			for _, vd := range d.ValueDescriptions {
				m[int64(vd.Value)] = vd.Description
			}
			labels[sigKey{d.MessageID, string(d.SignalName)}] = m
		}
	}
	for _, d := range defs {
		md, ok := d.(*dbc.MessageDef)
		if !ok {
			continue
		}
		if md.MessageID == 0xC0000000 { // VECTOR__INDEPENDENT_SIG_MSG
			continue
		}
		if err := md.MessageID.Validate(); err != nil {
			return nil, fmt.Errorf("dbc: %s:%d: message %s: %v", name, md.Pos.Line, md.Name, err)
		}
		if md.Size > 64 {
			return nil, fmt.Errorf("dbc: %s:%d: message %s: size %d bytes, expected at most 64", name, md.Pos.Line, md.Name, md.Size)
		}
		m := &Message{
			Name:        string(md.Name),
			ID:          md.MessageID.ToCAN(),
			Extended:    md.MessageID.IsExtended(),
			Size:        uint8(md.Size),
			Transmitter: string(md.Transmitter),
			byName:      make(map[string]*Signal, len(md.Signals)),
		}
		if _, dup := db.byName[m.Name]; dup {
			return nil, fmt.Errorf("dbc: %s:%d: message name %s defined twice", name, md.Pos.Line, m.Name)
		}
		if db.lookup(m.ID, m.Extended) != nil {
			return nil, fmt.Errorf("dbc: %s:%d: message %s: id 0x%X defined twice", name, md.Pos.Line, m.Name, m.ID)
		}
		for i := range md.Signals {
			sd := &md.Signals[i]
			s, err := compileSignal(sd)
			if err != nil {
				db.Warnings = append(db.Warnings, fmt.Sprintf("%s:%d: signal %s.%s skipped: %v", name, sd.Pos.Line, md.Name, sd.Name, err))
				continue
			}
			key := sigKey{md.MessageID, s.Name}
			switch valueTypes[key] {
			case dbc.SignalValueTypeFloat32:
				if s.Size != 32 {
					db.Warnings = append(db.Warnings, fmt.Sprintf("%s:%d: signal %s.%s skipped: float32 needs 32 bits, has %d", name, sd.Pos.Line, md.Name, s.Name, s.Size))
					continue
				}
				s.Kind = Float32
			case dbc.SignalValueTypeFloat64:
				if s.Size != 64 {
					db.Warnings = append(db.Warnings, fmt.Sprintf("%s:%d: signal %s.%s skipped: float64 needs 64 bits, has %d", name, sd.Pos.Line, md.Name, s.Name, s.Size))
					continue
				}
				s.Kind = Float64
			}
			s.Labels = labels[key]
			if _, dup := m.byName[s.Name]; dup {
				db.Warnings = append(db.Warnings, fmt.Sprintf("%s:%d: signal %s.%s defined twice, second skipped", name, sd.Pos.Line, md.Name, s.Name))
				continue
			}
			if s.IsMultiplexer {
				if m.mux != nil {
					db.Warnings = append(db.Warnings, fmt.Sprintf("%s:%d: signal %s.%s: second multiplexer switch ignored", name, sd.Pos.Line, md.Name, s.Name))
					s.IsMultiplexer = false
				} else {
					m.mux = s
				}
			}
			s.Message = m
			m.byName[s.Name] = s
			m.Signals = append(m.Signals, s)
		}
		// Multiplexed signals without a switch cannot be decoded.
		kept := m.Signals[:0]
		for _, s := range m.Signals {
			if s.Multiplexed && m.mux == nil {
				db.Warnings = append(db.Warnings, fmt.Sprintf("%s:%d: signal %s.%s skipped: multiplexed but the message has no multiplexer switch", name, s.line, m.Name, s.Name))
				delete(m.byName, s.Name)
				continue
			}
			kept = append(kept, s)
		}
		m.Signals = kept
		// The switch decodes first.
		sort.SliceStable(m.Signals, func(i, j int) bool { return m.Signals[i].IsMultiplexer && !m.Signals[j].IsMultiplexer })
		for _, s := range m.Signals {
			s.Index = len(db.Signals)
			db.Signals = append(db.Signals, s)
		}
		db.Messages = append(db.Messages, m)
		db.byName[m.Name] = m
		if m.Extended {
			db.ext[m.ID] = m
		} else {
			db.std[m.ID] = m
		}
	}
	if len(db.Messages) == 0 {
		return nil, fmt.Errorf("dbc: %s: %w", name, ErrNoMessages)
	}
	return db, nil
}

func compileSignal(sd *dbc.SignalDef) (*Signal, error) {
	if sd.Size < 1 || sd.Size > 64 {
		return nil, fmt.Errorf("size %d bits, expected 1..64", sd.Size)
	}
	if sd.StartBit > 63 {
		return nil, fmt.Errorf("start bit %d beyond the 8-byte classical CAN payload", sd.StartBit)
	}
	s := &Signal{
		Name:          string(sd.Name),
		BigEndian:     sd.IsBigEndian,
		StartBit:      uint8(sd.StartBit),
		Size:          uint8(sd.Size),
		Factor:        sd.Factor,
		Offset:        sd.Offset,
		Min:           sd.Minimum,
		Max:           sd.Maximum,
		Unit:          sd.Unit,
		IsMultiplexer: sd.IsMultiplexerSwitch,
		Multiplexed:   sd.IsMultiplexed,
		MuxValue:      sd.MultiplexerSwitch,
		line:          sd.Pos.Line,
	}
	if sd.IsSigned {
		s.Kind = Signed
	}
	if s.Factor == 0 || math.IsNaN(s.Factor) || math.IsInf(s.Factor, 0) {
		return nil, fmt.Errorf("factor %v, expected a finite non-zero number", sd.Factor)
	}
	if math.IsNaN(s.Offset) || math.IsInf(s.Offset, 0) {
		return nil, fmt.Errorf("offset %v, expected a finite number", sd.Offset)
	}
	size := uint(sd.Size)
	if size == 64 {
		s.mask = ^uint64(0)
	} else {
		s.mask = 1<<size - 1
	}
	start := uint(sd.StartBit)
	if !sd.IsBigEndian {
		// Intel: start is the LSB; bit n of the little-endian 64-bit word.
		if start+size > 64 {
			return nil, fmt.Errorf("little-endian bits %d..%d beyond 64", start, start+size-1)
		}
		s.shift = uint8(start)
		s.needBytes = uint8((start + size + 7) / 8)
	} else {
		// Motorola: start is the MSB in saw-tooth numbering. In the
		// big-endian 64-bit word, byte 0 bit 7 is bit 63.
		msb := (start/8)*8 + (7 - start%8) // position counted from the word's MSB
		lsb := msb + size - 1
		if lsb > 63 {
			return nil, fmt.Errorf("big-endian signal of %d bits from start bit %d runs past byte 8", size, start)
		}
		s.shift = uint8(63 - lsb)
		s.needBytes = uint8(lsb/8 + 1)
	}
	return s, nil
}

func (db *Database) lookup(id uint32, ext bool) *Message {
	if !ext {
		if id < uint32(len(db.std)) {
			return db.std[id]
		}
		return nil
	}
	return db.ext[id]
}

// Lookup returns the message definition for a frame, or nil for an
// identifier the DBC does not define.
func (db *Database) Lookup(f *can.Frame) *Message {
	if f.Flags&can.Extended == 0 {
		if f.ID < uint32(len(db.std)) {
			return db.std[f.ID]
		}
		return nil
	}
	return db.ext[f.ID]
}

// Message returns the message with the given name, or nil.
func (db *Database) Message(name string) *Message { return db.byName[name] }

// Signal returns "Message.Signal", or nil.
func (db *Database) Signal(message, signal string) *Signal {
	m := db.byName[message]
	if m == nil {
		return nil
	}
	return m.byName[signal]
}

// Signal returns the signal with the given name, or nil.
func (m *Message) Signal(name string) *Signal { return m.byName[name] }

// Multiplexer returns the message's multiplexer switch, or nil.
func (m *Message) Multiplexer() *Signal { return m.mux }

// FullName is "Message.Signal".
func (s *Signal) FullName() string { return s.Message.Name + "." + s.Name }

// OutUnit is the unit of Value.Value: the map's unit when mapped, else the DBC's.
func (s *Signal) OutUnit() string {
	if s.Mapping != nil && s.Mapping.Unit != "" {
		return s.Mapping.Unit
	}
	return s.Unit
}

// VSS is the signal's VSS path, or "" when unmapped.
func (s *Signal) VSS() string {
	if s.Mapping == nil {
		return ""
	}
	return s.Mapping.VSS
}

// Decode appends the values of the message's signals carried by f to out
// and returns it. Signals that need more bytes than the frame carries, and
// multiplexed signals whose switch value does not match, are left out. It
// does not allocate when out has room for len(m.Signals) values.
func (m *Message) Decode(f *can.Frame, out []Value) []Value {
	le := binary.LittleEndian.Uint64(f.Data[:])
	be := binary.BigEndian.Uint64(f.Data[:])
	var muxRaw uint64
	for _, s := range m.Signals {
		if s.needBytes > f.Len {
			if s.IsMultiplexer {
				return out // without the switch no multiplexed signal is known
			}
			continue
		}
		if s.Multiplexed && s.MuxValue != muxRaw {
			continue
		}
		var raw uint64
		if s.BigEndian {
			raw = (be >> s.shift) & s.mask
		} else {
			raw = (le >> s.shift) & s.mask
		}
		if s.IsMultiplexer {
			muxRaw = raw
		}
		var phys float64
		switch s.Kind {
		case Unsigned:
			phys = float64(raw)
		case Signed:
			if s.Size < 64 && raw&(1<<(s.Size-1)) != 0 {
				raw |= ^s.mask
			}
			phys = float64(int64(raw))
		case Float32:
			phys = float64(math.Float32frombits(uint32(raw)))
		case Float64:
			phys = math.Float64frombits(raw)
		}
		if mp := s.Mapping; mp != nil && mp.states != nil {
			v, ok := mp.lookup(int64(raw))
			if !ok {
				continue // a state the map does not list
			}
			out = append(out, Value{Signal: s, Raw: raw, Value: v})
			continue
		}
		phys = phys*s.Factor + s.Offset
		if mp := s.Mapping; mp != nil && (mp.Scale != 1 || mp.Add != 0) {
			phys = phys*mp.Scale + mp.Add
		}
		out = append(out, Value{Signal: s, Raw: raw, Value: phys})
	}
	return out
}

// Encode writes the physical value v (in DBC units) of signal s into the
// frame's payload, rounding to the nearest raw step and saturating at the
// raw range. It extends f.Len to cover the signal.
func (s *Signal) Encode(f *can.Frame, v float64) {
	var raw uint64
	switch s.Kind {
	case Float32:
		raw = uint64(math.Float32bits(float32((v - s.Offset) / s.Factor)))
	case Float64:
		raw = math.Float64bits((v - s.Offset) / s.Factor)
	case Signed:
		r := math.Round((v - s.Offset) / s.Factor)
		lo, hi := -math.Ldexp(1, int(s.Size)-1), math.Ldexp(1, int(s.Size)-1)-1
		r = math.Max(lo, math.Min(hi, r))
		if math.IsNaN(r) {
			r = 0
		}
		raw = uint64(int64(r)) & s.mask
	default:
		r := math.Round((v - s.Offset) / s.Factor)
		hi := math.Ldexp(1, int(s.Size)) - 1
		r = math.Max(0, math.Min(hi, r))
		if math.IsNaN(r) {
			r = 0
		}
		if r >= math.Ldexp(1, 64) {
			raw = ^uint64(0)
		} else {
			raw = uint64(r)
		}
	}
	s.EncodeRaw(f, raw)
}

// EncodeRaw writes raw bits of signal s into the frame's payload.
func (s *Signal) EncodeRaw(f *can.Frame, raw uint64) {
	raw &= s.mask
	if s.BigEndian {
		w := binary.BigEndian.Uint64(f.Data[:])
		w = w&^(s.mask<<s.shift) | raw<<s.shift
		binary.BigEndian.PutUint64(f.Data[:], w)
	} else {
		w := binary.LittleEndian.Uint64(f.Data[:])
		w = w&^(s.mask<<s.shift) | raw<<s.shift
		binary.LittleEndian.PutUint64(f.Data[:], w)
	}
	if f.Len < s.needBytes {
		f.Len = s.needBytes
	}
}

// NewFrame returns an all-zero frame for the message, sized as declared
// (at most 8 bytes).
func (m *Message) NewFrame() can.Frame {
	f := can.Frame{ID: m.ID, Len: m.Size}
	if f.Len > can.MaxDataLen {
		f.Len = can.MaxDataLen
	}
	if m.Extended {
		f.Flags |= can.Extended
	}
	return f
}
