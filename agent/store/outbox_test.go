package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

func batchIDs(t *testing.T, s *Store, n int) []int64 {
	t.Helper()
	msgs, err := s.NextBatch(n)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestOutbox(t *testing.T) {
	o := testOpts(t)
	s := openStore(t, o)
	in := []OutMsg{
		{Kind: "health", Priority: PriorityNormal, Topic: "v/1/health", Payload: []byte(`{"n":1}`)},
		{Kind: "fault", Priority: PriorityUrgent, Topic: "v/1/fault", Payload: []byte(`{"n":2}`), QoS: 1},
		{Kind: "health", Priority: PriorityNormal, Topic: "v/1/health", Payload: []byte(`{"n":3}`)},
		{Kind: "log", Priority: PriorityBulk, Topic: "v/1/log", Payload: make([]byte, 1000), Retain: true},
		{Kind: "health", Priority: PriorityUrgent, Topic: "v/1/health", Payload: []byte(`{"n":5}`)},
		{Kind: "fault", Priority: PriorityUrgent, Topic: "v/1/fault", Payload: []byte(`{"n":6}`)},
	}
	for i, m := range in {
		id, err := s.Enqueue(m)
		if err != nil || id != int64(i+1) {
			t.Fatalf("Enqueue %d = %d, %v", i, id, err)
		}
	}
	// By hand: the urgent health message 5 lifts health 1 and 3 to
	// priority 0 (they must leave before it); so 1, 2, 3, 5, 6 (priority
	// 0 by id) and then the log 4.
	want := []int64{1, 2, 3, 5, 6, 4}
	if got := batchIDs(t, s, 10); !slices.Equal(got, want) {
		t.Fatalf("NextBatch = %v, want %v", got, want)
	}
	if got := batchIDs(t, s, 2); !slices.Equal(got, want[:2]) {
		t.Fatalf("NextBatch(2) = %v, want %v", got, want[:2])
	}
	msgs, _ := s.NextBatch(10)
	if m := msgs[5]; m.Kind != "log" || m.Topic != "v/1/log" || len(m.Payload) != 1000 || !m.Retain || m.QoS != 0 || m.Priority != PriorityBulk {
		t.Errorf("message 4 = %+v", m)
	}
	// Ack 1 and 2; the acknowledgement is not committed yet but they are
	// gone from the next batch already.
	s.Ack(1, 2)
	if got := batchIDs(t, s, 10); !slices.Equal(got, []int64{3, 5, 6, 4}) {
		t.Fatalf("after Ack(1, 2): %v", got)
	}
	mustClose(t, s)

	// After a restart: the same order, the acks kept.
	s = openStore(t, o)
	if got := batchIDs(t, s, 10); !slices.Equal(got, []int64{3, 5, 6, 4}) {
		t.Fatalf("after reopen: %v", got)
	}
	s.Ack(3, 4, 5, 6, 999)
	if got := batchIDs(t, s, 10); len(got) != 0 {
		t.Fatalf("after acking all: %v", got)
	}
	mustClose(t, s)
	// Ids are never reused, even after the outbox emptied.
	s = openStore(t, o)
	defer mustClose(t, s)
	if id, _ := s.Enqueue(OutMsg{Kind: "health", Topic: "t"}); id != 7 {
		t.Fatalf("id after restart = %d, want 7", id)
	}
	// A message acked before it was committed never reaches the disk.
	s.Ack(7)
	if got := batchIDs(t, s, 10); len(got) != 0 {
		t.Fatalf("after acking an uncommitted message: %v", got)
	}
	if st := s.Stats(); st.Outbox.Rows != 0 || st.Outbox.Bytes != 0 {
		t.Errorf("outbox usage after acking all: %+v", st.Outbox)
	}
	if _, err := s.Enqueue(OutMsg{Kind: "x"}); err == nil {
		t.Error("message without topic accepted")
	}
}

func TestEvents(t *testing.T) {
	o := testOpts(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	s := openStore(t, o)
	defer mustClose(t, s)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	in := []Event{
		{Time: t0, Kind: "dtc", Severity: 2, Source: "obd", Body: []byte(`{"code":"P0A7F"}`)},
		{Time: t0.Add(time.Minute), Kind: "diagnosis", Severity: 3, Source: "diag", Body: []byte(`{"fault":"cell imbalance"}`)},
		{Time: t0.Add(2 * time.Minute), Kind: "voice", Source: "voice", Body: []byte(`{"intent":"range"}`)},
		{Time: t0.Add(time.Minute), Kind: "dtc", Severity: 1, Source: "obd"}, // same time as the diagnosis
		{Kind: "service", Source: "api", Body: []byte(`{"who":"tech"}`)},     // time from the clock
	}
	for _, ev := range in {
		if _, err := s.AddEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddEvent(Event{}); err == nil {
		t.Error("event without kind accepted")
	}
	mustFlush(t, s)
	read := func(from, to time.Time, kind string) (ids []int64) {
		it := s.Events(context.Background(), from, to, kind)
		defer it.Close()
		for it.Next() {
			ids = append(ids, it.Event().ID)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, c := range []struct {
		from, to time.Time
		kind     string
		want     []int64
	}{
		{time.Time{}, time.Time{}, "", []int64{1, 2, 4, 3, 5}}, // by time, then id
		{time.Time{}, time.Time{}, "dtc", []int64{1, 4}},
		{t0.Add(time.Minute), t0.Add(2 * time.Minute), "", []int64{2, 4}},
		{now, time.Time{}, "service", []int64{5}},
		{time.Time{}, t0, "", nil},
	} {
		if got := read(c.from, c.to, c.kind); !slices.Equal(got, c.want) {
			t.Errorf("Events(%v, %v, %q) = %v, want %v", c.from, c.to, c.kind, got, c.want)
		}
	}
	it := s.Events(context.Background(), t0, t0.Add(time.Second), "")
	if !it.Next() {
		t.Fatal(it.Err())
	}
	if ev := it.Event(); ev.Kind != "dtc" || ev.Severity != 2 || ev.Source != "obd" || string(ev.Body) != `{"code":"P0A7F"}` || !ev.Time.Equal(t0) {
		t.Errorf("event 1 = %+v", ev)
	}
	it.Close()
}
