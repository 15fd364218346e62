package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/evedge/evedge/agent/service"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/drivers/can"
)

func cmdLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "pull" {
		return cmdLogsPull(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "export" {
		return usageError{fmt.Errorf("expected a subcommand: export or pull")}
	}
	fs := flag.NewFlagSet("logs export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "data `directory` of the agent (required)")
	fromS := fs.String("from", "", "start `time`: RFC 3339, unix seconds or -DURATION (required)")
	toS := fs.String("to", "", "end `time` (default: the end of the history)")
	bus := fs.Int("bus", -1, "only this bus `index` (default all)")
	format := fs.String("format", "candump", "candump, gvret, asc or csv (= SavvyCAN GVRET CSV)")
	outPath := fs.String("o", "-", "output `file` (- = stdout)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge logs export --data DIR --from T [--to T] [--bus N] --format candump|gvret|asc|csv -o FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *dataDir == "" {
		return usageError{fmt.Errorf("--data is required")}
	}
	now := time.Now()
	from, err := parseTime(*fromS, now)
	if err != nil {
		return usageError{fmt.Errorf("--from: %w", err)}
	}
	var to time.Time // zero: unbounded
	if *toS != "" {
		if to, err = parseTime(*toS, now); err != nil {
			return usageError{fmt.Errorf("--to: %w", err)}
		}
	}
	if !to.IsZero() && to.Before(from) {
		return usageError{fmt.Errorf("--to %s is before --from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))}
	}
	if *bus < -1 || *bus > 255 {
		return usageError{fmt.Errorf("--bus %d: expected 0..255", *bus)}
	}
	f, err := can.ParseFormat(*format)
	if err != nil {
		return usageError{err}
	}
	if _, err := os.Stat(filepath.Join(*dataDir, "evedge.db")); err != nil {
		return fmt.Errorf("--data %s: no evedge history there: %w", *dataDir, err)
	}
	st, err := store.Open(store.Options{Dir: *dataDir, ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()

	var w io.Writer = stdout
	var file *os.File
	if *outPath != "-" {
		// Write beside the target and rename when complete, so that an
		// interrupted export never leaves a truncated file that looks whole.
		file, err = os.CreateTemp(filepath.Dir(*outPath), "."+filepath.Base(*outPath)+".*")
		if err != nil {
			return err
		}
		defer os.Remove(file.Name())
		w = file
	}
	it := st.Frames(ctx, from, to, *bus)
	defer it.Close()
	res, err := service.ExportFrames(ctx, it, w, f)
	if err != nil {
		if file != nil {
			file.Close()
		}
		return err
	}
	if file != nil {
		if err := file.Sync(); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		if err := os.Rename(file.Name(), *outPath); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("exported %d frames", res.Frames)
	if res.Frames > 0 {
		msg += fmt.Sprintf(" from %s to %s", time.Unix(0, res.First).UTC().Format(time.RFC3339Nano), time.Unix(0, res.Last).UTC().Format(time.RFC3339Nano))
	}
	if res.Skipped > 0 {
		msg += fmt.Sprintf("; %d remote/error frames skipped (the %s format cannot hold them)", res.Skipped, f)
	}
	fmt.Fprintln(stderr, msg)
	return nil
}
