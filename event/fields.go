package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// nameText checks the text of a JSON string holding a name (see
// checkName); isString is false if the value was not a string. With
// optional, "" is accepted too.
func nameText(s string, isString, optional bool) error {
	if !isString {
		return errors.New("not a JSON string")
	}
	if optional && s == "" {
		return nil
	}
	return checkName(s)
}

// timeText parses the text of an RFC 3339 JSON string, in UTC, truncated to
// the millisecond.
func timeText(s string, isString bool) (time.Time, error) {
	if !isString {
		return time.Time{}, errors.New("not a JSON string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not RFC 3339: %w", err)
	}
	t = t.UTC().Truncate(time.Millisecond)
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("year %d outside 0000–9999 in UTC", y)
	}
	return t, nil
}

// versionField decodes a JSON integer ≥ 1 with at most 9 digits.
func versionField(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || len(raw) > 9 {
		return 0, errors.New("not an integer of 1 to 9 digits")
	}
	v := 0
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%.20s is not a non-negative JSON integer", raw)
		}
		v = v*10 + int(c-'0')
	}
	if v < 1 || raw[0] == '0' {
		return 0, fmt.Errorf("%s: must be ≥ 1", raw)
	}
	return v, nil
}

// checkMetadata applies Decode's rules for metadata to md.
func checkMetadata(md Metadata) error {
	if err := checkName(md.CorrelationID); err != nil {
		return fmt.Errorf("correlationId: %w", err)
	}
	if md.CausationID != "" {
		if err := checkName(md.CausationID); err != nil {
			return fmt.Errorf("causationId: %w", err)
		}
	}
	if err := checkName(md.Source); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	return nil
}

// isObject reports whether b is exactly one valid JSON object in UTF-8
// (surrounding JSON white space allowed).
func isObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && utf8.Valid(t) && json.Valid(t)
}

// compact returns a copy of b without insignificant white space, as
// json.Compact does. b must be valid JSON.
func compact(b []byte) json.RawMessage { return compactCopy(b, -1) }
