package main

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/can/socketcan"
)

// fakePipeline stands in for the sources, the decode stage and the store.
type fakePipeline struct {
	now               time.Time
	received, decoded uint64
	commitSince       time.Time
	committing        bool
}

func (p *fakePipeline) health(wd time.Duration) *pipelineHealth {
	h := &pipelineHealth{now: func() time.Time { return p.now }, decodeStall: wd, commitStall: 2 * wd,
		received: func() uint64 { return p.received }, decoded: func() uint64 { return p.decoded },
		commit: func() (time.Time, bool) { return p.commitSince, p.committing }}
	h.progress = p.now
	return h
}

func TestPipelineHealth(t *testing.T) {
	const wd = 30 * time.Second // the unit's WatchdogSec
	p := &fakePipeline{now: time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)}
	h := p.health(wd)
	step := func(d time.Duration, frames, decoded uint64) error {
		p.now = p.now.Add(d)
		p.received += frames
		p.decoded += decoded
		return h.check()
	}
	// A parked car: a silent bus for an hour is healthy.
	for range 240 {
		if err := step(15*time.Second, 0, 0); err != nil {
			t.Fatalf("silent bus: %v", err)
		}
	}
	// Traffic decoded as it comes, with a backlog that keeps moving.
	for range 20 {
		if err := step(15*time.Second, 1000, 990); err != nil {
			t.Fatalf("busy bus: %v", err)
		}
	}
	// The decode stage stops: frames wait. Healthy up to WatchdogSec,
	// then not, with the count and how long.
	if err := step(15*time.Second, 500, 0); err != nil {
		t.Fatalf("after 15 s: %v", err)
	}
	if err := step(15*time.Second, 500, 0); err != nil {
		t.Fatalf("after 30 s (the bound itself): %v", err)
	}
	err := step(15*time.Second, 500, 0)
	if err == nil || !strings.Contains(err.Error(), "decode stage stalled: 1700 frames waiting, none decoded for 45s") {
		t.Fatalf("after 45 s: %v", err)
	}
	// It moves again: healthy at once.
	if err := step(15*time.Second, 0, 100); err != nil {
		t.Fatalf("moving again: %v", err)
	}
	if err := step(15*time.Second, 0, p.received-p.decoded); err != nil {
		t.Fatalf("drained: %v", err)
	}

	// A commit that writes for long (a hung eMMC): healthy up to twice
	// WatchdogSec, then not.
	p.committing, p.commitSince = true, p.now
	if err := step(45*time.Second, 0, 0); err != nil {
		t.Fatalf("commit writing 45 s: %v", err)
	}
	if err := step(15*time.Second, 0, 0); err != nil {
		t.Fatalf("commit writing 60 s (the bound): %v", err)
	}
	if err := step(time.Second, 0, 0); err == nil || !strings.Contains(err.Error(), "store commit writing for 1m1s") {
		t.Fatalf("commit writing 61 s: %v", err)
	}
	// Frames come and wait too (the store's backlog blocks the decode
	// stage): after WatchdogSec both reasons are given.
	for range 2 {
		if err := step(15*time.Second, 10, 0); err == nil || strings.Contains(err.Error(), "decode") {
			t.Fatalf("frames waiting up to 30 s: %v", err)
		}
	}
	if err := step(time.Second, 0, 0); err == nil || !strings.Contains(err.Error(), "decode stage stalled: 20 frames waiting, none decoded for 31s") ||
		!strings.Contains(err.Error(), "store commit writing for 1m32s") {
		t.Fatalf("both stalled: %v", err)
	}
	// The write completes; the pipeline catches up.
	p.committing = false
	if err := step(time.Second, 0, 10); err != nil {
		t.Fatalf("recovered: %v", err)
	}
	// A full disk: commits fail quickly, one after the other, for an hour.
	// Nothing is stuck; restarting would not help.
	for range 3600 {
		p.committing, p.commitSince = true, p.now
		p.now = p.now.Add(20 * time.Millisecond)
		p.committing = false
		if err := step(time.Second, 5, 5); err != nil {
			t.Fatalf("disk full: %v", err)
		}
	}
}

// The bounds follow WatchdogSec, with floors for units set too tight.
func TestPipelineHealthBounds(t *testing.T) {
	for _, tc := range []struct{ wd, decode, commit time.Duration }{
		{30 * time.Second, 30 * time.Second, time.Minute},
		{3 * time.Second, 5 * time.Second, 6 * time.Second},
		{2 * time.Second, 5 * time.Second, 4 * time.Second},
		{time.Second, 5 * time.Second, 4 * time.Second},
	} {
		h := newPipelineHealth(tc.wd, time.Now, nil, nil, nil)
		if h.decodeStall != tc.decode || h.commitStall != tc.commit || h.received != nil || h.commit != nil {
			t.Errorf("WatchdogSec %v: decode %v commit %v, want %v %v", tc.wd, h.decodeStall, h.commitStall, tc.decode, tc.commit)
		}
		if err := h.check(); err != nil {
			t.Errorf("nothing to check: %v", err)
		}
	}
}

func TestFDOversizeLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	l := newFDOversizeLog(2)
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	lines := func() []string {
		s := strings.TrimSpace(buf.String())
		buf.Reset()
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
	l.observe(t0, 0, 0, "can0", socketcan.Stats{Frames: 100}, log)
	if got := lines(); got != nil {
		t.Fatalf("logged without oversize frames: %q", got)
	}
	// The first one is logged at once, with the interface and the id.
	l.observe(t0.Add(time.Second), 0, 0, "can0", socketcan.Stats{FDOversize: 3, FDOversizeKey: 0x124}, log)
	got := lines()
	if len(got) != 1 || !strings.Contains(got[0], "level=WARN") || !strings.Contains(got[0], "interface=can0") ||
		!strings.Contains(got[0], "last_id=0x124") || !strings.Contains(got[0], "count=3") || !strings.Contains(got[0], "fd_oversize=3") {
		t.Fatalf("first line: %q", got)
	}
	// More within the minute: silent, on this link; the other link logs.
	for s := 2; s < 60; s++ {
		l.observe(t0.Add(time.Duration(s)*time.Second), 0, 0, "can0", socketcan.Stats{FDOversize: uint64(3 + s), FDOversizeKey: 0x125}, log)
	}
	l.observe(t0.Add(30*time.Second), 1, 1, "can1", socketcan.Stats{FDOversize: 1, FDOversizeKey: 0x18DAF110 | can.KeyExtended}, log)
	got = lines()
	if len(got) != 1 || !strings.Contains(got[0], "interface=can1") || !strings.Contains(got[0], "last_id=0x18DAF110") || !strings.Contains(got[0], "bus=1") {
		t.Fatalf("within the minute: %q", got)
	}
	// A minute after the first line: one line with the count since.
	l.observe(t0.Add(61*time.Second), 0, 0, "can0", socketcan.Stats{FDOversize: 70, FDOversizeKey: 0x7FF}, log)
	got = lines()
	if len(got) != 1 || !strings.Contains(got[0], "count=67") || !strings.Contains(got[0], "fd_oversize=70") || !strings.Contains(got[0], "last_id=0x7FF") {
		t.Fatalf("after the minute: %q", got)
	}
	// No new ones: nothing, however long; an unknown link index: nothing.
	l.observe(t0.Add(time.Hour), 0, 0, "can0", socketcan.Stats{FDOversize: 70}, log)
	l.observe(t0.Add(time.Hour), 5, 5, "can5", socketcan.Stats{FDOversize: 70}, log)
	if got := lines(); got != nil {
		t.Fatalf("logged without news: %q", got)
	}
}

// notifySocket listens as systemd does for a Type=notify unit.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1000)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close(); wg.Wait() })
	return path, ch
}

// nextNotify returns the next datagram, failing after d.
func nextNotify(t *testing.T, ch <-chan string, d time.Duration, what string) string {
	t.Helper()
	select {
	case s, ok := <-ch:
		if !ok {
			t.Fatalf("notify socket closed while waiting for %s", what)
		}
		return s
	case <-time.After(d):
		t.Fatalf("no notification within %v while waiting for %s", d, what)
		return ""
	}
}

// TestRunWatchdog runs `evedge run` on the sim board under a fake systemd
// (NOTIFY_SOCKET, WatchdogSec 2 s: keep-alives every second, a commit may
// write 4 s). It must say READY and send keep-alives
// while healthy; when the store's writer hangs (another process holds the
// database's write lock, so the commit blocks inside its write, as on a
// hung eMMC) it must stop them and say why in STATUS=, once; when the
// write completes it must resume them and restore the status line.
func TestRunWatchdog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent for about 15 s")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(wd, "../../..")
	sock, ch := notifySocket(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "2000000") // keep-alives every 1 s; commit bound 4 s
	t.Setenv("WATCHDOG_PID", "")
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "evedge.toml")
	os.WriteFile(cfg, []byte("[agent]\nstats_interval = \"1s\"\n"), 0o644)
	// From the repository root, where the sim board's files are.
	cmd, out := startAgentIn(t, root, "--view", "off", "--config", cfg, "--data", data, "--board", "sim")
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	ready := nextNotify(t, ch, 60*time.Second, "READY")
	if !strings.HasPrefix(ready, "READY=1\nSTATUS=board sim") {
		t.Fatalf("first notification %q\n%s", ready, out())
	}
	status := strings.TrimPrefix(ready, "READY=1\n") // "STATUS=board sim ...\n"
	for range 3 {
		if got := nextNotify(t, ch, 10*time.Second, "a keep-alive"); got != "WATCHDOG=1\n" {
			t.Fatalf("got %q, want keep-alives\n%s", got, out())
		}
	}
	// Wait for the database and its first commit, then hold its write lock.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(data, store.FileName)+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	lock, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("taking the write lock: %v\n%s", err, out())
	}
	locked := time.Now()
	// Keep-alives may go on for up to 4 s (the bound) plus a check
	// interval after the commit began; then the status says why, and
	// keep-alives stop. (SQLite gives up waiting for the lock after 10 s:
	// the test releases it well before.)
	var unhealthy string
	for unhealthy == "" {
		got := nextNotify(t, ch, 20*time.Second, "the store hang to be noticed")
		switch {
		case got == "WATCHDOG=1\n":
		case strings.HasPrefix(got, "STATUS=unhealthy: "):
			unhealthy = got
		default:
			t.Fatalf("unexpected %q\n%s", got, out())
		}
	}
	noticed := time.Since(locked)
	if !strings.Contains(unhealthy, "store commit writing for") || !strings.Contains(unhealthy, "keep-alives withheld") {
		t.Fatalf("status %q", unhealthy)
	}
	if noticed < 4*time.Second {
		t.Errorf("hang noticed %v after the lock, before the 4 s bound", noticed)
	}
	// Hold on past a keep-alive interval: nothing may be sent. (Not past
	// SQLite's 10 s: the commit would fail and the agent rightly be
	// healthy again. A commit began after the lock was taken, so 9.5 s
	// after it is safe.)
	if quiet := min(1200*time.Millisecond, time.Until(locked.Add(9500*time.Millisecond))); quiet > time.Second {
		select {
		case got := <-ch:
			t.Fatalf("sent %q while the writer hangs", got)
		case <-time.After(quiet):
		}
	} else {
		t.Logf("hang noticed late (%v after the lock): silence not checked", noticed)
	}
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if got := nextNotify(t, ch, 10*time.Second, "the recovery"); got != "WATCHDOG=1\n"+status {
		t.Fatalf("after the write completed: %q, want a keep-alive with the status restored\n%s", got, out())
	}
	if got := nextNotify(t, ch, 10*time.Second, "a keep-alive"); got != "WATCHDOG=1\n" {
		t.Fatalf("got %q", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent exited with %v after SIGTERM\n%s", err, out())
	}
	for got := ""; got != "STOPPING=1\n"; {
		got = nextNotify(t, ch, 10*time.Second, "STOPPING")
	}
	log := out()
	if n := strings.Count(log, "systemd watchdog: unhealthy"); n != 1 {
		t.Errorf("unhealthy logged %d times, want once\n%s", n, log)
	}
	if n := strings.Count(log, "systemd watchdog: healthy again"); n != 1 {
		t.Errorf("recovery logged %d times, want once\n%s", n, log)
	}
}

// startAgentIn starts this test binary as `evedge run args...` in dir,
// with the test's environment; out returns its log so far.
func startAgentIn(t *testing.T, dir string, args ...string) (cmd *exec.Cmd, out func() string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(exe, append([]string{"run"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "EVEDGE_TEST_MAIN=1")
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestDiskFullWatchdog: the agent under a fake systemd (WatchdogSec 2 s)
// records the real Kona log in a loop at full speed onto a 24 MiB tmpfs
// until the disk is full. Commits then fail, and fast: keep-alives must go
// on throughout (a restart would not make room), and the status must never
// turn unhealthy. Needs root for the tmpfs, like TestDiskFull.
func TestDiskFullWatchdog(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("disk-full test runs without -race and -short (make test runs it separately)")
	}
	dbc := needShared(t, "dbc/hyundai-kona-ev-pcan.dbc")
	logFile := needShared(t, "canlogs/kona-bms-precharge-relay-on.asc")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	defer exec.Command("umount", "-l", mnt).Run()
	sock, ch := notifySocket(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "2000000") // keep-alives every second
	t.Setenv("WATCHDOG_PID", "")
	cfg := filepath.Join(t.TempDir(), "evedge.toml")
	os.WriteFile(cfg, []byte("[agent]\nstats_interval = \"1s\"\n[store.quotas]\nframes = \"1GiB\"\nsignals = \"1GiB\"\n"), 0o644)
	wd, _ := os.Getwd()
	cmd, out := startAgentIn(t, wd, "--view", "off", "--config", cfg, "--data", mnt, "--replay", logFile,
		"--loop", "0", "--speed", "max", "--dbc", dbc, "--map", "../../../board/vehicles/hyundai-kona-ev.toml")
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	if got := nextNotify(t, ch, 60*time.Second, "READY"); !strings.HasPrefix(got, "READY=1\n") {
		t.Fatalf("first notification %q\n%s", got, out())
	}
	// Keep-alives until the disk has been full for 6 s (and 40 s at most).
	start := time.Now()
	var full time.Time
	var alive, aliveFull int
	for full.IsZero() || time.Since(full) < 6*time.Second {
		if time.Since(start) > 40*time.Second {
			t.Fatalf("the disk did not fill in 40 s\n%s", tail(out(), 30))
		}
		got := nextNotify(t, ch, 5*time.Second, "a keep-alive")
		if got != "WATCHDOG=1\n" {
			t.Fatalf("got %q after %v of a filling disk\n%s", got, time.Since(start).Round(time.Millisecond), tail(out(), 30))
		}
		alive++
		if !full.IsZero() {
			aliveFull++
		} else if text := out(); strings.Contains(text, "disk full") || strings.Contains(text, "no space") {
			full = time.Now()
		}
	}
	if aliveFull < 4 {
		t.Errorf("%d keep-alives in the 6 s after the disk filled, want about 6", aliveFull)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent exited with %v after SIGTERM\n%s", err, tail(out(), 30))
	}
	text := out()
	if strings.Count(text, "disk full")+strings.Count(text, "no space") == 0 {
		t.Fatalf("the disk never filled or the agent did not say so\n%s", tail(text, 30))
	}
	if strings.Contains(text, "systemd watchdog: unhealthy") {
		t.Fatalf("a full disk made the agent unhealthy\n%s", tail(text, 30))
	}
	t.Logf("%d keep-alives, %d of them in the 6 s after the disk filled (%v after the start)", alive, aliveFull, full.Sub(start).Round(time.Millisecond))
}
