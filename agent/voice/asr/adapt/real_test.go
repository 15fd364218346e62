package adapt

import (
	"fmt"
	"testing"
)

// TestFSDDFile: FSDD's names are digit_speaker_index.wav.
func TestFSDDFile(t *testing.T) {
	for _, c := range []struct {
		name  string
		digit int
		spk   string
		ok    bool
	}{
		{"/x/7_theo_23.wav", 7, "theo", true},
		{"0_george_0.wav", 0, "george", true},
		{"10_theo_1.wav", 0, "", false},
		{"-1_theo_1.wav", 0, "", false},
		{"7_theo.wav", 0, "", false},
		{"x_theo_1.wav", 0, "", false},
		{"7_theo_1_2.wav", 0, "", false},
	} {
		d, s, ok := FSDDFile(c.name)
		if ok != c.ok || ok && (d != c.digit || s != c.spk) {
			t.Errorf("FSDDFile(%q) = %d %q %v, want %d %q %v", c.name, d, s, ok, c.digit, c.spk, c.ok)
		}
	}
}

// FuzzFSDDFile: any name parses without panicking, and what parses
// writes back to a name that parses the same.
func FuzzFSDDFile(f *testing.F) {
	f.Add("7_theo_23.wav")
	f.Add("__.wav")
	f.Fuzz(func(t *testing.T, name string) {
		d, s, ok := FSDDFile(name)
		if !ok {
			return
		}
		if d < 0 || d > 9 {
			t.Fatalf("digit %d from %q", d, name)
		}
		d2, s2, ok2 := FSDDFile(fmt.Sprintf("%d_%s_0.wav", d, s))
		if !ok2 || d2 != d || s2 != s {
			t.Fatalf("%q: %d %q does not round-trip", name, d, s)
		}
	})
}
