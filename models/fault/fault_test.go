package fault

import (
	"bytes"
	"testing"

	int8nn "github.com/evedge/evedge/models/int8"
)

// TestEmbedded: the committed model loads (checksum and golden vectors
// checked by Read), stays within the 256 KB and does not allocate
// per window.
func TestEmbedded(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(evnn) > 256*1000 {
		t.Errorf("fault.evnn is %d bytes, over 256 KB", len(evnn))
	}
	r := m.NewRunner()
	in := make([]float32, len(m.Inputs))
	out := make([]float32, m.NumOutputs())
	if n := testing.AllocsPerRun(100, func() { r.Run(in, out) }); n != 0 {
		t.Errorf("%v allocations per window", n)
	}
	if _, err := int8nn.Read(bytes.NewReader(evnn[:len(evnn)/2])); err == nil {
		t.Error("a truncated model was accepted")
	}
}

// BenchmarkInfer is one window through the committed fault model (goal
// 50 µs, no allocation).
func BenchmarkInfer(b *testing.B) {
	m, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	r := m.NewRunner()
	in := make([]float32, len(m.Inputs))
	for i := range in {
		in[i] = m.Inputs[i].Mean + 0.5*m.Inputs[i].Std
	}
	out := make([]float32, m.NumOutputs())
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Run(in, out); err != nil {
			b.Fatal(err)
		}
	}
}
