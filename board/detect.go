package board

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Auto is the board name that Load resolves with Detect on the running
// system ("board = \"auto\"" in the agent configuration).
const Auto = "auto"

// Fallback profiles of Detect.
const (
	// NoDeviceTree is chosen when the system has no device tree: a PC or
	// a VM, where only the simulated car makes sense.
	NoDeviceTree = "sim"
	// UnknownBoard is chosen for a device tree no profile matches.
	UnknownBoard = "generic-arm64"
)

// Detection is what Detect found.
type Detection struct {
	// Profile is the profile name to load.
	Profile string
	// Model is the device-tree model ("" without a device tree).
	Model string
	// Compatible are the device-tree compatible strings.
	Compatible []string
	// Reason says why Profile was chosen, for logs and selftest.
	Reason string
}

// Detect picks the board profile for the system under root ("/" on the
// head unit, a fake tree in tests) from its device tree:
// <root>/proc/device-tree/model and compatible, NUL-terminated strings as
// the kernel exposes them. Each profile in dirs (first directory wins for a
// name, as in Load) declares the models it fits in [detect]; the first
// profile by name that matches is chosen. A device tree that none matches
// gives UnknownBoard, no device tree NoDeviceTree. Profiles that do not
// parse are left out of the matching; Load reports their errors.
func Detect(root string, dirs []string) (Detection, error) {
	dt := filepath.Join(root, "proc", "device-tree")
	model, err := os.ReadFile(filepath.Join(dt, "model"))
	if errors.Is(err, fs.ErrNotExist) {
		// /proc/device-tree is a link to /sys/firmware/devicetree/base.
		dt = filepath.Join(root, "sys", "firmware", "devicetree", "base")
		model, err = os.ReadFile(filepath.Join(dt, "model"))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return Detection{Profile: NoDeviceTree, Reason: "no device tree (not an embedded board)"}, nil
	}
	if err != nil {
		return Detection{}, fmt.Errorf("board: detect: %w", err)
	}
	d := Detection{Model: firstString(model)}
	if c, err := os.ReadFile(filepath.Join(dt, "compatible")); err == nil {
		d.Compatible = dtStrings(c)
	}
	names, paths := profileFiles(dirs)
	for _, n := range names {
		p, err := Load(paths[n], nil)
		if err != nil {
			continue
		}
		if pat, ok := p.Detect.matches(d.Model, d.Compatible); ok {
			d.Profile = p.Name
			d.Reason = fmt.Sprintf("device tree %q matches %q in %s", pickMatched(d, pat), pat, paths[n])
			return d, nil
		}
	}
	d.Profile = UnknownBoard
	d.Reason = fmt.Sprintf("no profile matches device-tree model %q", d.Model)
	return d, nil
}

func pickMatched(d Detection, pat string) string {
	if ok, _ := path.Match(pat, d.Model); ok {
		return d.Model
	}
	for _, c := range d.Compatible {
		if ok, _ := path.Match(pat, c); ok {
			return c
		}
	}
	return d.Model
}

// matches returns the pattern that matches model or one of compatible.
func (m Match) matches(model string, compatible []string) (string, bool) {
	for _, pat := range m.Model {
		if ok, _ := path.Match(pat, model); ok && model != "" {
			return pat, true
		}
	}
	for _, pat := range m.Compatible {
		for _, c := range compatible {
			if ok, _ := path.Match(pat, c); ok {
				return pat, true
			}
		}
	}
	return "", false
}

// profileFiles lists the *.toml files of dirs by profile name, the first
// directory winning, names sorted.
func profileFiles(dirs []string) ([]string, map[string]string) {
	paths := map[string]string{}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			n, ok := strings.CutSuffix(e.Name(), ".toml")
			if !ok || e.IsDir() {
				continue
			}
			if _, dup := paths[n]; !dup {
				paths[n] = filepath.Join(d, e.Name())
			}
		}
	}
	names := make([]string, 0, len(paths))
	for n := range paths {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, paths
}

// Names lists the profiles found in dirs.
func Names(dirs []string) []string {
	n, _ := profileFiles(dirs)
	return n
}

// dtStrings splits a device-tree string list (NUL-terminated strings).
func dtStrings(b []byte) []string {
	var out []string
	for _, s := range bytes.Split(b, []byte{0}) {
		if t := strings.TrimSpace(string(s)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func firstString(b []byte) string {
	if s := dtStrings(b); len(s) > 0 {
		return s[0]
	}
	return ""
}

func checkGlob(pat string) error {
	if _, err := path.Match(pat, ""); err != nil || pat == "" {
		return fmt.Errorf("pattern %q: expected a glob such as \"Raspberry Pi 4 Model B*\"", pat)
	}
	return nil
}
