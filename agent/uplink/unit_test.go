package uplink

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func testKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestVerify(t *testing.T) {
	pub, priv := testKey(t)
	_, other := testKey(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	good := Request{ID: "r1", Vehicle: "car-1", Name: "health", Nonce: "n1", Issued: now.Add(-time.Minute), Expires: now.Add(4 * time.Minute)}
	sign := func(k ed25519.PrivateKey, r Request) []byte {
		b, err := Sign(k, r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if r, err := Verify(pub, "car-1", sign(priv, good), now, time.Minute); err != nil || r.ID != "r1" || r.Name != "health" {
		t.Fatalf("good request: %+v %v", r, err)
	}
	tamper := func(b []byte) []byte {
		var sr SignedRequest
		json.Unmarshal(b, &sr)
		sr.Body = []byte(strings.Replace(string(sr.Body), "health", "logs!!", 1))
		out, _ := json.Marshal(sr)
		return out
	}
	expired := good
	expired.Issued, expired.Expires = now.Add(-20*time.Minute), now.Add(-10*time.Minute)
	future := good
	future.Issued, future.Expires = now.Add(10*time.Minute), now.Add(20*time.Minute)
	long := good
	long.Expires = now.Add(48 * time.Hour)
	for name, tc := range map[string]struct {
		payload []byte
		want    error
	}{
		"other key":     {sign(other, good), ErrBadSig},
		"tampered body": {tamper(sign(priv, good)), ErrBadSig},
		"unsigned":      {[]byte(`{"schema":"evedge.request/1","body":"e30="}`), ErrUnsigned},
		"not json":      {[]byte("help"), ErrBadRequest},
		"expired":       {sign(priv, expired), ErrExpired},
		"issued later":  {sign(priv, future), ErrNotYet},
		"over 24 h":     {sign(priv, long), ErrBadRequest},
		"another car":   {sign(priv, Request{ID: "r2", Vehicle: "car-2", Name: "health", Nonce: "n", Issued: now, Expires: now.Add(time.Minute)}), ErrWrongCar},
		"id with slash": {sign(priv, Request{ID: "a/b", Vehicle: "car-1", Name: "health", Nonce: "n", Issued: now, Expires: now.Add(time.Minute)}), ErrBadRequest},
	} {
		if _, err := Verify(pub, "car-1", tc.payload, now, time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestKeysParse(t *testing.T) {
	pub, priv := testKey(t)
	b64 := "ZXZlZGdlLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmcuLi4=" // 32 bytes
	if k, err := ParsePublicKey(b64); err != nil || len(k) != 32 {
		t.Errorf("base64: %v", err)
	}
	if _, err := ParsePublicKey("c2hvcnQ="); err == nil {
		t.Error("short key accepted")
	}
	if k, err := ParsePrivateKey(strings.Repeat("ab", 32)); err != nil || len(k) != ed25519.PrivateKeySize {
		t.Errorf("hex seed: %v", err)
	}
	_ = pub
	_ = priv
}

// TestPublishCost checks the overhead model against sums worked by hand.
func TestPublishCost(t *testing.T) {
	// Topic "evedge/v1/car-1/health" (22 bytes), payload 1000 bytes, no TLS:
	// PUBLISH body 2+22+2+1000 = 1026, remaining length 2 bytes, + 1 = 1029;
	// one segment + 52 = 1081. PUBACK 4 + 52 = 56. Total 1137.
	if got := PublishCost("evedge/v1/car-1/health", 1000, false); got != 1137 {
		t.Errorf("plain: %d, want 1137", got)
	}
	// With TLS: 1029 + 29 = 1058 + 52 = 1110; PUBACK 4 + 29 + 52 = 85. 1195.
	if got := PublishCost("evedge/v1/car-1/health", 1000, true); got != 1195 {
		t.Errorf("tls: %d, want 1195", got)
	}
	// 3000-byte payload without TLS: 3029 + 2 + 1 = 3032... body 3026 ->
	// 1+2+3026 = 3029 bytes over ceil(3029/1448) = 3 segments = 3029+156 = 3185, + 56.
	if got := PublishCost("evedge/v1/car-1/health", 3000, false); got != 3241 {
		t.Errorf("3 segments: %d, want 3241", got)
	}
	// A keepalive: 2 bytes each way + 52: 108.
	if got := PingCost(false); got != 108 {
		t.Errorf("ping %d", got)
	}
}

// TestBudgetPlan works the plan out by hand for a 30 MB month.
func TestBudgetPlan(t *testing.T) {
	b := Budget{Monthly: 30_000_000, Interval: 5 * time.Minute, MaxInterval: time.Hour}
	// 1 Dec 00:00 UTC: 744 h left in December. 0.7 * 30e6 / 744 = 28,226
	// bytes/h minus 2,000 fixed = 26,226 per hour for reports; a 1,500-byte
	// report every 5 min costs 18,000 per hour: full detail at 5 min.
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if d, detail := b.Plan(start, 0, 1500, 700, 2000); d != 5*time.Minute || detail != DetailFull {
		t.Errorf("fresh month: %v %s", d, detail)
	}
	// 29 MB used by 21 Dec 00:00 (264 h left): 0.7 * 1e6 / 264 = 2,651
	// per hour - 2,000 = 651: a 700-byte compact report every 700/651 h =
	// 64.5 min, capped at 1 h.
	if d, detail := b.Plan(start.Add(480*time.Hour), 29_000_000, 1500, 700, 2000); d != time.Hour || detail != DetailCompact {
		t.Errorf("nearly spent: %v %s", d, detail)
	}
	// 27 MB used: 0.7 * 3e6 / 264 = 7,954 - 2,000 = 5,954 per hour; full
	// needs 1500/5954 h = 15.1 min > 5 min, so compact: 700/5954 h = 7.05 min.
	d, detail := b.Plan(start.Add(480*time.Hour), 27_000_000, 1500, 700, 2000)
	if detail != DetailCompact || d < 7*time.Minute || d > 7*time.Minute+5*time.Second {
		t.Errorf("tight: %v %s", d, detail)
	}
	// Over budget: the longest interval, compact.
	if d, detail := b.Plan(start.Add(480*time.Hour), 31_000_000, 1500, 700, 2000); d != time.Hour || detail != DetailCompact {
		t.Errorf("over: %v %s", d, detail)
	}
	// No budget: always the base.
	if d, detail := (&Budget{}).Plan(start, 1<<40, 1500, 700, 2000); d != 5*time.Minute || detail != DetailFull {
		t.Errorf("unlimited: %v %s", d, detail)
	}
}
