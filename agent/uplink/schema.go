// Package uplink sends the car's health reports and fault events to the
// manufacturer's cloud over MQTT and answers its signed requests.
//
// Topic tree, per vehicle (at most 5 levels; AWS IoT Core allows 7):
//
//	evedge/v1/<vehicle>/status         retained; "online", or "offline" as the last will
//	evedge/v1/<vehicle>/health         periodic summary, QoS 1
//	evedge/v1/<vehicle>/events         each diagnosis and trouble code, QoS 1
//	evedge/v1/<vehicle>/cmd/<name>     signed requests to the car
//	evedge/v1/<vehicle>/resp/<req-id>  answers and log chunks, QoS 1
//
// Every payload is JSON with a versioned schema name, an idempotent message
// id (kept across retries, so receivers drop duplicates by id) and a
// sequence number per kind that survives restarts (gaps mean loss). Every
// outgoing message goes through the store's outbox first.
package uplink

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TopicRoot is the first level of every topic.
const TopicRoot = "evedge/v1"

// Message kinds: the last topic level, the outbox kind and the sequence.
const (
	KindStatus   = "status"
	KindHealth   = "health"
	KindEvent    = "events"
	KindResponse = "resp"
)

// Schema names of the payloads.
const (
	SchemaStatus   = "evedge.status/1"
	SchemaHealth   = "evedge.health/1"
	SchemaEvent    = "evedge.event/1"
	SchemaResponse = "evedge.response/1"
	SchemaLogChunk = "evedge.logchunk/1"
	SchemaRequest  = "evedge.request/1"
)

// MaxPayload bounds every payload (AWS IoT Core refuses over 128 KB).
const MaxPayload = 128 << 10

// Topic returns evedge/v1/<vehicle>/<parts...>.
func Topic(vehicle string, parts ...string) string {
	return TopicRoot + "/" + vehicle + "/" + strings.Join(parts, "/")
}

// ValidVehicleID reports whether id can be a topic level.
func ValidVehicleID(id string) bool {
	return id != "" && len(id) <= 64 && !strings.ContainsAny(id, "/#+ \x00")
}

// Envelope holds the fields every payload starts with.
type Envelope struct {
	Schema  string `json:"schema"`
	ID      string `json:"id"`
	Seq     int64  `json:"seq,omitempty"`
	Vehicle string `json:"vehicle"`
	Time    string `json:"time"`
}

// NewID returns a random 128-bit message id in hex.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// Stamp formats a time as payloads carry it (RFC 3339, UTC, milliseconds).
func Stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// SignedRequest is what the cloud publishes on .../cmd/<name>: the request
// body as bytes (base64 in JSON) and an ed25519 signature over exactly those
// bytes, so no JSON canonicalisation is needed.
type SignedRequest struct {
	Schema string `json:"schema"`
	Body   []byte `json:"body"`
	Sig    []byte `json:"sig"`
}

// Request is the signed body of a request to a car.
type Request struct {
	ID      string          `json:"id"`      // request id; answers go to .../resp/<id>
	Vehicle string          `json:"vehicle"` // must be this car
	Name    string          `json:"name"`    // health, logs, dtc
	Args    json.RawMessage `json:"args,omitempty"`
	Nonce   string          `json:"nonce"`
	Issued  time.Time       `json:"issued"`
	Expires time.Time       `json:"expires"`
}

// LogArgs are the arguments of a "logs" request.
type LogArgs struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Bus    *int      `json:"bus,omitempty"`
	Format string    `json:"format,omitempty"` // candump (default), gvret, asc, csv
	// FromChunk resumes an upload: chunks before it are not sent again.
	FromChunk int `json:"from_chunk,omitempty"`
}

// Sign builds a signed request (the cloud side; also used by
// `evedge fleet request` and tests).
func Sign(key ed25519.PrivateKey, r Request) ([]byte, error) {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Nonce == "" {
		r.Nonce = NewID()
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return json.Marshal(SignedRequest{Schema: SchemaRequest, Body: body, Sig: ed25519.Sign(key, body)})
}

// Request refusal reasons.
var (
	ErrUnsigned   = errors.New("request not signed")
	ErrBadSig     = errors.New("bad signature")
	ErrExpired    = errors.New("request expired")
	ErrNotYet     = errors.New("request issued in the future")
	ErrReplayed   = errors.New("request replayed")
	ErrWrongCar   = errors.New("request for another vehicle")
	ErrBadRequest = errors.New("malformed request")
)

// MaxRequestLife bounds expires - issued: a signed request cannot be made
// valid for longer.
const MaxRequestLife = 24 * time.Hour

// Verify checks a signed request's signature, vehicle and validity window
// at now (allowing skew for clocks). Replays are checked by the caller
// with the nonce (it needs persistent state).
func Verify(pub ed25519.PublicKey, vehicle string, payload []byte, now time.Time, skew time.Duration) (Request, error) {
	var sr SignedRequest
	if err := json.Unmarshal(payload, &sr); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if len(sr.Sig) == 0 || len(sr.Body) == 0 {
		return Request{}, ErrUnsigned
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, sr.Body, sr.Sig) {
		return Request{}, ErrBadSig
	}
	var r Request
	if err := json.Unmarshal(sr.Body, &r); err != nil {
		return Request{}, fmt.Errorf("%w: body: %v", ErrBadRequest, err)
	}
	switch {
	case r.ID == "" || len(r.ID) > 64 || strings.ContainsAny(r.ID, "/#+ "):
		return r, fmt.Errorf("%w: id %q", ErrBadRequest, r.ID)
	case r.Nonce == "":
		return r, fmt.Errorf("%w: no nonce", ErrBadRequest)
	case r.Vehicle != vehicle:
		return r, fmt.Errorf("%w (%q)", ErrWrongCar, r.Vehicle)
	case r.Expires.IsZero() || r.Issued.IsZero() || r.Expires.Sub(r.Issued) > MaxRequestLife || !r.Expires.After(r.Issued):
		return r, fmt.Errorf("%w: validity %s .. %s (at most %v)", ErrBadRequest, r.Issued.Format(time.RFC3339), r.Expires.Format(time.RFC3339), MaxRequestLife)
	case now.After(r.Expires.Add(skew)):
		return r, fmt.Errorf("%w at %s", ErrExpired, r.Expires.Format(time.RFC3339))
	case now.Add(skew).Before(r.Issued):
		return r, fmt.Errorf("%w: %s", ErrNotYet, r.Issued.Format(time.RFC3339))
	}
	return r, nil
}

// ParsePublicKey reads an ed25519 public key: 32 bytes in base64 or hex,
// or a PEM "PUBLIC KEY" (PKIX) block.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		return parsePEMPublic(s)
	}
	for _, dec := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString, hex.DecodeString} {
		if b, err := dec(s); err == nil && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), nil
		}
	}
	return nil, errors.New("ed25519 public key: want 32 bytes as base64 or hex, or a PEM PUBLIC KEY")
}

// ParsePrivateKey reads an ed25519 private key: the 32-byte seed or the
// 64-byte key in base64 or hex, or a PEM "PRIVATE KEY" (PKCS #8) block.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		return parsePEMPrivate(s)
	}
	for _, dec := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString, hex.DecodeString} {
		if b, err := dec(s); err == nil {
			switch len(b) {
			case ed25519.SeedSize:
				return ed25519.NewKeyFromSeed(b), nil
			case ed25519.PrivateKeySize:
				return ed25519.PrivateKey(b), nil
			}
		}
	}
	return nil, errors.New("ed25519 private key: want a 32-byte seed or 64-byte key as base64 or hex, or a PEM PRIVATE KEY")
}

// Response answers a request on .../resp/<request-id>.
type Response struct {
	Envelope
	Request string          `json:"request"`
	Name    string          `json:"name"`
	Status  string          `json:"status"` // ok, refused, error
	Error   string          `json:"error,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
}

// LogChunk carries part of a log upload on .../resp/<request-id>. The
// chunks' Data, concatenated in chunk order, is the exported log
// (Compression "zstd": a zstd stream of it).
type LogChunk struct {
	Envelope
	Request     string `json:"request"`
	Chunk       int    `json:"chunk"`  // 0, 1, 2 ...
	Chunks      int    `json:"chunks"` // total
	Last        bool   `json:"last"`
	Format      string `json:"format"` // candump, gvret, asc, csv
	Compression string `json:"compression,omitempty"`
	Frames      int64  `json:"frames,omitempty"` // in the whole upload, on the last chunk
	Data        []byte `json:"data"`
}

// Event reports one diagnosis, trouble code or agent event.
type Event struct {
	Envelope
	Kind     string          `json:"kind"`     // diagnosis, dtc, request, agent ...
	Severity int             `json:"severity"` // 1 info, 2 warning, 3 critical (GB/T 32960 levels)
	Source   string          `json:"source,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
}

// Status is the retained state of a car: online while connected, offline
// (the last will) otherwise.
type Status struct {
	Envelope
	State   string `json:"state"` // online, offline
	Version string `json:"version,omitempty"`
	Boot    string `json:"boot,omitempty"` // when the agent started
}
