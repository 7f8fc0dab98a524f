package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// nameField decodes a JSON string holding a name (see checkName); with
// optional, "" is accepted too.
func nameField(raw json.RawMessage, optional bool) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", errors.New("not a JSON string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	if optional && s == "" {
		return "", nil
	}
	if err := checkName(s); err != nil {
		return "", err
	}
	return s, nil
}

// timeField decodes an RFC 3339 JSON string, in UTC, truncated to the
// millisecond.
func timeField(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return time.Time{}, errors.New("not a JSON string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, err
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

// objectField checks that raw is a JSON object and returns it compacted.
func objectField(raw json.RawMessage) (json.RawMessage, error) {
	if !isObject(raw) {
		return nil, errors.New("not a JSON object")
	}
	return compact(raw), nil
}

// metadataField decodes the metadata object strictly.
func metadataField(raw json.RawMessage) (Metadata, error) {
	fields, err := objectFields(raw)
	if err != nil {
		return Metadata{}, err
	}
	known := []string{"correlationId", "causationId", "source"}
	for k := range fields {
		if !slices.Contains(known, k) {
			return Metadata{}, fmt.Errorf("unknown field %.64q", k)
		}
	}
	var md Metadata
	for _, f := range []struct {
		name     string
		dst      *string
		optional bool
	}{
		{"correlationId", &md.CorrelationID, false},
		{"causationId", &md.CausationID, true},
		{"source", &md.Source, false},
	} {
		raw, ok := fields[f.name]
		if !ok {
			if f.optional {
				continue
			}
			return Metadata{}, fmt.Errorf("missing field %q", f.name)
		}
		if *f.dst, err = nameField(raw, f.optional); err != nil {
			return Metadata{}, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return md, nil
}

// checkMetadata applies the rules of metadataField to md.
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

// compact returns b without insignificant white space. b must be valid JSON.
func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return json.RawMessage(bytes.Clone(b))
	}
	return buf.Bytes()
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
