package service

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Client is the technician's side of the API.
type Client struct {
	Base  string // https://host:port
	Token string // bearer token, when no client certificate
	HTTP  *http.Client
}

// NewClient connects to agent (https://HOST:PORT) with a client
// certificate (cert and key files) or a bearer token, verifying the
// agent's certificate with the CA file (empty: system roots).
func NewClient(agent, certFile, keyFile, caFile, token string) (*Client, error) {
	u, err := url.Parse(agent)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--agent %q: want https://HOST:PORT", agent)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := LoadCAPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("--cert and --key go together")
	}
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if certFile == "" && token == "" {
		return nil, errors.New("give a client certificate (--cert, --key) or a --token")
	}
	tr := &http.Transport{TLSClientConfig: cfg, ResponseHeaderTimeout: 60 * time.Second, ForceAttemptHTTP2: true}
	return &Client{Base: strings.TrimRight(agent, "/"), Token: token, HTTP: &http.Client{Transport: tr}}, nil
}

// APIError is an error answer of the agent.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string { return fmt.Sprintf("agent answered %d: %s", e.Status, e.Msg) }

// Do sends a request and returns the response when its status is 2xx;
// otherwise an *APIError with the agent's message.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, hdr http.Header) (*http.Response, error) {
	return c.send(ctx, method, path, q, hdr, nil)
}

// send is Do with a request body (nil: none).
func (c *Client) send(ctx context.Context, method, path string, q url.Values, hdr http.Header, body []byte) (*http.Response, error) {
	u := c.Base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e struct{ Error string }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return nil, &APIError{Status: resp.StatusCode, Msg: e.Error}
	}
	return resp, nil
}

// GetJSON decodes a JSON answer into v.
func (c *Client) GetJSON(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := c.Do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// PullState is a partial download's sidecar (FILE.part.json): the query
// with the window the agent fixed, so that a resume asks for the same
// bytes.
type PullState struct {
	Agent string     `json:"agent"`
	Query url.Values `json:"query"`
}

// PullResult describes a finished pull.
type PullResult struct {
	Bytes   int64
	Frames  string // X-Evedge-Frames trailer ("" when the agent sent none)
	Resumed int    // how many times the download resumed
	From    string
	To      string
}

// Pull downloads /api/v1/logs for q into out, through out.part: an
// interrupted download (network cut, Ctrl-C, a crash) resumes from the
// bytes already in out.part, in this call (up to retries times) or the
// next one with the same query. progress, when set, is told the bytes
// written so far.
func (c *Client) Pull(ctx context.Context, q url.Values, out string, retries int, progress func(int64)) (PullResult, error) {
	part, side := out+".part", out+".part.json"
	var res PullResult
	st := PullState{Agent: c.Base, Query: q}
	if b, err := os.ReadFile(side); err == nil {
		var old PullState
		if json.Unmarshal(b, &old) == nil && old.Agent == c.Base && sameExceptTo(old.Query, q) {
			st = old // resume the earlier pull: same window as the agent fixed it
		} else {
			os.Remove(part)
		}
	} else {
		os.Remove(part)
	}
	for attempt := 0; ; attempt++ {
		n, trailer, err := c.pullOnce(ctx, &st, part, side, progress)
		res.Bytes = n
		if err == nil {
			res.Frames = trailer
			res.From, res.To = st.Query.Get("from"), st.Query.Get("to")
			os.Remove(side)
			return res, os.Rename(part, out)
		}
		var api *APIError
		if errors.As(err, &api) || ctx.Err() != nil || attempt >= retries {
			return res, fmt.Errorf("%w (partial download kept in %s; run the same command again to resume)", err, part)
		}
		res.Resumed++
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(time.Duration(min(attempt+1, 5)) * time.Second):
		}
	}
}

func sameExceptTo(a, b url.Values) bool {
	for _, k := range []string{"from", "bus", "format"} {
		if a.Get(k) != b.Get(k) {
			return false
		}
	}
	return b.Get("to") == "" || a.Get("to") == b.Get("to")
}

func (c *Client) pullOnce(ctx context.Context, st *PullState, part, side string, progress func(int64)) (int64, string, error) {
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, "", err
	}
	hdr := http.Header{}
	if have > 0 {
		hdr.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.Do(ctx, http.MethodGet, "/api/v1/logs", st.Query, hdr)
	if err != nil {
		return have, "", err
	}
	defer resp.Body.Close()
	if have > 0 && resp.StatusCode != http.StatusPartialContent {
		// The agent ignored the range: start over.
		if err := f.Truncate(0); err != nil {
			return 0, "", err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, "", err
		}
		have = 0
	}
	// Fix the window as the agent cut it, for resuming.
	if from, to := resp.Header.Get("X-Evedge-From"), resp.Header.Get("X-Evedge-To"); to != "" && from != "" {
		q := url.Values{}
		for k, v := range st.Query {
			q[k] = v
		}
		q.Set("from", from)
		q.Set("to", to)
		st.Query = q
	}
	if b, err := json.Marshal(st); err == nil {
		os.WriteFile(side, b, 0o644)
	}
	buf := make([]byte, 64<<10)
	n := have
	for {
		if err := ctx.Err(); err != nil {
			return n, "", err
		}
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if _, err := f.Write(buf[:k]); err != nil {
				return n, "", err
			}
			n += int64(k)
			if progress != nil {
				progress(n)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, "", rerr
		}
	}
	if err := f.Sync(); err != nil {
		return n, "", err
	}
	return n, resp.Trailer.Get("X-Evedge-Frames"), nil
}
