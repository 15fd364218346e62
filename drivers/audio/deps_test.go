package audio

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCgoInCore: drivers/audio is pure Go; miniaudio stays in
// drivers/audio/malgo (STYLE.md, "cgo and OS code at the edges").
func TestNoCgoInCore(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{if .CgoFiles}}cgo{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if strings.Contains(f[0], "malgo") || (len(f) > 1 && f[1] == "cgo" && !strings.HasPrefix(f[0], "runtime/cgo") && f[0] != "net" && f[0] != "os/user") {
			t.Errorf("drivers/audio depends on %s", line)
		}
	}
}
