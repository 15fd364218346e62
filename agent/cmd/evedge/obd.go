package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evedge/evedge/drivers/can/socketcan"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/isotpcan"
)

const obdUsage = `Usage: evedge obd [flags] COMMAND [ARGS]

Commands (an ELM327 adapter on --port, or ISO-TP on a SocketCAN bus with --can):
  info               adapter, protocol and 12 V battery voltage
  pids               service 01 PIDs each ECU supports
  read PID...        read service 01 PIDs (0C, 010C or 0x0C; at most 6 per request)
  dtc                stored, pending and permanent trouble codes with descriptions
  vin                vehicle identification number
  watch              poll the --signalset commands (and --pids) until interrupted
  clear --confirm    clear trouble codes (service 04): only at standstill
  decode CASE.yaml...  decode OBDb test-case files with --signalset; one JSON line per case
  sim [--link PATH]  serve an ELM327 simulator for the simulated car on a pty (for trials)

Flags:
`

type obdFlags struct {
	port      string
	canIf     string
	baud      int
	protocol  string
	json      bool
	signalset string
	timeout   time.Duration
	forDur    time.Duration
	year      int
	pids      listFlag
	confirm   bool
	guard     string
	uds       listFlag
	verbose   bool
}

func cmdOBD(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "sim" {
		return cmdOBDSim(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("obd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f obdFlags
	fs.StringVar(&f.port, "port", "", "serial `device` of the ELM327 adapter (/dev/ttyUSB0, /dev/rfcomm0, a pty)")
	fs.StringVar(&f.canIf, "can", "", "use ISO-TP directly on this SocketCAN `interface` (can0) instead of an adapter")
	fs.IntVar(&f.baud, "baud", 38400, "serial speed; other common speeds are tried when the adapter does not answer")
	fs.StringVar(&f.protocol, "protocol", "0", "ELM327 protocol: 0 automatic, 6 CAN 11-bit 500k, 7 CAN 29-bit 500k, 8/9 at 250k")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.StringVar(&f.signalset, "signalset", "", "OBDb signalset `file` (JSON) describing the vehicle's manufacturer PIDs")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "time limit for one request")
	fs.DurationVar(&f.forDur, "for", 0, "watch: stop after this `duration` (default: until interrupted)")
	fs.IntVar(&f.year, "year", 0, "model `year` selecting signalset commands (default all)")
	fs.Var(&f.pids, "pids", "watch: service 01 `PIDs` to poll too (comma-separated hex, e.g. 0D,5B,42)")
	fs.StringVar(&f.guard, "guard", "none", "watch: voltage = poll only while the 12 V level shows the car awake (as the daemon does); none = a technician is present")
	fs.Var(&f.uds, "uds", "dtc: also read UDS trouble codes (19 02) from these ECU request `ids` (e.g. 7E4,7A0 or 18DA10F1)")
	fs.BoolVar(&f.confirm, "confirm", false, "clear: confirm that trouble codes may be erased")
	fs.BoolVar(&f.verbose, "v", false, "log adapter events to stderr")
	fs.Usage = func() {
		fmt.Fprint(stderr, obdUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageError{errors.New("no command given")}
	}
	sub, rest := pos[0], pos[1:]
	if sub == "decode" {
		return obdDecode(f, rest, stdout, stderr)
	}
	if (f.port == "") == (f.canIf == "") {
		return usageError{errors.New("give --port DEVICE (ELM327 adapter) or --can INTERFACE (SocketCAN)")}
	}
	var set *obd.Signalset
	if f.signalset != "" {
		if set, err = obd.LoadSignalset(f.signalset); err != nil {
			return err
		}
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var (
		tr  obd.Transport
		elm *obd.ELM327
	)
	if f.port != "" {
		elm, err = obd.OpenELM327(ctx, f.port, obd.ELMOptions{Baud: f.baud, Protocol: f.protocol, Timeout: f.timeout, Logger: logger})
		if err != nil {
			return err
		}
		tr = elm
	} else {
		conn, err := socketcan.Open(ctx, f.canIf, 0)
		if err != nil {
			return err
		}
		tr = isotpcan.New(conn, conn, isotpcan.WithCloseSource())
	}
	defer tr.Close()
	c := &obd.Client{T: tr, Extended: f.protocol == "7" || f.protocol == "9"}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	switch sub {
	case "info":
		if elm == nil {
			return usageError{errors.New("info needs an adapter (--port)")}
		}
		err = obdInfo(ctx, f, elm, c, out)
	case "pids":
		err = obdPIDs(ctx, f, c, out)
	case "read":
		err = obdRead(ctx, f, c, rest, out)
	case "dtc":
		err = obdDTC(ctx, f, c, out)
	case "vin":
		err = obdVIN(ctx, f, c, out)
	case "watch":
		err = obdWatch(ctx, f, tr, elm, set, out, logger)
	case "clear":
		err = obdClear(ctx, f, c, out)
	default:
		return usageError{fmt.Errorf("unknown obd command %q", sub)}
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func obdInfo(ctx context.Context, f obdFlags, elm *obd.ELM327, c *obd.Client, w io.Writer) error {
	// One request makes an automatic adapter find the car's protocol.
	_, perr := c.SupportedPIDs(ctx)
	info := elm.Info()
	if v, err := elm.Voltage(ctx); err == nil {
		info.Voltage = v
	}
	if f.json {
		type out struct {
			obd.ELMInfo
			Connected bool   `json:"vehicle_connected"`
			Error     string `json:"error,omitempty"`
		}
		o := out{ELMInfo: info, Connected: perr == nil}
		if perr != nil {
			o.Error = perr.Error()
		}
		return writeJSON(w, o)
	}
	fmt.Fprintf(w, "adapter   %s (%s) on %s at %d baud\n", info.Version, info.Device, info.Port, info.Baud)
	fmt.Fprintf(w, "protocol  %s\n", orDash(info.Protocol))
	fmt.Fprintf(w, "12 V      %.1f V\n", info.Voltage)
	if perr != nil {
		fmt.Fprintf(w, "vehicle   not answering: %v\n", perr)
	} else {
		fmt.Fprintln(w, "vehicle   answering")
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func hexList(b []byte) []string {
	out := make([]string, len(b))
	for i, v := range b {
		out[i] = fmt.Sprintf("%02X", v)
	}
	return out
}

func obdPIDs(ctx context.Context, f obdFlags, c *obd.Client, w io.Writer) error {
	ecus, err := c.SupportedPIDs(ctx)
	if err != nil {
		return err
	}
	if f.json {
		m := map[string][]string{}
		for _, e := range ecus {
			m[e.Name] = hexList(e.PIDs)
		}
		return writeJSON(w, map[string]any{"pids": m})
	}
	j := obd.J1979()
	for _, e := range ecus {
		fmt.Fprintf(w, "ECU %s: %d PIDs\n", e.Name, len(e.PIDs))
		for _, p := range e.PIDs {
			name := ""
			if cmd := j.Command(fmt.Sprintf("7DF.01%02X", p)); cmd != nil && len(cmd.Signals) > 0 {
				name = cmd.Signals[0].Name
				if len(cmd.Signals) > 1 {
					name += fmt.Sprintf(" (+%d)", len(cmd.Signals)-1)
				}
			}
			fmt.Fprintf(w, "  %02X  %s\n", p, name)
		}
	}
	return nil
}

// parsePIDArgs accepts "0C", "010C", "0x0C" and comma lists.
func parsePIDArgs(args []string) ([]byte, error) {
	var out []byte
	for _, a := range args {
		for _, p := range strings.Split(a, ",") {
			p = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(p), "0x"), "0X")
			if p == "" {
				continue
			}
			if len(p) == 4 {
				if !strings.HasPrefix(p, "01") {
					return nil, fmt.Errorf("PID %q: only service 01 PIDs can be read (01xx)", p)
				}
				p = p[2:]
			}
			if len(p) != 2 {
				return nil, fmt.Errorf("PID %q: want 2 hex digits (0C) or service and PID (010C)", p)
			}
			v, err := strconv.ParseUint(p, 16, 8)
			if err != nil {
				return nil, fmt.Errorf("PID %q: not hex", p)
			}
			out = append(out, byte(v))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no PID given")
	}
	return out, nil
}

type jsonValue struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Value any    `json:"value"`
	Unit  string `json:"unit,omitempty"`
	PID   string `json:"pid,omitempty"`
	ECU   string `json:"ecu,omitempty"`
	Null  bool   `json:"unavailable,omitempty"`
}

func valueJSON(v obd.Value) jsonValue {
	j := jsonValue{ID: v.Signal.ID, Name: v.Signal.Name, Value: v.JSON(), Unit: v.Signal.Fmt.Unit, Null: v.Null}
	if c := v.Signal.Command(); c != nil {
		j.PID = fmt.Sprintf("%02X%X", c.Service(), c.Param())
	}
	return j
}

func formatValue(v obd.Value) string {
	if v.Enum {
		if v.Str == "" {
			return fmt.Sprintf("%v (not in table)", v.Num)
		}
		return v.Str
	}
	s := strconv.FormatFloat(math.Round(v.Num*1000)/1000, 'f', -1, 64)
	if u := v.Signal.Fmt.Unit; u != "" && u != "scalar" {
		s += " " + u
	}
	if v.Null {
		s += " (unavailable)"
	}
	return s
}

func obdRead(ctx context.Context, f obdFlags, c *obd.Client, args []string, w io.Writer) error {
	pids, err := parsePIDArgs(args)
	if err != nil {
		return usageError{err}
	}
	d, rs, err := c.ReadPIDs(ctx, pids)
	if err != nil {
		return err
	}
	if f.json {
		// Decode per answer, so that each value names the ECU that sent it
		// (several ECUs may answer the same PID).
		vals := make([]jsonValue, 0, len(d.Values))
		for _, r := range rs {
			for _, v := range (*obd.Signalset)(nil).DecodeResponses(nil, []obd.Response{r}).Values {
				j := valueJSON(v)
				j.ECU = ecuName(r.ID)
				vals = append(vals, j)
			}
		}
		o := map[string]any{"values": vals}
		if len(d.Problems) > 0 {
			o["problems"] = d.Problems
		}
		return writeJSON(w, o)
	}
	for _, r := range rs {
		for _, v := range (*obd.Signalset)(nil).DecodeResponses(nil, []obd.Response{r}).Values {
			fmt.Fprintf(w, "%-4s %-14s %-45s %s\n", ecuName(r.ID), v.Signal.ID, v.Signal.Name, formatValue(v))
		}
	}
	for _, p := range d.Problems {
		fmt.Fprintln(w, "problem:", p)
	}
	return nil
}

func ecuName(id uint32) string {
	switch {
	case id == 0:
		return ""
	case id > 0x7FF:
		return fmt.Sprintf("%08X", id)
	}
	return fmt.Sprintf("%03X", id)
}

// udsDTC is a UDS trouble code with the ECU that reported it.
type udsDTC struct {
	ECU         string   `json:"ecu"`
	Code        string   `json:"code"`
	Description string   `json:"description"`
	Status      []string `json:"status"`
}

func obdDTC(ctx context.Context, f obdFlags, c *obd.Client, w io.Writer) error {
	rep, err := c.DTCs(ctx)
	if err != nil && len(f.uds) == 0 {
		return err
	}
	if rep == nil {
		rep = &obd.DTCReport{}
	}
	uds := []udsDTC{}
	for _, id := range f.uds {
		tx, err := strconv.ParseUint(strings.TrimPrefix(id, "0x"), 16, 32)
		if err != nil || (len(id) != 3 && len(id) != 8) {
			return usageError{fmt.Errorf("--uds %q: want a 3- or 8-digit hex request id", id)}
		}
		ext := len(id) == 8
		ds, err := obd.ReadUDSDTCs(ctx, c.T, uint32(tx), obd.ResponseID(uint32(tx), ext), ext, 0xFF)
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("UDS 19 02 to %s: %v", id, err))
			continue
		}
		for _, d := range ds {
			uds = append(uds, udsDTC{ECU: strings.ToUpper(id), Code: d.String(), Description: d.Description(), Status: d.StatusNames()})
		}
	}
	if f.json {
		if len(f.uds) == 0 {
			return writeJSON(w, rep)
		}
		return writeJSON(w, struct {
			*obd.DTCReport
			UDS []udsDTC `json:"uds"`
		}{rep, uds})
	}
	if len(f.uds) > 0 {
		defer func() {
			fmt.Fprintf(w, "uds: %d\n", len(uds))
			for _, d := range uds {
				fmt.Fprintf(w, "  %s  %s  %s  [%s]\n", d.ECU, d.Code, d.Description, strings.Join(d.Status, ", "))
			}
		}()
	}
	if f.json {
		return writeJSON(w, rep)
	}
	for _, s := range []struct {
		name string
		l    []obd.ECUDTC
	}{{"stored", rep.Stored}, {"pending", rep.Pending}, {"permanent", rep.Permanent}} {
		fmt.Fprintf(w, "%s: %d\n", s.name, len(s.l))
		for _, d := range s.l {
			fmt.Fprintf(w, "  %s  %s  %s\n", d.ECU, d.Code, d.Description)
		}
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(w, "problem:", p)
	}
	return nil
}

func obdVIN(ctx context.Context, f obdFlags, c *obd.Client, w io.Writer) error {
	vin, ecu, err := c.VIN(ctx)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(w, map[string]string{"vin": vin, "ecu": ecu})
	}
	fmt.Fprintln(w, vin)
	return nil
}

func obdClear(ctx context.Context, f obdFlags, c *obd.Client, w io.Writer) error {
	gate := &obd.StandstillGate{Client: c, Authorised: func(context.Context) error {
		if !f.confirm {
			return errors.New("add --confirm: clearing erases the codes and freeze frames a repair needs")
		}
		return nil
	}}
	if err := c.ClearDTCs(ctx, gate); err != nil {
		return err
	}
	if f.json {
		return writeJSON(w, map[string]bool{"cleared": true})
	}
	fmt.Fprintln(w, "trouble codes cleared")
	return nil
}

func obdWatch(ctx context.Context, f obdFlags, tr obd.Transport, elm *obd.ELM327, set *obd.Signalset, w io.Writer, logger *slog.Logger) error {
	var pids []byte
	if len(f.pids) > 0 {
		var err error
		if pids, err = parsePIDArgs(f.pids); err != nil {
			return usageError{err}
		}
	} else if set == nil {
		pids = []byte{0x0D, 0x42, 0x46, 0x5B, 0xA6} // speed, module voltage, ambient, SOC, odometer
	}
	if f.forDur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.forDur)
		defer cancel()
	}
	bw, _ := w.(*bufio.Writer)
	var guard obd.Guard
	switch f.guard {
	case "none":
	case "voltage":
		if elm == nil {
			return usageError{errors.New("--guard voltage needs an adapter (--port)")}
		}
		guard = &obd.VoltageGuard{Read: elm.Voltage}
	default:
		return usageError{fmt.Errorf("--guard %q: expected voltage or none", f.guard)}
	}
	p, err := obd.NewPoller(obd.PollerConfig{
		Transport: tr, Set: set, ModelYear: f.year, PIDs: pids,
		Guard:  guard,
		Logger: logger,
		OnValues: func(at time.Time, cmd string, d *obd.Decoded) {
			for _, v := range d.Values {
				if f.json {
					j := valueJSON(v)
					_ = writeJSON(w, struct {
						Time string `json:"time"`
						jsonValue
					}{at.UTC().Format(time.RFC3339Nano), j})
				} else {
					fmt.Fprintf(w, "%s  %-24s %s\n", at.Format("15:04:05.000"), v.Signal.ID, formatValue(v))
				}
			}
			if bw != nil {
				bw.Flush()
			}
		},
	})
	if err != nil {
		return err
	}
	err = p.Run(ctx)
	st := p.Stats()
	fmt.Fprintf(os.Stderr, "obd watch: %d requests, %d answered, %d no data, %d errors, %d values\n", st.Requests, st.Answers, st.NoData, st.Errors, st.Values)
	return err
}

// obdDecode decodes OBDb test-case files through the same path the poller
// uses: the recorded adapter lines are parsed as an ELM327 answer,
// reassembled, matched to the command and decoded.
func obdDecode(f obdFlags, files []string, stdout, stderr io.Writer) error {
	if f.signalset == "" {
		return usageError{errors.New("decode needs --signalset FILE")}
	}
	if len(files) == 0 {
		return usageError{errors.New("no CASE.yaml file given")}
	}
	set, err := obd.LoadSignalset(f.signalset)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	failed, cases, problems := 0, 0, 0
	for _, path := range files {
		cf, err := obd.LoadCaseFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			failed++
			continue
		}
		if set.CommandFor(cf) == nil && !strings.Contains(cf.CommandID, ".01") && !strings.HasPrefix(cf.CommandID, "01") {
			fmt.Fprintf(stderr, "warning: %s: command %s is not in %s; matching answers by content\n", path, cf.CommandID, f.signalset)
		}
		for i := range cf.Cases {
			d := set.DecodeCase(cf, i)
			vals := map[string]any{}
			keys := make([]string, 0, len(d.ByID))
			for k := range d.ByID {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				vals[k] = d.ByID[k].JSON()
			}
			problems += len(d.Problems)
			if f.verbose {
				for _, p := range d.Problems {
					fmt.Fprintf(stderr, "%s case %d: %s\n", path, i, p)
				}
			}
			cases++
			if err := writeJSON(out, map[string]any{"file": path, "case": i, "values": vals}); err != nil {
				return err
			}
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if problems > 0 && !f.verbose {
		fmt.Fprintf(stderr, "decoded %d cases; %d answers or signals could not be decoded (-v lists them)\n", cases, problems)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be read", failed, len(files))
	}
	return nil
}
