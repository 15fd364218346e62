package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// The crash test re-executes the test binary as a writer (TestCrashChild)
// and kills it with SIGKILL at random moments.
const (
	crashDirEnv = "EVEDGE_STORE_CRASH_DIR" // the child's store folder
	crashSeqEnv = "EVEDGE_STORE_CRASH_SEQ" // the first sequence number to write
	crashCommit = 50 * time.Millisecond    // the child's CommitInterval
	crashBase   = int64(1_700_000_000) * 1e9
)

// crashFrame is frame number seq: 1 us apart, over 4 buses and 32 ids,
// with seq in its payload.
func crashFrame(seq int64) can.Frame {
	f := can.Frame{Time: crashBase + seq*1000, Bus: uint8(seq % 4), ID: uint32(0x100 + seq%32), Len: 8}
	binary.LittleEndian.PutUint64(f.Data[:], uint64(seq))
	return f
}

// TestCrashChild is the writer TestCrash kills. It writes frames (and some
// signals, events and messages) at full speed with background commits
// every crashCommit, and reports on stdout "R" once open, "A seq unixns"
// after appending up to seq, and "C seq unixns" once frames up to seq are
// committed, with a time before which that commit ended.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	seq, _ := strconv.ParseInt(os.Getenv(crashSeqEnv), 10, 64)
	first := seq
	s, err := Open(Options{Dir: dir, CommitInterval: crashCommit})
	if err != nil {
		fmt.Printf("E %v\n", err)
		os.Exit(2)
	}
	out := bufio.NewWriterSize(os.Stdout, 4096)
	fmt.Fprintln(out, "R")
	out.Flush()
	var committed uint64
	lastLook := time.Now().UnixNano()
	batch := make([]can.Frame, 256)
	for {
		for i := range batch {
			batch[i] = crashFrame(seq + int64(i))
		}
		if err := s.AppendFrames(batch); err != nil {
			fmt.Fprintf(out, "E %v\n", err)
			out.Flush()
			os.Exit(2)
		}
		seq += int64(len(batch))
		f := batch[len(batch)-1]
		s.AddValue("Vehicle.Speed", f.Time, float64(seq%1000))
		if seq%8192 == 0 {
			s.AddEvent(Event{Time: time.Unix(0, f.Time), Kind: "crash-test", Body: []byte(`{}`)})
			s.Enqueue(OutMsg{Kind: "health", Topic: "t", Payload: []byte(strconv.FormatInt(seq, 10))})
		}
		fmt.Fprintf(out, "A %d %d\n", seq-1, time.Now().UnixNano())
		// A commit seen now ended after the previous look: report that
		// time, a lower bound of when the next commit can begin.
		now := time.Now().UnixNano()
		if c := s.Stats().FramesCommitted; c != committed {
			committed = c
			fmt.Fprintf(out, "C %d %d\n", first+int64(c)-1, lastLook)
		}
		lastLook = now
		out.Flush()
	}
}

// TestCrash kills a writing child at random moments and checks after each
// kill that the database is intact (integrity_check), opens, and holds,
// without a gap, every frame reported committed and every frame appended
// before the start of the last commit: that is, what a kill loses was
// appended within one commit cycle (the interval plus the commit's own
// time) before it. 50 kills by default (about 10 s), 500 with
// EVEDGE_STORE_LONG=1.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	kills := 50
	if os.Getenv("EVEDGE_STORE_LONG") != "" {
		kills = 500
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var next int64 // first sequence number the next child writes
	var lost, maxLostFrames int64
	var maxLossWindow time.Duration
	midCommit, longer := 0, 0
	for round := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashSeqEnv+"="+strconv.FormatInt(next, 10))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Read the child's reports: append times by seq, last commit.
		var mu sync.Mutex
		type app struct {
			seq int64
			at  int64
		}
		var appends []app
		var commits []int64 // times of the commit reports
		committed := next - 1
		ready := make(chan struct{})
		done := make(chan struct{})
		var childErr string
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				f := strings.Fields(line)
				if len(f) == 0 {
					continue
				}
				mu.Lock()
				switch f[0] {
				case "R":
					close(ready)
				case "A":
					if len(f) == 3 {
						seq, _ := strconv.ParseInt(f[1], 10, 64)
						at, _ := strconv.ParseInt(f[2], 10, 64)
						appends = append(appends, app{seq, at})
					}
				case "C":
					if len(f) == 3 {
						committed, _ = strconv.ParseInt(f[1], 10, 64)
						at, _ := strconv.ParseInt(f[2], 10, 64)
						commits = append(commits, at)
					}
				case "E":
					childErr = line
				}
				mu.Unlock()
			}
		}()
		select {
		case <-ready:
		case <-done:
			cmd.Wait()
			t.Fatalf("round %d: the child ended before it was ready: %s", round, childErr)
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: the child did not start", round)
		}
		time.Sleep(time.Duration(20+rng.IntN(180)) * time.Millisecond)
		killedAt := time.Now().UnixNano()
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		<-done
		cmd.Wait()
		mu.Lock()
		if childErr != "" {
			t.Fatalf("round %d: child: %s", round, childErr)
		}
		// The last commit began after the one before it ended: frames
		// appended before that are in it, whatever the reports say.
		mustHave := committed
		cycleStart := int64(0)
		if n := len(commits); n >= 2 {
			cycleStart = commits[n-2]
		}
		for _, a := range appends {
			if a.at <= cycleStart && a.seq > mustHave {
				mustHave = a.seq
			}
		}
		appended := next - 1
		if n := len(appends); n > 0 {
			appended = appends[n-1].seq
		}
		mu.Unlock()

		if r := integrity(t, dir); r != "ok" {
			t.Fatalf("round %d: integrity_check: %s", round, r)
		}
		s, err := Open(Options{Dir: dir, CommitInterval: -1})
		if err != nil {
			t.Fatalf("round %d: Open after SIGKILL: %v", round, err)
		}
		// This child's frames, in order, without a gap.
		it := s.Frames(t.Context(), time.Unix(0, crashFrame(next).Time), time.Time{}, -1)
		want := next
		for it.Next() {
			if f := it.Frame(); f != crashFrame(want) {
				it.Close()
				s.Close()
				t.Fatalf("round %d: frame %+v, want %+v (seq %d)", round, f, crashFrame(want), want)
			}
			want++
		}
		if err := it.Close(); err != nil {
			s.Close()
			t.Fatalf("round %d: %v", round, err)
		}
		present := want - 1
		if present < mustHave {
			s.Close()
			t.Fatalf("round %d: frames up to %d present; %d were committed (reported %d) or appended before the last commit began", round, present, mustHave, committed)
		}
		// How much the kill lost, and how long before the kill the first
		// lost frame was appended.
		lost += appended - present
		maxLostFrames = max(maxLostFrames, appended-present)
		for _, a := range appends {
			if a.seq > present {
				w := time.Duration(killedAt - a.at)
				maxLossWindow = max(maxLossWindow, w)
				if w > crashCommit {
					longer++
				}
				break
			}
		}
		if present > committed {
			midCommit++ // killed after a commit but before it was reported
		}
		// Writing goes on: the next child continues, through Open, from
		// here.
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		next = present + 1
	}
	t.Logf("%d SIGKILLs: integrity ok and reopened every time; %d frames written and kept; lost %d frames in all (at most %d, appended at most %v before a kill; commit interval %v, exceeded by the commit's own time in %d kills); %d kills between a commit and its report",
		kills, next, lost, maxLostFrames, maxLossWindow.Round(time.Millisecond), crashCommit, longer, midCommit)
}
