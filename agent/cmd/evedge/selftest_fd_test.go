package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/evedge/evedge/drivers/can/socketcan"
)

// A board asking for CAN FD: selftest fails a link that runs classical CAN
// (CAN FD frames would not be received) or another data bitrate, and shows
// the data bitrate of one that runs as asked.
func TestSelftestCANFD(t *testing.T) {
	dir := t.TempDir()
	prof := `name = "fd-bench"
data_dir = "` + filepath.Join(dir, "data") + `"
[[can]]
interface = "can0"
bus = 0
bitrate = 500000
fd = true
data_bitrate = 2000000
[[can]]
interface = "can1"
bus = 1
bitrate = 500000
fd = true
data_bitrate = 2000000
[[can]]
interface = "can2"
bus = 2
bitrate = 500000
fd = true
data_bitrate = 2000000
`
	pf := filepath.Join(dir, "fd.toml")
	if err := os.WriteFile(pf, []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSelftest()
	s.linkStatus = func(name string) (socketcan.Link, error) {
		l := socketcan.Link{Name: name, Kind: "can", Up: true, Bitrate: 500000, State: socketcan.StateErrorActive}
		switch name {
		case "can0":
			l.FD, l.DataBitrate = true, 2000000
		case "can2":
			l.FD, l.DataBitrate = true, 5000000
		}
		return l, nil
	}
	s.run(context.Background(), "", pf)
	var out bytes.Buffer
	s.print(&out)
	for _, row := range []string{
		`(?m)^can can0 \(bus 0\) +pass +up, 500000 bit/s CAN FD \(data 2000000 bit/s\), error-active, TEC 0 REC 0$`,
		`(?m)^can can1 \(bus 1\) +FAIL +up, 500000 bit/s, error-active, TEC 0 REC 0; the profile asks for CAN FD \(fd = true\) but the link runs classical CAN`,
		`(?m)^can can2 \(bus 2\) +FAIL +up, 500000 bit/s CAN FD \(data 5000000 bit/s\), .*; the profile asks for a data bitrate of 2000000 bit/s$`,
	} {
		if !regexp.MustCompile(row).MatchString(out.String()) {
			t.Errorf("no row %s in\n%s", row, out.String())
		}
	}
}

// Health reports carry the CAN FD counters beside the link's error
// counters (the values themselves are checked on a real CAN stack by
// TestVCANFD and TestVCANAgentFD).
func TestLinkHealthFD(t *testing.T) {
	links := []canLink{{bus: 0, iface: "can0", conn: &socketcan.Conn{}}, {bus: 1, iface: "can1", conn: &socketcan.Conn{}}}
	got := linkHealth(links)()
	if len(got) != 2 {
		t.Fatalf("%d links, want 2: %v", len(got), got)
	}
	for i, m := range got {
		for _, k := range []string{"bus", "interface", "error_frames", "bus_off", "error_passive", "dropped", "fd_frames", "fd_oversize"} {
			if _, ok := m[k]; !ok {
				t.Errorf("link %d lacks %q: %v", i, k, m)
			}
		}
		if m["interface"] != links[i].iface || m["fd_oversize"] != uint64(0) {
			t.Errorf("link %d: %v", i, m)
		}
	}
}
