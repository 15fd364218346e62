package store

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyStoreImportsSQLite checks that this is the one package of the
// module importing go-sqlite3 (cgo), and that the core packages do not
// depend on it.
func TestOnlyStoreImportsSQLite(t *testing.T) {
	const sqlite = "github.com/mattn/go-sqlite3"
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	out, err := exec.Command(goTool, "list", "-e", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "github.com/evedge/evedge/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, imp := range f[1:] {
			if imp == sqlite && f[0] != "github.com/evedge/evedge/agent/store" {
				t.Errorf("%s imports %s; only agent/store may", f[0], sqlite)
			}
		}
	}
	out, err = exec.Command(goTool, "list", "-e", "-deps", "github.com/evedge/evedge/agent/signals", "github.com/evedge/evedge/drivers/can").Output()
	if err != nil {
		t.Skipf("go list -deps: %v", err)
	}
	if strings.Contains(string(out), sqlite) {
		t.Errorf("a core package depends on %s", sqlite)
	}
}
