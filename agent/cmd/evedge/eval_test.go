package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestEvalFault(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"eval", "fault", "--hours", "2", "--runs", "1",
		"--model", "../../../models/fault/fault.evnn", "--dbc", "../../../board/sim/sim-ev.dbc"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"| metric | value | target | met |", "| AUROC", "| faulty runs detected", "| faulty runs detected, of those where the fault became visible", "| class accuracy", "| median lead", "| faulty runs detected by the model or a check", "| false alarms in held-out normal driving, model and checks", "| fault kind | detected by the model | by the model or a check |"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in\n%s", want, s)
		}
	}
	rows := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "| ") && strings.Count(l, "|") == 5 {
			rows++
		}
	}
	if rows != 12 { // header + 7 model metrics, header + 3 whole-detector metrics
		t.Errorf("%d metric rows, want 12:\n%s", rows, s)
	}
}

func TestEvalUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"eval", "bogus"}, nil, &out, &errb); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
