package int8nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// handModel is worked by hand in TestHandModel.
func handModel() *Model {
	return &Model{
		Name: "hand", Version: "1",
		Inputs: []Input{
			{Name: "a", Mean: 0, Std: 1},
			{Name: "b", Mean: 1, Std: 2},
		},
		InScale: 0.1,
		Layers: []DenseLayer{
			{In: 2, Out: 2, W: []int8{10, -20, 30, 40}, WScale: []float32{0.01, 0.02},
				Bias: []int32{3, -100}, Act: ActReLU, OutScale: 0.05},
			{In: 2, Out: 2, W: []int8{2, -3, -4, 5}, WScale: []float32{0.5, 0.25},
				Bias: []int32{-10, 7}, Act: ActNone},
		},
		Golden: []Golden{
			{In: []float32{0.53, 2.64}, Out: []float32{-1.375, 1.025}},
			{In: []float32{20, 1}, Out: []float32{-8.525, 6.775}},
			{In: []float32{-1.26, -3}, Out: []float32{0, -0.1625}},
		},
		AbsTol: 1e-6,
	}
}

// TestHandModel checks the arithmetic against values worked by hand.
//
// Inputs: a (mean 0, std 1), b (mean 1, std 2), input scale 0.1.
// Layer 0: W = [[10 -20] [30 40]], wScale = [0.01 0.02], bias = [3 -100],
// relu, output scale 0.05, so the requantisation multipliers are
// 0.1*0.01/0.05 = 0.02 and 0.1*0.02/0.05 = 0.04.
// Layer 1: W = [[2 -3] [-4 5]], wScale = [0.5 0.25], bias = [-10 7], no
// activation, input scale 0.05, so the output multipliers are
// 0.05*0.5 = 0.025 and 0.05*0.25 = 0.0125.
//
// x = (0.53, 2.64): z = (0.53, 0.82), q = (5.3, 8.2) -> (5, 8).
// L0: 10*5 - 20*8 + 3 = -107 -> relu 0; 30*5 + 40*8 - 100 = 370.
// requant: 0; 370*0.04 = 14.8 -> 15.
// L1: 2*0 - 3*15 - 10 = -55 -> -1.375; -4*0 + 5*15 + 7 = 82 -> 1.025.
//
// x = (20, 1): z = (20, 0), q = (200 -> saturated 127, 0).
// L0: 10*127 + 3 = 1273; 30*127 - 100 = 3710.
// requant: 1273*0.02 = 25.46 -> 25; 3710*0.04 = 148.4 -> saturated 127.
// L1: 2*25 - 3*127 - 10 = -341 -> -8.525; -4*25 + 5*127 + 7 = 542 -> 6.775.
//
// x = (-1.26, -3): z = (-1.26, -2), q = (-12.6 -> -13, -20).
// L0: 10*-13 - 20*-20 + 3 = 273; 30*-13 + 40*-20 - 100 = -1290 -> relu 0.
// requant: 273*0.02 = 5.46 -> 5; 0.
// L1: 2*5 - 3*0 - 10 = 0 -> 0; -4*5 + 5*0 + 7 = -13 -> -0.1625.
func TestHandModel(t *testing.T) {
	m := handModel()
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in     []float32
		q      []int8
		acc0   []int32
		hidden []int8
		acc1   []int32
		out    []float32
	}{
		{[]float32{0.53, 2.64}, []int8{5, 8}, []int32{0, 370}, []int8{0, 15}, []int32{-55, 82}, []float32{-1.375, 1.025}},
		{[]float32{20, 1}, []int8{127, 0}, []int32{1273, 3710}, []int8{25, 127}, []int32{-341, 542}, []float32{-8.525, 6.775}},
		{[]float32{-1.26, -3}, []int8{-13, -20}, []int32{273, 0}, []int8{5, 0}, []int32{0, -13}, []float32{0, -0.1625}},
	}
	r := m.NewRunner()
	out := make([]float32, 2)
	for _, tt := range tests {
		if err := r.Run(tt.in, out); err != nil {
			t.Fatal(err)
		}
		// r.a holds the quantised inputs after the run (layer 0 reads
		// from a and writes to b, the final layer writes no int8).
		if q := r.a[:2]; !equal(q, tt.q) {
			t.Errorf("%v: quantised inputs %v, want %v", tt.in, q, tt.q)
		}
		if !equal(r.acc[0], tt.acc0) || !equal(r.acc[1], tt.acc1) {
			t.Errorf("%v: accumulators %v %v, want %v %v", tt.in, r.acc[0], r.acc[1], tt.acc0, tt.acc1)
		}
		if h := r.b[:2]; !equal(h, tt.hidden) {
			t.Errorf("%v: hidden %v, want %v", tt.in, h, tt.hidden)
		}
		for c := range out {
			if math.Abs(float64(out[c]-tt.out[c])) > 1e-6 {
				t.Errorf("%v: out %v, want %v", tt.in, out, tt.out)
			}
		}
		ref := m.RunFloatRef(tt.in)
		for c := range ref {
			if math.Abs(float64(ref[c]-tt.out[c])) > 1e-6 {
				t.Errorf("%v: float ref %v, want %v", tt.in, ref, tt.out)
			}
		}
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// netFloat is the unquantised network behind randomModel.
type netFloat struct {
	inputs []Input
	layers []FloatDense
}

func (n *netFloat) run(in []float32) []float32 {
	x := make([]float64, len(in))
	for i, v := range in {
		x[i] = (float64(v) - float64(n.inputs[i].Mean)) / float64(n.inputs[i].Std)
	}
	for _, l := range n.layers {
		y := make([]float64, len(l.W))
		for c, row := range l.W {
			s := float64(l.B[c])
			for i, w := range row {
				s += float64(w) * x[i]
			}
			if l.Act == ActReLU && s < 0 {
				s = 0
			}
			y[c] = s
		}
		x = y
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func (n *netFloat) sample(rng *rand.Rand) []float32 {
	v := make([]float32, len(n.inputs))
	for i, in := range n.inputs {
		v[i] = in.Mean + in.Std*float32(rng.NormFloat64())
	}
	return v
}

// randomNet is a He-initialised relu MLP with the given widths; inputs have
// random means and stds so standardisation matters.
func randomNet(rng *rand.Rand, widths ...int) *netFloat {
	n := &netFloat{}
	for i := range widths[0] {
		n.inputs = append(n.inputs, Input{
			Name: "Vehicle.Feature." + string(rune('A'+i%26)) + string(rune('a'+i/26)),
			Mean: float32(rng.Float64()*20 - 10), Std: float32(0.5 + rng.Float64()*4.5),
		})
	}
	for li := 1; li < len(widths); li++ {
		in, out := widths[li-1], widths[li]
		l := FloatDense{Act: ActReLU}
		if li == len(widths)-1 {
			l.Act = ActNone
		}
		sd := math.Sqrt(2 / float64(in))
		for range out {
			row := make([]float32, in)
			for i := range row {
				row[i] = float32(rng.NormFloat64() * sd)
			}
			l.W = append(l.W, row)
			l.B = append(l.B, float32(rng.NormFloat64()*0.1))
		}
		n.layers = append(n.layers, l)
	}
	return n
}

// randomModel quantises a 64-64-32-12 network, calibrated on 256 samples,
// with 16 golden vectors from the fake-quant reference.
func randomModel(t testing.TB, seed uint64) (*Model, *netFloat, *rand.Rand) {
	rng := rand.New(rand.NewPCG(seed, 1))
	n := randomNet(rng, 64, 64, 32, 12)
	var calib, golden [][]float32
	for range 256 {
		calib = append(calib, n.sample(rng))
	}
	for range 16 {
		golden = append(golden, n.sample(rng))
	}
	m, err := Quantize("fault", "test-1", n.inputs, n.layers, calib)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetGolden(golden, 1e-5, 1e-4); err != nil {
		t.Fatal(err)
	}
	return m, n, rng
}

func TestRandomModel(t *testing.T) {
	m, n, rng := randomModel(t, 7)
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	r := m.NewRunner()
	out := make([]float32, m.NumOutputs())
	var maxFQ, sumSq, sumRef, maxErr, maxRef float64
	for range 100 {
		in := n.sample(rng)
		if err := r.Run(in, out); err != nil {
			t.Fatal(err)
		}
		fq := m.RunFloatRef(in)
		fl := n.run(in)
		for c := range out {
			// Against fake quant: the same int8 values flow through both,
			// so only float rounding differs.
			d := math.Abs(float64(out[c] - fq[c]))
			if d > 1e-3*math.Abs(float64(fq[c]))+1e-6 {
				t.Errorf("output %d: int8 %v, fake-quant %v", c, out[c], fq[c])
			}
			maxFQ = max(maxFQ, d)
			e := float64(out[c] - fl[c])
			sumSq += e * e
			sumRef += float64(fl[c]) * float64(fl[c])
			maxErr = max(maxErr, math.Abs(e))
			maxRef = max(maxRef, math.Abs(float64(fl[c])))
		}
	}
	rel := math.Sqrt(sumSq / sumRef)
	t.Logf("int8 vs fake quant: max |diff| %.3g; vs float: rms error %.2f%% of rms output, max |err| %.3g (max |out| %.3g)",
		maxFQ, 100*rel, maxErr, maxRef)
	// Against the float network: every quantisation point adds a rounding
	// error uniform in half a step, rms step/sqrt(12), step = range/127.
	// Standardised inputs span about 3.5 sigma over the calibration set,
	// weights about 3 sigma per channel, relu activations about 4 times
	// their rms: each stage contributes 0.7-1% of the signal rms, and the
	// five stages (inputs, weights, two hidden activations, and the int32
	// bias, negligible) add in quadrature to about 2%. Measured over 20
	// seeds: 1.7-2.6% rms; the worst single output 1.8-6.9% of the largest,
	// the high ones where an input beyond the calibrated range saturates. 5% rms and 10% of the largest output
	// as the worst case leave margin for other seeds without hiding a
	// wrong scale or a lost rounding, which give errors of 10-100%.
	if rel > 0.05 {
		t.Errorf("rms error against the float network %.2f%%, want < 5%%", 100*rel)
	}
	if maxErr > 0.1*maxRef {
		t.Errorf("max error against the float network %.3g, want < 10%% of %.3g", maxErr, maxRef)
	}
}

func TestRunAllocs(t *testing.T) {
	m, n, rng := randomModel(t, 1)
	r := m.NewRunner()
	in, out := n.sample(rng), make([]float32, m.NumOutputs())
	allocs := testing.AllocsPerRun(100, func() {
		if err := r.Run(in, out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Run: %v allocations, want 0", allocs)
	}
}

func TestRunErrors(t *testing.T) {
	m := handModel()
	r := m.NewRunner()
	out := make([]float32, 2)
	for _, tt := range []struct {
		name    string
		in, out []float32
		want    string
	}{
		{"short input", []float32{1}, out, "1 inputs"},
		{"short output", []float32{1, 2}, out[:1], "room for 1"},
		{"NaN", []float32{1, float32(math.NaN())}, out, "input 1 (b) is NaN"},
		{"Inf", []float32{float32(math.Inf(1)), 1}, out, "input 0 (a) is +Inf"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Run(tt.in, tt.out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func mustEncode(t testing.TB, m *Model) []byte {
	var buf bytes.Buffer
	if err := Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for name, m := range map[string]*Model{"hand": handModel(), "random": func() *Model { m, _, _ := randomModel(t, 3); return m }()} {
		t.Run(name, func(t *testing.T) {
			b := mustEncode(t, m)
			t.Logf("%s: %d bytes", name, len(b))
			got, err := Read(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
				t.Error("re-encoding the read model gives different bytes")
			}
			if got.Name != m.Name || got.Version != m.Version || len(got.Layers) != len(m.Layers) ||
				got.InScale != m.InScale || !equal(got.Inputs, m.Inputs) || !equal(got.Layers[0].W, m.Layers[0].W) {
				t.Error("read model differs from the written one")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	b := mustEncode(t, handModel())
	good := filepath.Join(dir, "good.evnn")
	if err := os.WriteFile(good, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(b)
	bad[20] ^= 1
	path := filepath.Join(dir, "fault.evnn")
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := "model fault.evnn: checksum mismatch: the file is corrupt"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestCorruption flips every byte of the small model and some of the large
// one, and truncates at every length: all are refused.
func TestCorruption(t *testing.T) {
	rm, _, _ := randomModel(t, 5)
	for name, m := range map[string]*Model{"hand": handModel(), "random": rm} {
		b := mustEncode(t, m)
		step := 1
		if len(b) > 2000 {
			step = 7
		}
		t.Run(name+"/flip", func(t *testing.T) {
			for i := 0; i < len(b); i += step {
				for _, x := range []byte{0x01, 0x80, 0xff} {
					c := bytes.Clone(b)
					c[i] ^= x
					if _, err := Read(bytes.NewReader(c)); err == nil {
						t.Fatalf("byte %d ^ %#x: accepted", i, x)
					}
				}
			}
		})
		t.Run(name+"/truncate", func(t *testing.T) {
			for n := 0; n < len(b); n += step {
				_, err := Read(bytes.NewReader(b[:n]))
				if !errors.Is(err, ErrTrunc) {
					t.Fatalf("truncated to %d bytes: %v, want %v", n, err, ErrTrunc)
				}
			}
			_, err := Read(bytes.NewReader(append(bytes.Clone(b), 0)))
			if err == nil {
				t.Fatal("trailing byte accepted")
			}
		})
	}
}

// reseal recomputes the checksum after an edit.
func reseal(b []byte) []byte {
	n := len(b) - 4
	binary.LittleEndian.PutUint32(b[n:], crc32.ChecksumIEEE(b[:n]))
	return b
}

// TestRefused edits models and re-seals them with a valid checksum, so the
// specific checks answer.
func TestRefused(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		edit func(m *Model)
		raw  func(b []byte) []byte // edits the encoded bytes instead
		want error
		msg  string
	}{
		{name: "bad magic", raw: func(b []byte) []byte { b[0] = 'X'; return b }, want: ErrFormat, msg: "bad magic"},
		{name: "bad version", raw: func(b []byte) []byte { b[4] = 2; return reseal(b) }, want: ErrVersion, msg: "version 2"},
		{name: "layer in mismatch", edit: func(m *Model) {
			l := &m.Layers[1]
			l.In, l.W = 3, append(l.W, 1, 1)
		}, want: ErrFormat, msg: "layer 1: 3 inputs, layer 0 has 2 outputs"},
		{name: "NaN weight scale", edit: func(m *Model) { m.Layers[0].WScale[1] = nan }, want: ErrFormat, msg: "channel 1 weight scale: NaN"},
		{name: "zero input scale", edit: func(m *Model) { m.InScale = 0 }, want: ErrFormat, msg: "input scale: 0"},
		{name: "Inf output scale", edit: func(m *Model) { m.Layers[0].OutScale = float32(math.Inf(1)) }, want: ErrFormat, msg: "output scale: +Inf"},
		{name: "zero std", edit: func(m *Model) { m.Inputs[1].Std = 0 }, want: ErrFormat, msg: "input 1 (b): std"},
		{name: "final output scale", edit: func(m *Model) { m.Layers[1].OutScale = 1 }, want: ErrFormat, msg: "final layer"},
		{name: "weight -128", edit: func(m *Model) { m.Layers[0].W[0] = -128 }, want: ErrFormat, msg: "-128"},
		{name: "overflow", edit: func(m *Model) { m.Layers[0].Bias[0] = math.MaxInt32 - 10 }, want: ErrFormat, msg: "overflow"},
		{name: "no golden", edit: func(m *Model) { m.Golden = nil }, want: ErrFormat, msg: "0 golden"},
		{name: "golden mismatch", edit: func(m *Model) { m.Golden[1].Out[0] += 0.01 }, want: ErrGolden, msg: "golden vector 1 output 0"},
		{name: "too many weights", edit: func(m *Model) {
			dense := func(in, out int) DenseLayer {
				return DenseLayer{In: in, Out: out, W: make([]int8, in*out), WScale: make([]float32, out), Bias: make([]int32, out)}
			}
			m.Layers = []DenseLayer{dense(2, 1024), dense(1024, 1025)}
		}, want: ErrFormat, msg: "weights"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := handModel()
			var b []byte
			if tt.edit != nil {
				tt.edit(m)
				b = encode(m)
				if err := Write(&bytes.Buffer{}, m); !errors.Is(err, tt.want) {
					t.Errorf("Write: %v, want %v", err, tt.want)
				}
			} else {
				b = tt.raw(encode(m))
			}
			_, err := Read(bytes.NewReader(b), WithMaxSize(16<<20))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Read: %v, want %v with %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestMaxSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	n := randomNet(rng, 128, 1024, 256, 12) // ~400k weights
	calib := [][]float32{n.sample(rng), n.sample(rng)}
	m, err := Quantize("big", "1", n.inputs, n.layers, calib)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetGolden(calib, 1e-5, 1e-4); err != nil {
		t.Fatal(err)
	}
	b := mustEncode(t, m)
	if _, err := Read(bytes.NewReader(b)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d bytes: %v, want %v", len(b), err, ErrTooLarge)
	}
	if _, err := Read(bytes.NewReader(b), WithMaxSize(1<<20)); err != nil {
		t.Error(err)
	}
}

func FuzzRead(f *testing.F) {
	b := mustEncode(f, handModel())
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("EVNN\x01\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever is accepted runs.
		out := make([]float32, m.NumOutputs())
		if err := m.NewRunner().Run(m.Golden[0].In, out); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzReadResealed fixes the checksum so the fuzzer reaches the checks
// behind it.
func FuzzReadResealed(f *testing.F) {
	f.Add(mustEncode(f, handModel()))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 12 {
			return
		}
		m, err := Read(bytes.NewReader(reseal(bytes.Clone(data))))
		if err != nil {
			return
		}
		out := make([]float32, m.NumOutputs())
		for _, g := range m.Golden {
			if err := m.NewRunner().Run(g.In, out); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkRun64x64x32x12(b *testing.B) {
	m, n, rng := randomModel(b, 11)
	r := m.NewRunner()
	in, out := n.sample(rng), make([]float32, m.NumOutputs())
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Run(in, out); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSparseRows: rows with leading and trailing zero weights (a merged
// ensemble is block-diagonal; Run skips the zeros) give the fake-quant
// reference's outputs, and an all-zero row gives its bias alone.
func TestSparseRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	n := randomNet(rng, 24, 32, 16, 4)
	for li, l := range n.layers {
		for c, row := range l.W {
			lo, hi := rng.IntN(len(row)), rng.IntN(len(row)+1)
			if li == 1 && c == 3 {
				lo, hi = 0, 0 // all zero
			}
			for i := range row {
				if i < lo || i >= hi {
					row[i] = 0
				}
			}
		}
	}
	var calib [][]float32
	for range 256 {
		calib = append(calib, n.sample(rng))
	}
	m, err := Quantize("sparse", "test-1", n.inputs, n.layers, calib)
	if err != nil {
		t.Fatal(err)
	}
	r := m.NewRunner()
	out := make([]float32, m.NumOutputs())
	for range 100 {
		in := n.sample(rng)
		if err := r.Run(in, out); err != nil {
			t.Fatal(err)
		}
		fq := m.RunFloatRef(in)
		for c := range out {
			if d := math.Abs(float64(out[c] - fq[c])); d > 1e-3*math.Abs(float64(fq[c]))+1e-6 {
				t.Fatalf("output %d: int8 %v, fake-quant %v", c, out[c], fq[c])
			}
		}
	}
}
