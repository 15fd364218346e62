package adapt

import (
	"math"
	"math/rand/v2"
	"testing"

	int8nn "github.com/evedge/evedge/models/int8"
)

// TestDequantise: a network quantised by int8nn and turned back into
// float layers computes what int8nn's own float reference of the
// quantised model computes (RunFloatRef: the same dequantised weights,
// with its activations rounded to their scales, hence the tolerance).
func TestDequantise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := NewNet(rng, 12, 16, 5)
	for _, l := range m.layers { // NewNet's biases are 0
		for i := range l.b {
			l.b[i] = float32(0.5 * rng.NormFloat64())
		}
	}
	inputs := make([]int8nn.Input, 12)
	for i := range inputs {
		inputs[i] = int8nn.Input{Name: "x", Mean: float32(i) * 0.1, Std: 1 + float32(i)*0.05}
	}
	var calib [][]float32
	for range 200 {
		x := make([]float32, 12)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		calib = append(calib, x)
	}
	q, err := int8nn.Quantize("t", "1", inputs, m.FloatDense(), calib)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Dequantise(q)
	if err != nil {
		t.Fatal(err)
	}
	w := d.NewWorker()
	var worst, top float64
	for _, x := range calib[:50] {
		want := q.RunFloatRef(x)
		in := append([]float32(nil), x...)
		Standardise(in, inputs)
		got := d.Forward(w, in)
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
			top = max(top, math.Abs(float64(want[i])))
		}
	}
	// The reference rounds the inputs and the 16 hidden activations to
	// int8 steps (max/127): 0.03 of the outputs' range measured; a bias
	// or weight scale wrong by a layer's scale is off by tens of times.
	if worst > 0.05*top {
		t.Errorf("dequantised network off the int8 reference by %.4f (outputs up to %.3f)", worst, top)
	}
	q.Layers[1].WScale = q.Layers[1].WScale[:3]
	if _, err := Dequantise(q); err == nil {
		t.Error("a malformed layer was dequantised")
	}
}

// TestMix: weights and biases interpolated as (1−a)·base + a·m, worked by
// hand for a = 0.25: 4 and 8 give 5; −2 and 2 give −1.
func TestMix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, base := NewNet(rng, 3, 4, 2), NewNet(rng, 3, 4, 2)
	for li := range m.layers {
		for i := range m.layers[li].w {
			m.layers[li].w[i], base.layers[li].w[i] = 8, 4
		}
		for i := range m.layers[li].b {
			m.layers[li].b[i], base.layers[li].b[i] = 2, -2
		}
	}
	if err := m.Mix(base, 0.25); err != nil {
		t.Fatal(err)
	}
	for li, l := range m.layers {
		for _, v := range l.w {
			if v != 5 {
				t.Fatalf("layer %d weight %v, want 5", li, v)
			}
		}
		for _, v := range l.b {
			if v != -1 {
				t.Fatalf("layer %d bias %v, want -1", li, v)
			}
		}
		if base.layers[li].w[0] != 4 {
			t.Fatal("Mix changed the base")
		}
	}
	if err := m.Mix(NewNet(rng, 3, 5, 2), 0.5); err == nil {
		t.Error("networks of different shapes mixed")
	}
}
