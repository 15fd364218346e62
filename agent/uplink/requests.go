package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/evedge/evedge/agent/store"
)

// serveRequests verifies and runs requests one at a time.
func (u *Uplink) serveRequests(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-u.reqs:
			u.handle(ctx, m.Topic(), m.Payload())
		}
	}
}

// refusal is recorded in the store's events and, when the request was
// genuinely signed, answered.
type refusal struct {
	Topic   string `json:"topic"`
	Request string `json:"request,omitempty"`
	Name    string `json:"name,omitempty"`
	Reason  string `json:"reason"`
}

// HandleRequest verifies and runs one request as if it had arrived on
// topic (for tests and local tools). It reports whether it was accepted.
func (u *Uplink) HandleRequest(ctx context.Context, topic string, payload []byte) bool {
	return u.handle(ctx, topic, payload)
}

func (u *Uplink) handle(ctx context.Context, topic string, payload []byte) bool {
	u.count(func(s *Stats) { s.Requests++ })
	name := topic[strings.LastIndexByte(topic, '/')+1:]
	refuse := func(r Request, err error, answer bool) bool {
		u.count(func(s *Stats) { s.Refused++ })
		u.o.Logger.Warn("uplink: request refused", "topic", topic, "request", r.ID, "reason", err)
		body, _ := json.Marshal(refusal{Topic: topic, Request: r.ID, Name: r.Name, Reason: err.Error()})
		if _, e := u.o.Store.AddEvent(store.Event{Kind: "request-refused", Severity: 2, Source: "uplink", Body: body}); e != nil {
			u.o.Logger.Error("uplink: recording a refused request", "err", e)
		}
		// Only a request the OEM really signed gets an answer: forged ones
		// must not make the car publish (or spend its data plan).
		if answer {
			if e := u.Respond(r, "refused", err.Error(), nil); e != nil {
				u.o.Logger.Error("uplink: answering a refused request", "request", r.ID, "err", e)
			}
		}
		return false
	}
	if u.o.RequestKey == nil {
		return refuse(Request{Name: name}, errors.New("no request key configured: remote requests are disabled"), false)
	}
	r, err := Verify(u.o.RequestKey, u.o.Vehicle, payload, u.o.Now(), u.o.Skew)
	if err != nil {
		signed := errors.Is(err, ErrExpired) || errors.Is(err, ErrNotYet) || errors.Is(err, ErrWrongCar)
		return refuse(r, err, signed && r.ID != "" && !errors.Is(err, ErrWrongCar))
	}
	if r.Name != name {
		return refuse(r, fmt.Errorf("%w: signed for %q, sent to cmd/%s", ErrBadRequest, r.Name, name), true)
	}
	fresh, err := u.o.Store.UseNonce(r.Nonce, r.Expires.Add(u.o.Skew))
	if err != nil {
		return refuse(r, fmt.Errorf("recording the nonce: %w", err), true)
	}
	if !fresh {
		return refuse(r, ErrReplayed, false)
	}
	h := u.o.Handlers[r.Name]
	if h == nil {
		return refuse(r, fmt.Errorf("unknown request %q", r.Name), true)
	}
	u.o.Logger.Info("uplink: request", "name", r.Name, "id", r.ID)
	body, err := h(ctx, u, r)
	if err != nil {
		if e := u.Respond(r, "error", err.Error(), body); e != nil {
			u.o.Logger.Error("uplink: answering a failed request", "request", r.ID, "err", e)
		}
		return true
	}
	if body != nil {
		if err := u.Respond(r, "ok", "", body); err != nil {
			u.o.Logger.Error("uplink: answering", "request", r.ID, "err", err)
		}
	}
	return true
}
