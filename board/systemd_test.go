package board

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unitDirectives reads a systemd unit into section.key -> values.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || l[0] == '#' || l[0] == ';':
		case l[0] == '[':
			sec = strings.Trim(l, "[]")
		default:
			k, v, _ := strings.Cut(l, "=")
			m[sec+"."+k] = append(m[sec+"."+k], v)
		}
	}
	return m
}

// The unit asks for what the issue requires: notify with a watchdog,
// restart, its own user, the two network capabilities only, a read-only
// system but the data directory.
func TestSystemdUnitDirectives(t *testing.T) {
	m := unitDirectives(t, filepath.Join("systemd", "evedge.service"))
	for k, want := range map[string]string{
		"Service.Type":                  "notify",
		"Service.WatchdogSec":           "30s",
		"Service.Restart":               "always",
		"Service.User":                  "evedge",
		"Service.ProtectSystem":         "strict",
		"Service.ReadWritePaths":        "/var/lib/evedge",
		"Service.AmbientCapabilities":   "CAP_NET_RAW CAP_NET_ADMIN",
		"Service.CapabilityBoundingSet": "CAP_NET_RAW CAP_NET_ADMIN",
		"Service.NoNewPrivileges":       "yes",
		"Service.SupplementaryGroups":   "dialout audio",
		"Service.PrivateTmp":            "yes",
		"Service.ProtectHome":           "yes",
		"Service.ProtectKernelTunables": "yes",
		"Service.ExecStart":             "/usr/bin/evedge run --config /etc/evedge/evedge.toml --view off",
		"Install.WantedBy":              "multi-user.target",
	} {
		if got := m[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Hardening that would cut the agent off from its devices stays out.
	for _, k := range []string{"Service.PrivateDevices", "Service.DevicePolicy", "Service.PrivateNetwork", "Service.ProtectClock", "Service.PrivateUsers"} {
		if v, ok := m[k]; ok {
			t.Errorf("%s = %q would cut off CAN, serial, audio or the clock status", k, v)
		}
	}
	if fam := strings.Join(m["Service.RestrictAddressFamilies"], " "); !strings.Contains(fam, "AF_CAN") || !strings.Contains(fam, "AF_NETLINK") {
		t.Errorf("RestrictAddressFamilies %q lacks AF_CAN or AF_NETLINK", fam)
	}
}

// systemd-analyze verify accepts the unit, without a warning, in a root
// where ExecStart's binary exists. Skipped without systemd-analyze unless
// EVEDGE_REQUIRE_SYSTEMD is set (apt-get install systemd; make deps).
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("EVEDGE_REQUIRE_SYSTEMD") != "" {
			t.Fatal("systemd-analyze not found and EVEDGE_REQUIRE_SYSTEMD is set (apt-get install systemd)")
		}
		t.Skip("systemd-analyze not found (apt-get install systemd)")
	}
	root := t.TempDir()
	units := filepath.Join(root, "lib", "systemd", "system")
	bin := filepath.Join(root, "usr", "bin")
	for _, d := range []string{units, bin} {
		os.MkdirAll(d, 0o755)
	}
	// The unit's dependencies (sysinit.target ...) from the host.
	host, _ := filepath.Glob("/lib/systemd/system/*.target")
	for _, h := range host {
		if b, err := os.ReadFile(h); err == nil {
			os.WriteFile(filepath.Join(units, filepath.Base(h)), b, 0o644)
		}
	}
	unit, err := os.ReadFile(filepath.Join("systemd", "evedge.service"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(units, "evedge.service"), unit, 0o644)
	verify := func() string {
		out, err := exec.Command(sa, "verify", "--man=no", "--root="+root, filepath.Join(units, "evedge.service")).CombinedOutput()
		if err != nil {
			return "error " + err.Error() + ": " + string(out)
		}
		return string(out)
	}
	// Without the binary verify must object: the check is real.
	if out := verify(); !strings.Contains(out, "/usr/bin/evedge") {
		t.Fatalf("verify without /usr/bin/evedge: %q", out)
	}
	sh, _ := os.ReadFile("/bin/true")
	if err := os.WriteFile(filepath.Join(bin, "evedge"), sh, 0o755); err != nil {
		t.Fatal(err)
	}
	if out := verify(); out != "" {
		t.Fatalf("systemd-analyze verify: %s", out)
	}
	out, _ := exec.Command(sa, "security", "--offline=true", "--root="+root, filepath.Join(units, "evedge.service")).CombinedOutput()
	if i := strings.Index(string(out), "Overall exposure level"); i >= 0 {
		t.Logf("%s", strings.TrimSpace(string(out[i:])))
	}
}
