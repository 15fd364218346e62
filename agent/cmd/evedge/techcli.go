package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/evedge/evedge/agent/service"
)

// agentFlags are the connection flags of the technician commands.
type agentFlags struct {
	agent, cert, key, ca, token *string
}

func addAgentFlags(fs *flag.FlagSet) agentFlags {
	return agentFlags{
		agent: fs.String("agent", "", "the car's service API, `https://HOST:PORT` (required)"),
		cert:  fs.String("cert", "", "client certificate `file` issued by the OEM CA (workshop or owner)"),
		key:   fs.String("key", "", "its private key `file`"),
		ca:    fs.String("ca", "", "CA `file` that signed the car's server certificate (default: system roots)"),
		token: fs.String("token", "", "bearer `token` instead of a client certificate (default: $EVEDGE_TOKEN)"),
	}
}

func (f agentFlags) client() (*service.Client, error) {
	if *f.agent == "" {
		return nil, usageError{errors.New("--agent is required")}
	}
	tok := *f.token
	if tok == "" && *f.cert == "" {
		tok = os.Getenv("EVEDGE_TOKEN")
	}
	c, err := service.NewClient(*f.agent, *f.cert, *f.key, *f.ca, tok)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

func cmdCerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "dev" {
		return usageError{errors.New("expected a subcommand: dev")}
	}
	fs := flag.NewFlagSet("certs dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "`directory` to write the certificates into (required)")
	days := fs.Int("days", 30, "validity in `days`")
	var hosts listFlag
	fs.Var(&hosts, "host", "extra server `name` or IP for the server certificate (repeatable; localhost and loopback are always in)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge certs dev --out DIR [--host NAME]... [--days N]")
		fmt.Fprintln(stderr, "Writes a throwaway CA, a server certificate and workshop and owner client certificates, for trials and tests.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 || *days <= 0 {
		return usageError{errors.New("--out DIR is required (and --days positive)")}
	}
	if err := service.DevCerts(*out, hosts, time.Duration(*days)*24*time.Hour); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote to %s:\n  %s, %s  the throwaway CA (clients trust it with --ca)\n  %s, %s  the car's server certificate (run --tls-dir %s)\n  %s, %s  a workshop client (may clear trouble codes)\n  %s, %s  an owner client (read only)\n",
		*out, service.CAFile, service.CAKeyFile, service.ServerCertFile, service.ServerKeyFile, *out,
		service.WorkshopCert, service.WorkshopKeyFile, service.OwnerCert, service.OwnerKeyFile)
	return nil
}

func cmdLogsPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAgentFlags(fs)
	from := fs.String("from", "", "start `time`: RFC 3339, unix seconds or -DURATION (required)")
	to := fs.String("to", "", "end `time` (default: now on the car)")
	bus := fs.Int("bus", -1, "only this bus `index`")
	format := fs.String("format", "candump", "candump, gvret, asc or csv")
	out := fs.String("o", "", "output `file` (required); an interrupted pull resumes from FILE.part")
	retries := fs.Int("retries", 5, "resume this many `times` after a broken transfer")
	quiet := fs.Bool("q", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge logs pull --agent https://HOST:PORT (--cert C --key K | --token T) --ca CA --from T [--to T] [--bus N] --format F -o FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *out == "" || *from == "" {
		return usageError{errors.New("--from and -o FILE are required")}
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	q := url.Values{"from": {*from}, "format": {*format}}
	if *to != "" {
		q.Set("to", *to)
	}
	if *bus >= 0 {
		q.Set("bus", fmt.Sprint(*bus))
	}
	var bar *progressbar.ProgressBar
	var progress func(int64)
	if !*quiet {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("pulling "+*out), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish())
		progress = func(n int64) { bar.Set64(n) }
	}
	res, err := c.Pull(ctx, q, *out, *retries, progress)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %d bytes, %s frames, %s .. %s", *out, res.Bytes, orDash(res.Frames), res.From, res.To)
	if res.Resumed > 0 {
		fmt.Fprintf(stderr, ", resumed %d times", res.Resumed)
	}
	fmt.Fprintln(stderr)
	return nil
}

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAgentFlags(fs)
	from := fs.String("from", "-24h", "start `time`")
	to := fs.String("to", "", "end `time` (default: now)")
	lang := fs.String("lang", "en", "language: en, zh, de, es or fr")
	out := fs.String("o", "", "output `file` (required), one self-contained HTML page")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge report --agent https://HOST:PORT (--cert C --key K | --token T) --ca CA [--from T --to T] [--lang de] -o report.html")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *out == "" {
		return usageError{errors.New("-o FILE is required")}
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	q := url.Values{"from": {*from}, "lang": {*lang}}
	if *to != "" {
		q.Set("to", *to)
	}
	resp, err := c.Do(ctx, "GET", "/api/v1/report", q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %d bytes\n", *out, len(b))
	return nil
}

func cmdDTC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dtc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAgentFlags(fs)
	clear := fs.Bool("clear", false, "clear the trouble codes (workshop role, vehicle at standstill)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge dtc --agent https://HOST:PORT (--cert C --key K | --token T) --ca CA [--clear]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	method, path := "GET", "/api/v1/dtc"
	if *clear {
		method, path = "POST", "/api/v1/dtc/clear"
	}
	resp, err := c.Do(ctx, method, path, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}
