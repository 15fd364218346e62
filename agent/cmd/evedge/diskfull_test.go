package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDiskFull runs the agent with its data directory on a 24 MiB tmpfs
// while the quotas add up to far more, replaying the real Kona log in a
// loop at full speed. The file system fills; the agent must keep running
// and receiving frames, say so once in its log, keep the database intact,
// and stop cleanly. Needs root to mount the tmpfs (CI runs as root).
func TestDiskFull(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("disk-full test runs without -race and -short (make test runs it separately)")
	}
	dbc := needShared(t, "dbc/hyundai-kona-ev-pcan.dbc")
	// The BMS log decoded with the map: 1 s signal summaries fill the disk
	// within seconds at full speed.
	log := needShared(t, "canlogs/kona-bms-precharge-relay-on.asc")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); the store's own disk-full tests inject SQLITE_FULL instead", err, out)
	}
	defer exec.Command("umount", "-l", mnt).Run()
	cfg := filepath.Join(t.TempDir(), "evedge.toml")
	os.WriteFile(cfg, []byte("[agent]\nstats_interval = \"200ms\"\n[store.quotas]\nframes = \"1GiB\"\nsignals = \"1GiB\"\n"), 0o644)
	cmd, prog, out := startAgent(t, "--view", "off", "--config", cfg, "--data", mnt, "--replay", log,
		"--loop", "0", "--speed", "max", "--dbc", dbc, "--map", "../../../board/vehicles/hyundai-kona-ev.toml")
	time.Sleep(12 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent exited with %v after SIGTERM\n%s", err, tail(out.String(), 30))
	}
	p := prog()
	text := out.String()
	full := strings.Count(text, "disk full") + strings.Count(text, "no space")
	if full == 0 {
		t.Fatalf("the disk never filled or the agent did not say so\n%s", tail(text, 30))
	}
	// Reported once per episode, not once per commit.
	if full > 3 {
		t.Fatalf("disk full reported %d times\n%s", full, tail(text, 30))
	}
	// Still receiving frames in the last second before the stop.
	if len(p) < 10 || p[len(p)-1].frames <= p[len(p)-6].frames {
		t.Fatalf("the agent stopped receiving frames: %v", p[max(0, len(p)-6):])
	}
	n := countFrames(t, mnt)
	if n == 0 {
		t.Fatal("nothing recorded")
	}
	t.Logf("disk full reported %d time(s); %d frames kept on a 24 MiB file system; last counter %d", full, n, p[len(p)-1].frames)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
