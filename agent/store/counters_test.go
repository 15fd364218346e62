package store

import (
	"fmt"
	"testing"
	"time"
)

func TestSequencesCountersNonces(t *testing.T) {
	dir := t.TempDir()
	open := func() *Store {
		s, err := Open(Options{Dir: dir, CommitInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	enq := func(s *Store, kind string) int64 {
		_, n, err := s.EnqueueSeq(OutMsg{Kind: kind, Topic: "t/" + kind, QoS: 1}, kind, func(seq int64) ([]byte, error) {
			return []byte(fmt.Sprintf(`{"seq":%d}`, seq)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for want := int64(1); want <= 3; want++ {
		if n := enq(s, "health"); n != want {
			t.Fatalf("health seq %d, want %d", n, want)
		}
	}
	if n := enq(s, "event"); n != 1 {
		t.Fatalf("event seq %d, want 1 (own sequence)", n)
	}
	if _, err := s.AddCounter("bytes", 1000); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.AddCounter("bytes", 234); v != 1234 {
		t.Fatalf("counter %d", v)
	}
	exp := time.Now().Add(time.Hour)
	if fresh, err := s.UseNonce("n-1", exp); err != nil || !fresh {
		t.Fatalf("first nonce: %v %v", fresh, err)
	}
	if fresh, _ := s.UseNonce("n-1", exp); fresh {
		t.Fatal("replayed nonce accepted")
	}
	// Payloads carry their numbers; the batch keeps them in order.
	msgs, err := s.NextBatch(10)
	if err != nil || len(msgs) != 4 || string(msgs[2].Payload) != `{"seq":3}` {
		t.Fatalf("batch %v %v", msgs, err)
	}
	for _, m := range msgs {
		s.Ack(m.ID)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// After a restart with an empty outbox, numbers go on; the counter and
	// the nonce are still there.
	s = open()
	defer s.Close()
	if n := enq(s, "health"); n != 4 {
		t.Fatalf("health seq after reopen %d, want 4", n)
	}
	if v, _ := s.Counter("bytes"); v != 1234 {
		t.Fatalf("counter after reopen %d", v)
	}
	if fresh, _ := s.UseNonce("n-1", exp); fresh {
		t.Fatal("nonce forgotten across a restart")
	}
	if n, _ := s.Seq("event"); n != 1 {
		t.Fatalf("event seq %d", n)
	}
	// An expired nonce is forgotten by ExpireNonces.
	if fresh, _ := s.UseNonce("n-old", time.Now().Add(-time.Second)); !fresh {
		t.Fatal("new nonce refused")
	}
	if err := s.ExpireNonces(time.Now()); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := s.meta(metaNoncePrefix + "n-old"); v != 0 {
		t.Errorf("expired nonce kept: %d", v)
	}
	if v, _, _ := s.meta(metaNoncePrefix + "n-1"); v == 0 {
		t.Error("live nonce dropped")
	}
}
