package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

func cmdDecode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbcPath := fs.String("dbc", "", "DBC `file` describing the messages (required)")
	mapPath := fs.String("map", "", "signal map `file` (TOML) naming signals with VSS paths")
	format := fs.String("format", "", "log format: candump, gvret (csv) or asc; detected from content when empty")
	var only listFlag
	fs.Var(&only, "signals", "comma-separated `names` to print: Message.Signal, Signal or VSS path (default all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge decode --dbc FILE [--map FILE] [--format candump|gvret|asc] [--signals A,B] LOG...")
		fmt.Fprintln(stderr, "Prints one JSON object per decoded signal value; a summary goes to stderr.")
		fs.PrintDefaults()
	}
	logs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *dbcPath == "" {
		return usageError{fmt.Errorf("--dbc is required")}
	}
	if len(logs) == 0 {
		return usageError{fmt.Errorf("no LOG file given")}
	}
	var fmtWant can.Format
	if *format != "" {
		if fmtWant, err = can.ParseFormat(*format); err != nil {
			return usageError{err}
		}
	}
	db, err := loadVehicle(*dbcPath, *mapPath)
	if err != nil {
		return err
	}
	for _, w := range db.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	var filter map[*signals.Signal]bool
	if len(only) > 0 {
		if filter, err = signalFilter(db, only); err != nil {
			return usageError{err}
		}
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	for _, path := range logs {
		if err := decodeFile(ctx, db, path, fmtWant, filter, out, stderr); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return out.Flush()
}

func loadVehicle(dbcPath, mapPath string) (*signals.Database, error) {
	db, err := signals.Load(dbcPath)
	if err != nil {
		return nil, err
	}
	if mapPath != "" {
		m, err := signals.LoadMap(mapPath)
		if err != nil {
			return nil, err
		}
		if err := db.Apply(m); err != nil {
			return nil, err
		}
	}
	return db, nil
}

func signalFilter(db *signals.Database, names []string) (map[*signals.Signal]bool, error) {
	f := map[*signals.Signal]bool{}
	for _, n := range names {
		found := false
		for _, s := range db.Signals {
			if s.Name == n || s.FullName() == n || (s.Mapping != nil && s.Mapping.VSS == n) {
				f[s] = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("--signals: %q is not a signal (Message.Signal, Signal or mapped VSS path) of %s", n, db.File)
		}
	}
	return f, nil
}

type fileSummary struct {
	frames, decoded, values, unknown, errFrames uint64
	unknownIDs                                  map[uint32]uint64
}

func decodeFile(ctx context.Context, db *signals.Database, path string, f can.Format, filter map[*signals.Signal]bool, out *bufio.Writer, stderr io.Writer) error {
	r, closer, err := can.OpenLog(path, f)
	if err != nil {
		return err
	}
	defer closer.Close()
	sum := fileSummary{unknownIDs: map[uint32]uint64{}}
	vals := make([]signals.Value, 0, 256)
	line := make([]byte, 0, 512)
	for r.Receive() {
		if sum.frames&0xFFF == 0 && ctx.Err() != nil {
			break
		}
		fr := r.Frame()
		sum.frames++
		if fr.Flags&can.ErrorFrame != 0 {
			sum.errFrames++
			continue
		}
		m := db.Lookup(&fr)
		if m == nil {
			sum.unknown++
			sum.unknownIDs[fr.Key()]++
			continue
		}
		sum.decoded++
		vals = m.Decode(&fr, vals[:0])
		for i := range vals {
			v := &vals[i]
			if filter != nil && !filter[v.Signal] {
				continue
			}
			sum.values++
			line = appendSample(line[:0], &fr, v)
			if _, err := out.Write(line); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(stderr, "%s: %d frames, %d decoded, %d values, %d unknown ids, %d error frames, %d bad lines\n",
		path, sum.frames, sum.decoded, sum.values, sum.unknown, sum.errFrames, r.Skipped())
	for _, le := range r.LineErrors() {
		fmt.Fprintf(stderr, "  bad line: %v\n", le)
	}
	if r.Skipped() > len(r.LineErrors()) {
		fmt.Fprintf(stderr, "  ... %d more bad lines\n", r.Skipped()-len(r.LineErrors()))
	}
	if len(sum.unknownIDs) > 0 {
		ids := make([]uint32, 0, len(sum.unknownIDs))
		for id := range sum.unknownIDs {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return sum.unknownIDs[ids[i]] > sum.unknownIDs[ids[j]] })
		b := []byte("  unknown ids (count):")
		for i, id := range ids {
			if i == 10 {
				b = append(b, " ..."...)
				break
			}
			b = append(b, ' ')
			b = appendID(b, id&^can.KeyExtended)
			b = append(b, '(')
			b = strconv.AppendUint(b, sum.unknownIDs[id], 10)
			b = append(b, ')')
		}
		fmt.Fprintln(stderr, string(b))
	}
	return nil
}

// appendSample appends one JSON line:
// {"t":..,"bus":..,"id":"0x123","message":"..","signal":"..","vss":"..","value":..,"unit":".."}
func appendSample(b []byte, f *can.Frame, v *signals.Value) []byte {
	b = append(b, `{"t":`...)
	sec := f.Time / 1e9
	ns := f.Time % 1e9
	if ns < 0 {
		sec--
		ns += 1e9
	}
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	us := ns / 1000
	for d := int64(100000); d > 0; d /= 10 {
		b = append(b, byte('0'+(us/d)%10))
	}
	b = append(b, `,"bus":`...)
	b = strconv.AppendUint(b, uint64(f.Bus), 10)
	b = append(b, `,"id":"`...)
	b = appendID(b, f.ID)
	b = append(b, `","message":`...)
	b = appendJSONString(b, v.Signal.Message.Name)
	b = append(b, `,"signal":`...)
	b = appendJSONString(b, v.Signal.Name)
	if vss := v.Signal.VSS(); vss != "" {
		b = append(b, `,"vss":`...)
		b = appendJSONString(b, vss)
	}
	b = append(b, `,"value":`...)
	if l, ok := v.Label(); ok {
		b = appendJSONString(b, l)
	} else if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendFloat(b, v.Value, 'g', -1, 64)
	}
	b = append(b, `,"unit":`...)
	b = appendJSONString(b, v.Signal.OutUnit())
	b = append(b, "}\n"...)
	return b
}

func appendID(b []byte, id uint32) []byte {
	b = append(b, "0x"...)
	return strconv.AppendUint(b, uint64(id), 16)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
