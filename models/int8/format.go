package int8nn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

var magic = [4]byte{'E', 'V', 'N', 'N'}

// Option changes how a model is read.
type Option func(*options)

type options struct{ maxSize int64 }

// WithMaxSize raises (or lowers) the file size limit, 256 KiB by default.
func WithMaxSize(n int64) Option { return func(o *options) { o.maxSize = n } }

// Write checks the model (structure and golden vectors, see [Model.Verify])
// and writes it in the EVNN format.
func Write(w io.Writer, m *Model) error {
	if err := m.Verify(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if _, err := w.Write(encode(m)); err != nil {
		return fmt.Errorf("write model %s: %w", m.Name, err)
	}
	return nil
}

// Read reads and checks a model: format, sizes, scales, checksum, then the
// golden vectors. Errors start with "model:" and wrap one of the sentinel
// errors.
func Read(r io.Reader, opts ...Option) (*Model, error) {
	m, err := read(r, opts)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return m, nil
}

// Load reads the model file at path, as [Read]. Errors name the file:
// "model fault.evnn: checksum mismatch: the file is corrupt".
func Load(path string, opts ...Option) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := read(f, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", filepath.Base(path), err)
	}
	return m, nil
}

func read(r io.Reader, opts []Option) (*Model, error) {
	o := options{maxSize: DefaultMaxSize}
	for _, opt := range opts {
		opt(&o)
	}
	data, err := io.ReadAll(io.LimitReader(r, o.maxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > o.maxSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, o.maxSize)
	}
	if len(data) < 8 {
		if len(data) >= 4 && [4]byte(data[:4]) != magic {
			return nil, fmt.Errorf("%w: bad magic %q", ErrFormat, data[:4])
		}
		return nil, fmt.Errorf("%w: %d bytes, shorter than the header", ErrTrunc, len(data))
	}
	if [4]byte(data[:4]) != magic {
		return nil, fmt.Errorf("%w: bad magic %q, want %q", ErrFormat, data[:4], magic[:])
	}
	if v := binary.LittleEndian.Uint16(data[4:]); v != Version {
		return nil, fmt.Errorf("%w %d (this reader knows %d)", ErrVersion, v, Version)
	}
	m, n, perr := decode(data)
	// The checksum is checked before any semantic error is reported, so a
	// damaged file says so; a file that ends early says that instead.
	if errors.Is(perr, ErrTrunc) {
		return nil, perr
	}
	if len(data) < 4 || crc32.ChecksumIEEE(data[:len(data)-4]) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, ErrChecksum
	}
	if perr != nil {
		return nil, perr
	}
	if n != len(data)-4 {
		return nil, fmt.Errorf("%w: %d bytes after the model", ErrFormat, len(data)-4-n)
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	return m, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendF32(b []byte, f float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
}

// encode writes the model without checking it.
func encode(m *Model) []byte {
	b := make([]byte, 0, 1024)
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint16(b, Version)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = appendString(b, m.Name)
	b = appendString(b, m.Version)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Inputs)))
	for _, in := range m.Inputs {
		b = appendString(b, in.Name)
		b = appendF32(b, in.Mean)
		b = appendF32(b, in.Std)
	}
	b = appendF32(b, m.InScale)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(m.Layers)))
	for _, l := range m.Layers {
		b = append(b, 1, byte(l.Act))
		b = binary.LittleEndian.AppendUint32(b, uint32(l.In))
		b = binary.LittleEndian.AppendUint32(b, uint32(l.Out))
		b = appendF32(b, l.OutScale)
		for _, s := range l.WScale {
			b = appendF32(b, s)
		}
		for _, v := range l.Bias {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
		for _, w := range l.W {
			b = append(b, byte(w))
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Golden)))
	b = appendF32(b, m.AbsTol)
	b = appendF32(b, m.RelTol)
	for _, g := range m.Golden {
		for _, v := range g.In {
			b = appendF32(b, v)
		}
		for _, v := range g.Out {
			b = appendF32(b, v)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// decoder reads little-endian fields, failing with ErrTrunc past the end.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.err = fmt.Errorf("%w: %s needs %d bytes at offset %d, the file has %d", ErrTrunc, what, n, d.off, len(d.b))
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u8(what string) uint8 {
	if p := d.take(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if p := d.take(2, what); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if p := d.take(4, what); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) f32(what string) float32 { return math.Float32frombits(d.u32(what)) }

func (d *decoder) str(what string) string {
	n := int(d.u16(what))
	if d.err == nil && n > MaxString {
		d.err = fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrFormat, what, n, MaxString)
	}
	return string(d.take(n, what))
}

// f32s reads n float32s, checking the room before allocating.
func (d *decoder) f32s(n int, what string) []float32 {
	p := d.take(4*n, what)
	if p == nil {
		return nil
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return v
}

// decode parses data (the whole file, trailer included) into a model
// without checking its meaning, only the limits that bound allocations.
// It returns the number of bytes before the trailer.
func decode(data []byte) (*Model, int, error) {
	d := &decoder{b: data}
	bad := func(format string, a ...any) (*Model, int, error) {
		return nil, 0, fmt.Errorf("%w: "+format, append([]any{ErrFormat}, a...)...)
	}
	d.take(8, "header")
	m := &Model{}
	m.Name = d.str("name")
	m.Version = d.str("version")
	nIn := d.u32("input count")
	if d.err == nil && (nIn < 1 || nIn > MaxInputs) {
		return bad("%d inputs, want 1..%d", nIn, MaxInputs)
	}
	for i := range int(nIn) {
		var in Input
		in.Name = d.str(fmt.Sprintf("input %d name", i))
		in.Mean = d.f32("input mean")
		in.Std = d.f32("input std")
		if d.err != nil {
			return nil, 0, d.err
		}
		m.Inputs = append(m.Inputs, in)
	}
	m.InScale = d.f32("input scale")
	nL := d.u16("layer count")
	if d.err == nil && (nL < 1 || nL > MaxLayers) {
		return bad("%d layers, want 1..%d", nL, MaxLayers)
	}
	weights := 0
	for li := range int(nL) {
		kind := d.u8("layer kind")
		act := d.u8("activation")
		in, out := d.u32("layer in"), d.u32("layer out")
		os := d.f32("output scale")
		if d.err != nil {
			return nil, 0, d.err
		}
		if kind != 1 {
			return bad("layer %d: unknown kind %d", li, kind)
		}
		if in < 1 || in > MaxWidth || out < 1 || out > MaxWidth {
			return bad("layer %d: %dx%d, want 1..%d each", li, out, in, MaxWidth)
		}
		weights += int(in) * int(out)
		if weights > MaxWeights {
			return bad("layer %d: more than %d weights in the model", li, MaxWeights)
		}
		l := DenseLayer{In: int(in), Out: int(out), Act: Activation(act), OutScale: os}
		l.WScale = d.f32s(l.Out, "weight scales")
		if p := d.take(4*l.Out, "biases"); p != nil {
			l.Bias = make([]int32, l.Out)
			for c := range l.Bias {
				l.Bias[c] = int32(binary.LittleEndian.Uint32(p[4*c:]))
			}
		}
		if p := d.take(l.In*l.Out, "weights"); p != nil {
			l.W = make([]int8, len(p))
			for i, v := range p {
				l.W[i] = int8(v)
			}
		}
		if d.err != nil {
			return nil, 0, d.err
		}
		m.Layers = append(m.Layers, l)
	}
	nG := d.u32("golden count")
	m.AbsTol = d.f32("absolute tolerance")
	m.RelTol = d.f32("relative tolerance")
	if d.err != nil {
		return nil, 0, d.err
	}
	if nG < 1 || nG > MaxGolden {
		return bad("%d golden vectors, want 1..%d", nG, MaxGolden)
	}
	nOut := m.NumOutputs()
	for gi := range int(nG) {
		g := Golden{In: d.f32s(len(m.Inputs), fmt.Sprintf("golden vector %d", gi))}
		g.Out = d.f32s(nOut, fmt.Sprintf("golden vector %d", gi))
		if d.err != nil {
			return nil, 0, d.err
		}
		m.Golden = append(m.Golden, g)
	}
	n := d.off
	d.take(4, "checksum")
	if d.err != nil {
		return nil, 0, d.err
	}
	return m, n, nil
}
