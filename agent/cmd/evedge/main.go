// Command evedge is the on-board agent for electric cars and its tools:
//
//	evedge run      start the daemon (simulated car by default)
//	evedge decode   decode CAN logs with a DBC into JSON lines
//	evedge logs     export recorded frames as candump, GVRET CSV or ASC
//	evedge obd      talk to the car through an ELM327 adapter; decode OBDb test cases
//	evedge fleet    the cloud side for trials: listen to cars, sign requests
//	evedge diagnose run the fault rules and model over recorded logs
//	evedge certs    make throwaway certificates for the service API
//	evedge report   fetch a repair report from a car's service API
//	evedge dtc      read or clear a car's trouble codes through its service API
//	evedge selftest check the board's hardware, store, models and clock
//	evedge voice    build a recogniser for a context; recognise WAV files
//	evedge ask      ask the car in typed text (intents, dialogue, safety gates)
//	evedge version  print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usage = `evedge — on-board agent for electric cars

Usage:
  evedge run     [--board sim|FILE] [--config FILE] [--replay LOG --dbc FILE [--map FILE] [--speed N|max]] [--sim-speed N]
  evedge decode  --dbc FILE [--map FILE] [--format candump|gvret|asc] [--signals A,B] LOG...
  evedge logs export --data DIR --from T [--to T] [--bus N] --format candump|gvret|asc|csv -o FILE
  evedge logs pull --agent https://HOST:PORT (--cert C --key K | --token T) --ca CA --from T [--to T] [--bus N] --format F -o FILE
  evedge report  --agent https://HOST:PORT (--cert C --key K | --token T) --ca CA [--from T --to T] [--lang de] -o report.html
  evedge dtc     --agent https://HOST:PORT (--cert C --key K | --token T) --ca CA [--clear]
  evedge certs dev --out DIR [--host NAME]...
  evedge obd     --port DEV [--baud N] [--json] info|pids|read PID...|dtc|vin|watch [--signalset FILE]
  evedge obd decode --signalset FILE CASE.yaml...
  evedge fleet   listen|keygen|request ...   (the cloud side of the uplink, for trials)
  evedge diagnose --dbc FILE --map FILE [--format F] LOG...
  evedge eval fault [--hours N] [--runs N] [--model FILE] [--train]
  evedge selftest [--board B] [--config F]
  evedge voice   build --context FILE.yaml --out DIR | infer --model DIR [--wake] WAV...
  evedge ask     [--lang L] [--zone Z] [--state FILE.json] TEXT...
  evedge version

Run "evedge COMMAND -h" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "decode":
		err = cmdDecode(ctx, args[1:], stdout, stderr)
	case "logs":
		err = cmdLogs(ctx, args[1:], stdout, stderr)
	case "obd":
		err = cmdOBD(ctx, args[1:], stdout, stderr)
	case "diagnose":
		err = cmdDiagnose(ctx, args[1:], stdout, stderr)
	case "eval":
		err = cmdEval(ctx, args[1:], stdout, stderr)
	case "fleet":
		err = cmdFleet(ctx, args[1:], stdout, stderr)
	case "certs":
		err = cmdCerts(ctx, args[1:], stdout, stderr)
	case "report":
		err = cmdReport(ctx, args[1:], stdout, stderr)
	case "dtc":
		err = cmdDTC(ctx, args[1:], stdout, stderr)
	case "selftest":
		err = cmdSelftest(ctx, args[1:], stdout, stderr)
	case "voice":
		err = cmdVoice(ctx, args[1:], stdout, stderr)
	case "ask":
		err = cmdAsk(ctx, args[1:], stdin, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "evedge", versionString())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "evedge: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "evedge %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "evedge %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += "+" + s.Value[:12]
				}
			}
		}
	}
	return v
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("decode LOG --dbc F" as well as "decode --dbc F LOG").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// listFlag collects a repeatable or comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
