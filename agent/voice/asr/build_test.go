package asr

import (
	"context"
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
