package config

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	c, err := Parse("e.toml", []byte("[agent]\nboard = \"rpi4\"\n[sim]\nspeed = 60\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Agent.Board != "rpi4" || c.Sim.Speed != 60 || c.Agent.LogLevel != "info" {
		t.Fatalf("got %+v", c)
	}
}

func TestErrorsNameFileAndField(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"[agent]\nlog_level = \"loud\"\n", "agent.log_level"},
		{"[agent]\ngc_percent = 5\n", "agent.gc_percent 5"},
		{"[agent]\ngc_percent = -1\n", "agent.gc_percent -1"},
		{"[sim]\nspeed = -1\n", "sim.speed"},
		{"[sim]\nscenario = \"moon\"\n", "sim.scenario"},
		{"[agent]\nbaord = \"sim\"\n", `e.toml:2: unknown field "agent.baord"`},
		{"[agent\n", "e.toml:1:"},
		{"[sim]\nspeed = \"fast\"\n", "e.toml:2:"},
	} {
		_, err := Parse("e.toml", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "e.toml") {
			t.Errorf("%q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("[agent]\nboard = \"sim\"\nlog_level = \"debug\"\n[sim]\nspeed = 60\nscenario = \"wltp,dc\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Parse("f.toml", data); err != nil && !strings.Contains(err.Error(), "f.toml") {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

func TestStoreSection(t *testing.T) {
	c, err := Parse("e.toml", []byte("[store]\nrecord = false\ncommit_interval = \"500ms\"\n[store.quotas]\nframes = \"100MiB\"\nevents = \"2GB\"\noutbox = \"4096\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Record || c.Store.CommitInterval.Milliseconds() != 500 || c.Store.Quotas.Frames != 100<<20 || c.Store.Quotas.Events != 2e9 || c.Store.Quotas.Outbox != 4096 || c.Store.Quotas.Signals != 0 {
		t.Fatalf("store %+v", c.Store)
	}
	for _, tc := range []struct{ text, want string }{
		{"[store.quotas]\nframes = \"lots\"\n", `e.toml:2:`},
		{"[store]\ncommit_interval = \"1h\"\n", "store.commit_interval"},
		{"[store]\ncommit_interval = \"soon\"\n", "e.toml:2:"},
	} {
		if _, err := Parse("e.toml", []byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.want)
		}
	}
}
