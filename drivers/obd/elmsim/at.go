package elmsim

import (
	"fmt"
	"strconv"
	"strings"
)

var protocolNames = map[byte]string{
	1:  "SAE J1850 PWM",
	2:  "SAE J1850 VPW",
	3:  "ISO 9141-2",
	4:  "ISO 14230-4 (KWP 5BAUD)",
	5:  "ISO 14230-4 (KWP FAST)",
	6:  "ISO 15765-4 (CAN 11/500)",
	7:  "ISO 15765-4 (CAN 29/500)",
	8:  "ISO 15765-4 (CAN 11/250)",
	9:  "ISO 15765-4 (CAN 29/250)",
	10: "SAE J1939 (CAN 29/250)",
	11: "USER1 (CAN 11/125)",
	12: "USER2 (CAN 11/50)",
}

// at runs an AT command; c is upper case, without spaces and "AT".
func (ss *session) at(c string) error {
	ok := func() error { return ss.reply("OK") }
	st := &ss.set
	if len(c) == 2 && (c[1] == '0' || c[1] == '1') {
		on := c[1] == '1'
		switch c[0] {
		case 'E':
			st.echo = on
			return ok()
		case 'L':
			st.linefeeds = on
			return ok()
		case 'S':
			st.spaces = on
			return ok()
		case 'H':
			st.headers = on
			return ok()
		case 'M':
			st.memory = on
			return ok()
		case 'R':
			st.responses = on
			return ok()
		case 'D':
			st.dlc = on
			return ok()
		case 'V':
			return ok()
		}
	}
	switch c {
	case "Z", "WS":
		ss.reset()
		if ss.wait(ss.sim.Timing.Reset) {
			ss.takeInterrupt()
		}
		return ss.reply("", "", ss.sim.version())
	case "D":
		ss.reset()
		return ok()
	case "I":
		return ss.reply(ss.sim.version())
	case "@1":
		return ss.reply(ss.sim.device())
	case "RV":
		v := 12.6
		if ss.car.BatteryVolts != nil {
			v = ss.car.BatteryVolts()
		}
		return ss.reply(fmt.Sprintf("%.1fV", v))
	case "DP":
		return ss.reply(ss.describeProtocol())
	case "DPN":
		return ss.reply(ss.protocolNumber())
	case "CAF0", "CAF1":
		st.caf = c[3] == '1'
		return ok()
	case "CFC0", "CFC1":
		st.cfc = c[3] == '1'
		return ok()
	case "AT0", "AT1", "AT2":
		st.adaptive = int(c[2] - '0')
		return ok()
	case "AL":
		st.longMsg = true
		return ok()
	case "NL":
		st.longMsg = false
		return ok()
	case "AR":
		st.cra, st.filterSet, st.maskSet = "", false, false
		return ok()
	case "CEA":
		st.cea = -1
		return ok()
	case "CRA":
		st.cra, st.filterSet, st.maskSet = "", false, false
		return ok()
	case "PC", "BI", "SS", "KW0", "KW1", "CSM0", "CSM1", "IB10", "IB48", "IB96", "JE", "JS":
		return ok()
	case "MA":
		return ss.monitor()
	}
	switch {
	case strings.HasPrefix(c, "SP"):
		p, valid := parseProto(c[2:])
		if !valid {
			return ss.reply("?")
		}
		ss.proto, ss.detected = p, 0
		if st.memory {
			ss.sim.setStoredProto(p)
		}
		return ok()
	case strings.HasPrefix(c, "TP"):
		p, valid := parseProto(c[2:])
		if !valid {
			return ss.reply("?")
		}
		if p.num != 0 {
			p.auto = true
		}
		ss.proto, ss.detected = p, 0
		return ok()
	case strings.HasPrefix(c, "SH"):
		v, n, valid := parseHex(c[2:], 3, 6, 8)
		if !valid {
			return ss.reply("?")
		}
		st.headerSet, st.header, st.header29 = true, v, n == 8
		if n == 8 {
			st.priority = byte(v>>24) & 0x1F
		}
		return ok()
	case strings.HasPrefix(c, "CP"):
		v, _, valid := parseHex(c[2:], 2)
		if !valid {
			return ss.reply("?")
		}
		st.priority = byte(v) & 0x1F
		if st.header29 {
			st.header = st.header&0xFFFFFF | uint32(st.priority)<<24
		}
		return ok()
	case strings.HasPrefix(c, "CRA"):
		arg := c[3:]
		if (len(arg) != 3 && len(arg) != 8) || strings.Trim(arg, "0123456789ABCDEFX") != "" {
			return ss.reply("?")
		}
		st.cra, st.filterSet, st.maskSet = arg, false, false
		return ok()
	case strings.HasPrefix(c, "CEA"):
		v, _, valid := parseHex(c[3:], 2)
		if !valid {
			return ss.reply("?")
		}
		st.cea = int(v)
		return ok()
	case strings.HasPrefix(c, "CF"):
		v, _, valid := parseHex(c[2:], 3, 8)
		if !valid {
			return ss.reply("?")
		}
		st.cra, st.filter, st.filterSet = "", v, true
		return ok()
	case strings.HasPrefix(c, "CM"):
		v, _, valid := parseHex(c[2:], 3, 8)
		if !valid {
			return ss.reply("?")
		}
		st.cra, st.mask, st.maskSet = "", v, true
		return ok()
	case strings.HasPrefix(c, "TA"):
		v, _, valid := parseHex(c[2:], 2)
		if !valid {
			return ss.reply("?")
		}
		st.tester = byte(v)
		return ok()
	case strings.HasPrefix(c, "FCSH"):
		v, _, valid := parseHex(c[4:], 3, 6, 8)
		if !valid {
			return ss.reply("?")
		}
		st.fcHeader, st.fcHeaderSet = v, true
		return ok()
	case strings.HasPrefix(c, "FCSD"):
		arg := c[4:]
		b, valid := parseBytes(arg)
		if !valid || len(b) == 0 || len(b) > 5 {
			return ss.reply("?")
		}
		st.fcData = b
		return ok()
	case strings.HasPrefix(c, "FCSM"):
		switch c[4:] {
		case "0", "1", "2":
			st.fcMode = int(c[4] - '0')
			return ok()
		}
		return ss.reply("?")
	case strings.HasPrefix(c, "ST"):
		v, _, valid := parseHex(c[2:], 2)
		if !valid {
			return ss.reply("?")
		}
		if v == 0 {
			v = 0x32 // ST 00 restores the default
		}
		st.timeout = byte(v)
		return ok()
	case strings.HasPrefix(c, "SW"), strings.HasPrefix(c, "IIA"):
		arg := strings.TrimPrefix(strings.TrimPrefix(c, "SW"), "IIA")
		if _, _, valid := parseHex(arg, 2); !valid {
			return ss.reply("?")
		}
		return ok()
	}
	return ss.reply("?")
}

// parseProto reads the argument of ATSP/ATTP: "0"-"C", or "A" and "1"-"C"
// (automatic, starting with that protocol).
func parseProto(arg string) (protoSel, bool) {
	digit := func(s string) (byte, bool) {
		v, err := strconv.ParseUint(s, 16, 8)
		if err != nil || v > 12 {
			return 0, false
		}
		return byte(v), true
	}
	switch len(arg) {
	case 1:
		n, ok := digit(arg)
		return protoSel{num: n, auto: n == 0}, ok
	case 2:
		if arg[0] != 'A' {
			return protoSel{}, false
		}
		n, ok := digit(arg[1:])
		return protoSel{num: n, auto: true}, ok && n > 0
	}
	return protoSel{}, false
}

// parseHex reads a hex number whose length must be one of lengths.
func parseHex(arg string, lengths ...int) (uint32, int, bool) {
	for _, n := range lengths {
		if len(arg) == n {
			v, err := strconv.ParseUint(arg, 16, 32)
			return uint32(v), n, err == nil
		}
	}
	return 0, 0, false
}

// parseBytes reads pairs of hex digits.
func parseBytes(s string) ([]byte, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, false
		}
		b[i] = byte(v)
	}
	return b, true
}

// current returns the protocol in use: the fixed one, the detected one, or
// the one an automatic setting starts with (0 when none yet).
func (ss *session) current() byte {
	if ss.proto.auto && ss.detected != 0 {
		return ss.detected
	}
	return ss.proto.num
}

func (ss *session) describeProtocol() string {
	p := ss.current()
	name := protocolNames[p]
	if !ss.proto.auto {
		return name
	}
	if p == 0 {
		return "AUTO"
	}
	return "AUTO, " + name
}

func (ss *session) protocolNumber() string {
	s := strings.ToUpper(strconv.FormatUint(uint64(ss.current()), 16))
	if ss.proto.auto {
		return "A" + s
	}
	return s
}
