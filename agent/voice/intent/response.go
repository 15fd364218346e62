package intent

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// checkPlaceholders checks the {name} placeholders of a response.
func checkPlaceholders(s string) error {
	_, err := placeholders(s)
	return err
}

// Placeholders returns the names of the {name} placeholders of a response,
// in order of appearance.
func Placeholders(s string) ([]string, error) { return placeholders(s) }

func placeholders(s string) ([]string, error) {
	var names []string
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '}':
			return nil, fmt.Errorf("unbalanced '}' at offset %d in %q", i, s)
		case '{':
			j := strings.IndexAny(s[i+1:], "{}")
			if j < 0 || s[i+1+j] != '}' {
				return nil, fmt.Errorf("unbalanced '{' at offset %d in %q", i, s)
			}
			name := s[i+1 : i+1+j]
			if !isIdent(name) {
				return nil, fmt.Errorf("bad placeholder {%s} at offset %d in %q", name, i, s)
			}
			names = append(names, name)
			i += j + 1
		}
	}
	return names, nil
}

// Fill replaces the {name} placeholders of a response with values; ints
// and floats are written in digits, strings as they are. Placeholders
// without a value are left in place and named by the error.
func Fill(tmpl string, values map[string]any) (string, error) {
	var b strings.Builder
	var missing []string
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '{' {
			b.WriteByte(tmpl[i])
			continue
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl[i:])
			break
		}
		name := tmpl[i+1 : i+j]
		if v, ok := values[name]; ok {
			b.WriteString(format(v))
		} else {
			b.WriteString(tmpl[i : i+j+1])
			missing = append(missing, name)
		}
		i += j
	}
	if len(missing) > 0 {
		return b.String(), fmt.Errorf("no value for %s", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

func format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// Response returns the response of an intent, or the shared response of
// that name (cancel, not_understood, ...), or "".
func (c *Context) Response(name string) string {
	if in := c.Intent(name); in != nil && in.Response != "" {
		return in.Response
	}
	return c.Responses[name]
}

// Respond fills the response of r's intent: a slot placeholder is said
// with the phrase of its value in this language (SlotValue.Say), other
// placeholders take live values ({soc}, {range}). Live values win over
// slots of the same name.
func (c *Context) Respond(r Result, live map[string]any) (string, error) {
	tmpl := c.Response(r.Intent)
	if tmpl == "" {
		return "", fmt.Errorf("intent %q has no response", r.Intent)
	}
	vals := make(map[string]any, len(r.Slots)+len(live))
	for name, v := range r.Slots {
		vals[name] = c.Say(r.Intent, name, v)
	}
	for k, v := range live {
		vals[k] = v
	}
	return Fill(tmpl, vals)
}

// Say returns the phrase for the value v of slot name of an intent (its
// Say, or the first phrase), or v formatted when no slot list has it.
func (c *Context) Say(intent, name string, v any) string {
	var lists []string
	if in := c.Intent(intent); in != nil {
		lists = in.slotList[name]
	} else {
		lists = sortedKeys(c.Slots)
	}
	for _, ln := range lists {
		for _, sv := range c.Slots[ln].Values {
			if sv.Out == v {
				return sv.Say
			}
		}
	}
	return format(v)
}

// SlotNames returns the slot names filled by any intent, sorted.
func (c *Context) SlotNames() []string {
	set := map[string]bool{}
	for _, in := range c.Intents {
		for _, n := range in.SlotNames {
			set[n] = true
		}
	}
	var ns []string
	for n := range set {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}
