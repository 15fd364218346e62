// Package board loads board profiles: data files (board/<name>.toml) that
// describe a head unit — its CAN interfaces, the vehicle definition it
// decodes with, where it keeps data. Nothing here opens a device; the agent
// reads the profile and brings the hardware up.
package board

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/evedge/evedge/agent/config"
)

// Profile is one board profile.
type Profile struct {
	// File is the path the profile was read from.
	File string `toml:"-"`

	Name        string `toml:"name"`
	Description string `toml:"description"`
	// DataDir is where the agent keeps its state; relative paths are
	// relative to the working directory.
	DataDir string  `toml:"data_dir"`
	Vehicle Vehicle `toml:"vehicle"`
	CAN     []CAN   `toml:"can"`
	// Service is where the service API listens on this board when the
	// agent's configuration does not say (default loopback).
	Service Service `toml:"service"`
}

// Service is the board's service API placement.
type Service struct {
	// Addr is host:port, e.g. "192.168.50.1:8443" for the head unit's
	// workshop Wi-Fi (default "127.0.0.1:8443").
	Addr string `toml:"addr"`
}

// Vehicle names the vehicle definition files, relative to the profile file.
type Vehicle struct {
	DBC string `toml:"dbc"`
	Map string `toml:"map"`
}

// Driver kinds for a CAN interface.
const (
	DriverSocketCAN = "socketcan"
	DriverSim       = "sim"
)

// CAN is one CAN interface of the board.
type CAN struct {
	// Interface is the OS interface name (can0) or, for the sim driver, a label.
	Interface string `toml:"interface"`
	// Bus is the bus index stamped on its frames (0..255).
	Bus int `toml:"bus"`
	// Driver is "socketcan" (default) or "sim".
	Driver  string `toml:"driver"`
	Bitrate int    `toml:"bitrate"`
}

// Load reads the profile at path, or the named profile ("sim") from the
// search directories. Relative vehicle paths are resolved against the
// profile's directory.
func Load(nameOrPath string, searchDirs []string) (*Profile, error) {
	path := nameOrPath
	if !strings.ContainsAny(nameOrPath, "/\\") && !strings.HasSuffix(nameOrPath, ".toml") {
		path = ""
		for _, d := range searchDirs {
			p := filepath.Join(d, nameOrPath+".toml")
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
		if path == "" {
			return nil, fmt.Errorf("board: profile %q not found in %s", nameOrPath, strings.Join(searchDirs, ", "))
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	return Parse(path, data)
}

// Parse parses profile TOML; name is the file name for errors.
func Parse(name string, data []byte) (*Profile, error) {
	p := &Profile{File: name}
	if err := config.DecodeStrict(name, data, p); err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("board: %s: field \"name\" is missing (expected the profile name)", name)
	}
	dir := filepath.Dir(name)
	for _, f := range []*string{&p.Vehicle.DBC, &p.Vehicle.Map} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(dir, *f)
		}
	}
	seen := map[int]bool{}
	for i := range p.CAN {
		c := &p.CAN[i]
		if c.Driver == "" {
			c.Driver = DriverSocketCAN
		}
		switch {
		case c.Driver != DriverSocketCAN && c.Driver != DriverSim:
			return nil, fmt.Errorf("board: %s: can[%d].driver %q: expected \"socketcan\" or \"sim\"", name, i, c.Driver)
		case c.Interface == "":
			return nil, fmt.Errorf("board: %s: can[%d].interface is missing (expected an interface name such as can0)", name, i)
		case c.Bus < 0 || c.Bus > 255:
			return nil, fmt.Errorf("board: %s: can[%d].bus %d: expected 0..255", name, i, c.Bus)
		case seen[c.Bus]:
			return nil, fmt.Errorf("board: %s: can[%d].bus %d: used by another interface", name, i, c.Bus)
		case c.Bitrate < 0 || c.Bitrate > 1000000:
			return nil, fmt.Errorf("board: %s: can[%d].bitrate %d: expected 0 (leave as configured) up to 1000000", name, i, c.Bitrate)
		}
		seen[c.Bus] = true
	}
	if a := p.Service.Addr; a != "" {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("board: %s: service.addr %q: expected host:port, e.g. 127.0.0.1:8443", name, a)
		}
	}
	return p, nil
}
