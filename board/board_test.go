package board

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadSimByName(t *testing.T) {
	p, err := Load("sim", []string{"/nonexistent", "."})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "sim" || len(p.CAN) != 1 || p.CAN[0].Driver != DriverSim || p.CAN[0].Bus != 0 {
		t.Fatalf("profile %+v", p)
	}
	if p.Vehicle.DBC != filepath.Join("sim", "sim-ev.dbc") {
		t.Fatalf("dbc path %q not resolved against the profile's folder", p.Vehicle.DBC)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"description = \"x\"\n", `field "name" is missing`},
		{"name = \"x\"\n[[can]]\ninterface = \"can0\"\nbus = 300\n", "can[0].bus 300"},
		{"name = \"x\"\n[[can]]\ninterface = \"can0\"\n[[can]]\ninterface = \"can1\"\n", "can[1].bus 0: used by another interface"},
		{"name = \"x\"\n[[can]]\nbus = 1\n", "can[0].interface is missing"},
		{"name = \"x\"\n[[can]]\ninterface = \"can0\"\nbitrate = 5000000\n", "can[0].bitrate"},
		{"name = \"x\"\nbitrate = 5\n", `b.toml:2: unknown field "bitrate"`},
		{"name = 5\n", "b.toml:1:"},
	} {
		_, err := Parse("b.toml", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
	if _, err := Load("nosuch", []string{"."}); err == nil || !strings.Contains(err.Error(), `"nosuch" not found`) {
		t.Errorf("missing profile: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("name = \"sim\"\n[vehicle]\ndbc = \"a.dbc\"\n[[can]]\ninterface = \"can0\"\nbus = 1\ndriver = \"sim\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Parse("f.toml", data); err != nil && !strings.Contains(err.Error(), "f.toml") {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

func TestServiceAddr(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "b.toml")
	os.WriteFile(p, []byte("name = \"b\"\n[service]\naddr = \"nope\"\n"), 0o644)
	if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), "b.toml") || !strings.Contains(err.Error(), "service.addr") {
		t.Errorf("bad service.addr: %v", err)
	}
	os.WriteFile(p, []byte("name = \"b\"\n[service]\naddr = \"192.168.50.1:8443\"\n"), 0o644)
	if pr, err := Load(p, nil); err != nil || pr.Service.Addr != "192.168.50.1:8443" {
		t.Errorf("good service.addr: %v", err)
	}
}
