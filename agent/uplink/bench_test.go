package uplink_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/agent/uplink/brokertest"
)

// BenchmarkDrain measures how fast a full outbox empties into a local
// Mosquitto: 1 KB messages (the size of a health report), QoS 1, in order.
// One op is one message; see msgs/s.
func BenchmarkDrain(b *testing.B) {
	br := brokertest.Start(b)
	st, err := store.Open(store.Options{Dir: b.TempDir(), CommitInterval: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	payload := bytes.Repeat([]byte("x"), 1000)
	topic := uplink.Topic("bench", uplink.KindHealth)
	for i := 0; i < b.N; i++ {
		if _, err := st.Enqueue(store.OutMsg{Kind: uplink.KindHealth, Priority: store.PriorityNormal, Topic: topic, Payload: payload, QoS: 1}); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		b.Fatal(err)
	}
	u, err := uplink.New(uplink.Options{Broker: br.URL(), Vehicle: "bench", Store: st})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	c := runUplink(u)
	for u.Stats().Published < uint64(b.N)+1 { // + the status message
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	c()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
}
