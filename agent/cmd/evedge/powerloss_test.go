package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/store"
)

// statsLine matches the agent's periodic counter line.
var statsLine = regexp.MustCompile(`^time=(\S+) level=INFO msg=stats bus=0 frames=(\d+) `)

type progress struct {
	at     time.Time
	frames int64
}

// startAgent starts this test binary as `evedge run` with args and collects
// its "stats" lines (time, frames received) from stderr.
func startAgent(t *testing.T, args ...string) (*exec.Cmd, func() []progress, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"run"}, args...)...)
	cmd.Env = append(os.Environ(), "EVEDGE_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var prog []progress
	all := &strings.Builder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			all.WriteString(line + "\n")
			if m := statsLine.FindStringSubmatch(line); m != nil {
				ts, err1 := time.Parse(time.RFC3339Nano, m[1])
				n, err2 := strconv.ParseInt(m[2], 10, 64)
				if err1 == nil && err2 == nil {
					prog = append(prog, progress{ts, n})
				}
			}
			mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
	}()
	return cmd, func() []progress {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return prog
	}, all
}

func countFrames(t *testing.T, dir string) int64 {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, CommitInterval: -1})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := st.CountFrames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPowerLoss records a real log replayed at full speed with
// `evedge run --replay ... --speed max`, kills the agent with SIGKILL at
// random moments 50 times (EVEDGE_POWERLOSS_KILLS to change), and after
// every kill checks that PRAGMA integrity_check says ok, that the store
// reopens, and that every frame the agent had received more than one
// commit interval (1 s) plus the commit's own duration before the kill is
// on disk. The agent then restarts on the same data and goes on.
func TestPowerLoss(t *testing.T) {
	if raceEnabled {
		t.Skip("crash test runs without -race (make test runs it separately); the race build is too slow to reach full speed")
	}
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dbc := needShared(t, "dbc/hyundai-kona-ev-pcan.dbc")
	log := needShared(t, "canlogs/kona-bms-precharge-relay-on.asc")
	kills := 50
	if s := os.Getenv("EVEDGE_POWERLOSS_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "evedge.toml")
	if err := os.WriteFile(cfg, []byte("[agent]\nstats_interval = \"50ms\"\n[store]\ncommit_interval = \"1s\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--view", "off", "--config", cfg, "--data", data, "--replay", log, "--loop", "0",
		"--speed", "max", "--dbc", dbc, "--map", "../../../board/vehicles/hyundai-kona-ev.toml"}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	const commitInterval = time.Second
	const commitSlack = 500 * time.Millisecond
	var before int64
	var worst time.Duration
	var total int64
	for k := 0; k < kills; k++ {
		cmd, prog, out := startAgent(t, args...)
		// Kill between 0.2 and 1.7 s: before, around and after commits.
		time.Sleep(200*time.Millisecond + time.Duration(rng.Int63n(int64(1500*time.Millisecond))))
		killAt := time.Now()
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		p := prog()
		after := countFrames(t, data)
		got := after - before
		if got < 0 {
			t.Fatalf("kill %d: frames went from %d to %d", k, before, after)
		}
		// Frames received more than interval+slack before the kill.
		var need int64
		for _, pr := range p {
			if pr.at.Before(killAt.Add(-commitInterval - commitSlack)) {
				need = pr.frames
			}
		}
		if got < need {
			t.Fatalf("kill %d at %s: %d frames on disk from this run, but %d had been received %v before the kill\n%s",
				k, killAt.Format(time.RFC3339Nano), got, need, commitInterval+commitSlack, out.String())
		}
		// Measure the actual loss window: how long before the kill the
		// newest frame count already on disk was reached.
		for i := len(p) - 1; i >= 0; i-- {
			if p[i].frames <= got {
				if w := killAt.Sub(p[i].at); w > worst {
					worst = w
				}
				break
			}
		}
		total += got
		before = after
	}
	// The agent restarts on the same data once more and goes on to the end
	// of a bounded replay: 3 passes of the 879-frame log.
	cmd, _, out := startAgent(t, "--view", "off", "--config", cfg, "--data", data, "--replay", log, "--loop", "3",
		"--speed", "max", "--dbc", dbc)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("restart after %d kills: %v\n%s", kills, err, out.String())
	}
	if n := countFrames(t, data); n != before+3*879 {
		t.Fatalf("restart recorded %d frames, want 3 x 879", n-before)
	}
	t.Logf("%d kills: integrity ok every time; %d frames recorded; worst loss window %v (bound: commit interval %v + %v)",
		kills, total, worst.Round(time.Millisecond), commitInterval, commitSlack)
	fmt.Fprintf(os.Stderr, "powerloss: %d kills, worst loss window %v\n", kills, worst.Round(time.Millisecond))
}
