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
// default context and width.
func TestModelOffsets(t *testing.T) {
	var meta map[string]any
	if err := json.Unmarshal(voicemodel.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	m0, err := ParseModel(voicemodel.AM, voicemodel.Meta)
	if err != nil {
		t.Fatal(err)
	}
	n := len(m0.AM.Inputs) / Bands // frames the committed network takes
	span := func(from, count int) []int {
		o := make([]int, count)
		for i := range o {
			o[i] = from + i
		}
		return o
	}
	with := func(kv ...any) []byte {
		m := maps.Clone(meta)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	for _, offs := range [][]int{m0.Meta.Offsets, span(-n/2, n), span(-(n - 1), n)} {
		m, err := ParseModel(voicemodel.AM, with("offsets", offs))
		if err != nil || fmt.Sprint(m.Meta.Offsets) != fmt.Sprint(offs) {
			t.Errorf("offsets %v: %v", offs, err)
		}
	}
	outside := span(-n/2, n)
	outside[0] = -40
	for _, c := range []struct {
		kv   []any
		want string
	}{
		{[]any{"offsets", span(-n/2, n+1)}, fmt.Sprintf("%d inputs", n*Bands)},
		{[]any{"offsets", span(1, n)}, "lack the current frame"},
		{[]any{"offsets", outside}, "outside"},
		{[]any{"offsets", nil, "context", 7}, "context 7 without offsets"},
		{[]any{"offsets", nil, "context", Context}, fmt.Sprintf("want %d", Inputs)},
	} {
		_, err := ParseModel(voicemodel.AM, with(c.kv...))
		if n*Bands == Inputs && c.want == fmt.Sprintf("want %d", Inputs) {
			continue // the committed model has the default width
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.kv, err, c.want)
		}
	}
}
