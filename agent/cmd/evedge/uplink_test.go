package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/agent/uplink/brokertest"
)

type cloudMsg struct {
	topic string
	env   uplink.Envelope
}

// TestRunUplinkOutage runs the daemon on the simulated car at 60x with an
// MQTT uplink to a real Mosquitto. The broker is killed for 8 s; during
// the outage the agent is SIGKILLed and started again on the same data
// directory; then the broker comes back. Every health report reaches the
// cloud, in order, without a gap in sequence numbers once duplicates are
// dropped by id.
func TestRunUplinkOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("about 25 s of real time")
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	b := brokertest.Start(t)
	var mu sync.Mutex
	var msgs []cloudMsg
	o := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("cloud-outage").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.Subscribe("evedge/v1/car-x/#", 1, func(_ mqtt.Client, m mqtt.Message) {
				var env uplink.Envelope
				json.Unmarshal(m.Payload(), &env)
				mu.Lock()
				msgs = append(msgs, cloudMsg{m.Topic(), env})
				mu.Unlock()
			})
		})
	cl := mqtt.NewClient(o)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer cl.Disconnect(100)

	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "evedge.toml")
	// A report every 30 simulated seconds: one per real second at 30x (not
	// 60x: under -race on a loaded 2-core machine the sim fell behind).
	os.WriteFile(cfg, []byte("[uplink]\nhealth_interval = \"30s\"\n"), 0o644)
	args := []string{"--view", "off", "--sim-speed", "30", "--data", data, "--config", cfg, "--mqtt", b.URL(), "--vehicle-id", "car-x"}
	agent1, _, log1 := startAgent(t, args...)
	time.Sleep(4 * time.Second)
	b.Kill()
	outageStart := time.Now()
	// Fixed sleeps are not enough here: under -race on a loaded 2-core
	// machine the sim ran far slower than 30x and only 2 reports were made
	// in an 8 s outage. Each phase lasts at least its nominal time and until
	// the agent has queued 2 more health reports in its own outbox.
	waitQueued := func(min time.Duration, n int) {
		start := time.Now()
		for deadline := start.Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if time.Since(start) >= min && queuedHealth(t, data) >= n {
				return
			}
		}
		t.Logf("after 30 s, %d health reports queued (wanted %d)", queuedHealth(t, data), n)
	}
	waitQueued(3*time.Second, 2)
	queued1 := queuedHealth(t, data)
	agent1.Process.Signal(syscall.SIGKILL)
	agent1.Wait()
	if os.Getenv("EVEDGE_DEBUG_OUTBOX") != "" {
		out, _ := exec.Command("sqlite3", filepath.Join(data, "evedge.db"), "select id, kind, t from outbox; select * from meta where key like 'seq:%'").CombinedOutput()
		t.Logf("outbox after SIGKILL:\n%s", out)
	}
	agent2, _, log2 := startAgent(t, args...)
	waitQueued(5*time.Second, queued1+2)
	statuses := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, m := range msgs {
			if strings.HasSuffix(m.topic, "/status") {
				n++
			}
		}
		return n
	}
	before := statuses()
	b.Restart()
	outageEnd := time.Now()
	// The agent retries with a jittered backoff that has grown during the
	// outage (up to 1.5 x 8 s here): wait for its "online" status, then let
	// it drain.
	for deadline := time.Now().Add(30 * time.Second); statuses() == before && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	health := func() []uplink.Envelope {
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]bool{}
		var out []uplink.Envelope
		for _, m := range msgs {
			if strings.HasSuffix(m.topic, "/health") && !seen[m.env.ID] {
				seen[m.env.ID] = true
				out = append(out, m.env)
			}
		}
		return out
	}
	// Let it drain and go on reporting until at least 8 reports are in
	// (under -race on a loaded 2-core machine the sim runs slower than 30x,
	// so a fixed sleep is not enough), then stop it.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if got := health(); len(got) >= 9 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	agent2.Process.Signal(syscall.SIGTERM)
	agent2.Wait()
	deadline := time.Now().Add(10 * time.Second)
	var got []uplink.Envelope
	for time.Now().Before(deadline) {
		got = health()
		if len(got) > 0 && got[len(got)-1].Seq == int64(len(got)) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) < 8 {
		var desc []string
		for _, e := range got {
			desc = append(desc, fmt.Sprintf("%d@%s", e.Seq, e.Time))
		}
		t.Fatalf("%d health reports: %v\nagent 1:\n%s\nagent 2:\n%s", len(got), desc, log1.String(), log2.String())
	}
	during := 0
	for i, e := range got {
		if e.Seq != int64(i+1) {
			t.Fatalf("report %d has seq %d: gap or reordering (seqs %v)", i, e.Seq, seqs(got))
		}
		ts, _ := time.Parse(time.RFC3339Nano, e.Time)
		if ts.After(outageStart) && ts.Before(outageEnd) {
			during++
		}
	}
	if during < 3 {
		t.Errorf("only %d reports made during the %v outage arrived", during, outageEnd.Sub(outageStart).Round(time.Second))
	}
	mu.Lock()
	total := len(msgs)
	mu.Unlock()
	t.Logf("%d health reports in order (seq 1..%d), %d made during the outage, %d messages received with duplicates", len(got), len(got), during, total)
}

// queuedHealth counts the health reports waiting in the agent's outbox,
// read from its database while it runs (WAL: readers do not block it).
func queuedHealth(t *testing.T, data string) int {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(data, store.FileName)+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM outbox WHERE kind = ?", uplink.KindHealth).Scan(&n); err != nil {
		return 0 // not created yet
	}
	return n
}

func seqs(es []uplink.Envelope) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
