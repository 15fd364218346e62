package asr

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	voicemodel "github.com/evedge/evedge/models/voice"
)

func TestEmbeddedModel(t *testing.T) {
	m, err := ParseModel(voicemodel.AM, voicemodel.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AM.Verify(); err != nil {
		t.Fatal(err)
	}
	if n := len(voicemodel.AM); n > MaxModelSize {
		t.Errorf("model is %d bytes, the budget is %d", n, MaxModelSize)
	}
}

func TestBuildBadContext(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	os.WriteFile(p, []byte("language: en\nintents:\n  A:\n    templates: [\"open {nothing}\"]\n"), 0o644)
	_, err := Build(context.Background(), Espeak{}, p, voicemodel.AM, voicemodel.Meta, filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4") {
		t.Fatalf("Build(bad context) = %v, want an error naming bad.yaml:4", err)
	}
}

// TestBuildInfer builds a small context with espeak-ng and recognises
// espeak speech of a voice variant the model was not trained on.
func TestBuildInfer(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "ctx.yaml")
	os.WriteFile(p, []byte(testContext), 0o644)
	out := filepath.Join(dir, "model")
	if _, err := Build(context.Background(), Espeak{}, p, voicemodel.AM, voicemodel.Meta, out); err != nil {
		t.Fatal(err)
	}
	rec, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	cases := []struct{ text, intent, slot string }{
		{"open the rear left window", "OpenWindow", "rear left"},
		{"open front left window", "OpenWindow", "front left"},
		{"two", "Digit", "2"},
	}
	for i, tc := range cases {
		r := rec.Recognize(Trim(speak(t, dir, "en-us+Andrea", tc.text)))
		t.Logf("%d %q → %+v", i, tc.text, r)
		var slot string
		for _, v := range r.Slots {
			slot = strings.TrimSpace(strings.Trim(strings.ReplaceAll(strings.TrimSpace(fmtAny(v)), "_", " "), " "))
		}
		if r.Understood && r.Intent == tc.intent && slot == tc.slot {
			right++
		}
	}
	if right < 2 {
		t.Errorf("%d of %d understood, want at least 2", right, len(cases))
	}
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return string(rune('0' + v%10))
	}
	return ""
}

// TestModelOffsets: a model's meta may name its frame offsets; they must
// match the network's input width, and a meta without them must have the
// default context.
func TestModelOffsets(t *testing.T) {
	var meta map[string]any
	if err := json.Unmarshal(voicemodel.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) []byte {
		m := maps.Clone(meta)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	// The committed model stacks -5..5: 11 frames of 40 bands.
	for _, offs := range [][]int{{-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5}, {-7, -5, -3, -2, -1, 0, 1, 2, 3, 5, 7}} {
		m, err := ParseModel(voicemodel.AM, with("offsets", offs))
		if err != nil || fmt.Sprint(m.Meta.Offsets) != fmt.Sprint(offs) {
			t.Errorf("offsets %v: %v", offs, err)
		}
	}
	for _, c := range []struct {
		k    string
		v    any
		want string
	}{
		{"offsets", []int{-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5}, "440 inputs"},
		{"offsets", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "lack the current frame"},
		{"offsets", []int{-40, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5}, "outside"},
		{"context", 7, "context 7 without offsets"},
	} {
		if _, err := ParseModel(voicemodel.AM, with(c.k, c.v)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want an error with %q", c.k, c.v, err, c.want)
		}
	}
}
