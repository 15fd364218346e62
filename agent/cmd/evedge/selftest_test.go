package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
	"github.com/evedge/evedge/drivers/audio/malgo"
	"github.com/evedge/evedge/drivers/can/socketcan"
)

var boardRoot = filepath.Join("..", "..", "..", "board")

// The sim board passes every check and the command exits 0.
func TestSelftestSim(t *testing.T) {
	var out, errb bytes.Buffer
	abs, _ := filepath.Abs(filepath.Join(boardRoot, "sim.toml"))
	t.Chdir(t.TempDir()) // no history here: the store check opens a new one
	if rc := run([]string{"selftest", "--board", abs}, nil, &out, &errb); rc != 0 {
		t.Fatalf("rc %d\n%s%s", rc, out.String(), errb.String())
	}
	for _, row := range []string{
		`(?m)^board +pass +sim \(`,
		`(?m)^vehicle +pass +sim-ev.dbc: \d+ messages`,
		`(?m)^can sim0 \(bus 0\) +pass +simulated bus$`,
		`(?m)^obd +skip `,
		`(?m)^store +pass +no history yet in var/sim`,
		`(?m)^model +pass +built-in fault model .*golden vectors ok`,
		`(?m)^clock +pass `,
	} {
		if !regexp.MustCompile(row).MatchString(out.String()) {
			t.Errorf("no row %s in\n%s", row, out.String())
		}
	}
	if strings.Contains(out.String(), "FAIL") {
		t.Errorf("a check failed:\n%s", out.String())
	}
}

// A bad board file fails with a row naming the file and the field, and the
// command exits 1.
func TestSelftestBadBoard(t *testing.T) {
	var out, errb bytes.Buffer
	bad := filepath.Join(boardRoot, "testdata", "bad", "bad-bitrate.toml")
	if rc := run([]string{"selftest", "--board", bad}, nil, &out, &errb); rc != 1 {
		t.Fatalf("rc %d, want 1\n%s%s", rc, out.String(), errb.String())
	}
	if !regexp.MustCompile(`(?m)^board +FAIL +board: .*bad-bitrate\.toml: can\[0\]\.bitrate 5000000: expected`).MatchString(out.String()) {
		t.Errorf("no board row naming file and field:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "checks failed") {
		t.Errorf("stderr %q", errb.String())
	}
	// A bad config file too.
	cfg := filepath.Join(t.TempDir(), "evedge.toml")
	os.WriteFile(cfg, []byte("[agent]\nlog_level = \"loud\"\n"), 0o644)
	out.Reset()
	if rc := run([]string{"selftest", "--config", cfg, "--board", filepath.Join(boardRoot, "sim.toml")}, nil, &out, &errb); rc != 1 ||
		!regexp.MustCompile(`(?m)^config +FAIL +config: .*evedge\.toml: agent\.log_level "loud"`).MatchString(out.String()) {
		t.Errorf("bad config: rc %d\n%s", rc, out.String())
	}
}

// Hardware checks against stand-ins: SocketCAN link states, an ELM327 on a
// pseudo-terminal, audio device lists, the clock of a board without RTC.
func TestSelftestHardware(t *testing.T) {
	dir := t.TempDir()
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	defer tty.Close()
	prof := `name = "bench"
data_dir = "` + filepath.Join(dir, "data") + `"
[[can]]
interface = "can0"
bus = 0
bitrate = 500000
[[can]]
interface = "can1"
bus = 1
[[can]]
interface = "vcan0"
bus = 2
[[can]]
interface = "can9"
bus = 3
[obd]
port = "` + tty.Name() + `"
[[audio.capture]]
device = "Cabin Array"
channels = 2
zones = ["driver", "passenger"]
[[audio.playback]]
device = "default"
[clock]
rtc = false
`
	pf := filepath.Join(dir, "bench.toml")
	os.WriteFile(pf, []byte(prof), 0o644)

	s := newSelftest()
	s.linkStatus = func(name string) (socketcan.Link, error) {
		switch name {
		case "can0":
			return socketcan.Link{Name: name, Kind: "can", Up: true, Bitrate: 500000, State: socketcan.StateErrorPassive,
				TxErrors: 130, HasStats: true, Stats: socketcan.DeviceStats{ErrorPassive: 2}}, nil
		case "can1":
			return socketcan.Link{Name: name, Kind: "can", Up: true, Bitrate: 250000, State: socketcan.StateBusOff}, nil
		case "vcan0":
			return socketcan.Link{Name: name, Kind: "vcan", Up: true}, nil
		}
		return socketcan.Link{}, errors.New("socketcan: link " + name + ": route ip+net: no such network interface")
	}
	s.audioDevices = func(k malgo.Kind) ([]malgo.DeviceInfo, error) {
		if k == malgo.CaptureDevice {
			return []malgo.DeviceInfo{{ID: "hw:1,0", Name: "USB Cabin Array, USB Audio"}}, nil
		}
		return nil, audio.ErrNoDevice
	}
	s.now = func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }
	s.synced = func() bool { return false }
	s.run(context.Background(), "", pf)
	var out bytes.Buffer
	s.print(&out)
	for _, row := range []string{
		`(?m)^can can0 \(bus 0\) +pass +up, 500000 bit/s, error-passive, TEC 130 REC 0, bus-off 0, error-passive 2, restarts 0$`,
		`(?m)^can can1 \(bus 1\) +FAIL +up, 250000 bit/s, bus-off`,
		`(?m)^can vcan0 \(bus 2\) +pass +up \(vcan: no bit timing\)$`,
		`(?m)^can can9 \(bus 3\) +FAIL +no interface "can9"`,
		`(?m)^obd +pass +` + regexp.QuoteMeta(tty.Name()) + ` opens$`,
		`(?m)^audio capture\[0\] +pass +"Cabin Array": USB Cabin Array, USB Audio \(2 channels, zones driver,passenger\)$`,
		`(?m)^audio playback\[0\] +FAIL +"default": no device`,
		`(?m)^store +pass +no history yet in `,
		`(?m)^clock +FAIL +2026-05-01T00:00:00Z not synchronised yet \(no RTC`,
	} {
		if !regexp.MustCompile(row).MatchString(out.String()) {
			t.Errorf("no row %s in\n%s", row, out.String())
		}
	}
	if n := s.failed(); n != 4 {
		t.Errorf("%d failures, want 4:\n%s", n, out.String())
	}

	// The OBD port gone, the clock synchronised, the store with a history.
	s2 := newSelftest()
	s2.linkStatus, s2.audioDevices = s.linkStatus, s.audioDevices
	s2.now, s2.synced = s.now, func() bool { return true }
	os.WriteFile(pf, []byte(strings.Replace(prof, tty.Name(), "/dev/nonexistent-elm", 1)), 0o644)
	s2.run(context.Background(), "", pf)
	out.Reset()
	s2.print(&out)
	for _, row := range []string{
		`(?m)^obd +FAIL +open /dev/nonexistent-elm: no such file`,
		`(?m)^clock +pass +2026-05-01T00:00:00Z \(after .*, synchronised\)$`,
	} {
		if !regexp.MustCompile(row).MatchString(out.String()) {
			t.Errorf("no row %s in\n%s", row, out.String())
		}
	}
}

// The packaged default configuration parses and picks the board by
// detection.
func TestPackagedConfig(t *testing.T) {
	c, err := config.Load(filepath.Join("..", "..", "..", "scripts", "debian", "evedge.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Agent.Board != board.Auto || c.Store.Dir != "/var/lib/evedge" {
		t.Errorf("board %q, store.dir %q", c.Agent.Board, c.Store.Dir)
	}
}

// `evedge run` under systemd (Type=notify): READY=1 after start, WATCHDOG=1
// at half WATCHDOG_USEC, STOPPING=1 when it stops, all on a real unixgram
// socket standing in for systemd's.
func TestRunNotifiesSystemd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "400000") // keep-alives every 200 ms
	t.Setenv("WATCHDOG_PID", "")
	var out, errb bytes.Buffer
	data := t.TempDir()
	cwd, _ := os.Getwd()
	t.Chdir(filepath.Join(cwd, "..", "..", "..")) // the sim board's files
	start := time.Now()
	if code := run([]string{"run", "--view", "off", "--for", "2s", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	el := time.Since(start)
	c.SetReadDeadline(time.Now().Add(time.Second))
	var msgs []string
	buf := make([]byte, 1024)
	for {
		n, err := c.Read(buf)
		if err != nil {
			break
		}
		msgs = append(msgs, string(buf[:n]))
	}
	if len(msgs) == 0 || !strings.HasPrefix(msgs[0], "READY=1\nSTATUS=board sim") {
		t.Fatalf("first message %q, want READY=1 with a status", msgs)
	}
	wd := 0
	for _, m := range msgs {
		if m == "WATCHDOG=1\n" {
			wd++
		}
	}
	if want := int(el / (200 * time.Millisecond)); wd < want/2 || wd > want+2 {
		t.Errorf("%d keep-alives in %v, want about %d", wd, el, want)
	}
	if last := msgs[len(msgs)-1]; last != "STOPPING=1\n" {
		t.Errorf("last message %q, want STOPPING=1", last)
	}
}
