package event

// This file keeps the original Decode implementation (json.Decoder.Token
// based, before the single-pass scanner) as the reference that
// FuzzDecodeDifferential compares Codec.Decode against. It is a verbatim
// copy with "ref" prefixes; do not "fix" it — it defines the contract.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"
)

var refEnvelopeFields = []string{"eventId", "eventType", "timestamp", "version", "data", "metadata"}

func refDecode(c *Codec, b []byte) (Envelope, error) {
	var typ string
	malformed := func(err error) (Envelope, error) {
		return Envelope{}, &DecodeError{Kind: ErrMalformed, EventType: typ, Err: err}
	}
	if !utf8.Valid(b) {
		return malformed(errors.New("input is not valid UTF-8"))
	}
	fields, err := refObjectFields(b)
	if err != nil {
		return malformed(err)
	}
	for k := range fields {
		if !slices.Contains(refEnvelopeFields, k) {
			return malformed(fmt.Errorf("unknown field %.64q", k))
		}
	}
	for _, k := range refEnvelopeFields {
		if _, ok := fields[k]; !ok {
			return malformed(fmt.Errorf("missing field %q", k))
		}
	}
	// eventType first, so later errors can name it.
	typ, err = refNameField(fields["eventType"], false)
	if err != nil {
		typ = ""
		return malformed(fmt.Errorf("eventType: %w", err))
	}
	var e Envelope
	e.EventType = typ
	if e.EventID, err = refNameField(fields["eventId"], false); err != nil {
		return malformed(fmt.Errorf("eventId: %w", err))
	}
	if e.Timestamp, err = refTimeField(fields["timestamp"]); err != nil {
		return malformed(fmt.Errorf("timestamp: %w", err))
	}
	if e.Version, err = refVersionField(fields["version"]); err != nil {
		return malformed(fmt.Errorf("version: %w", err))
	}
	if e.Data, err = refObjectField(fields["data"]); err != nil {
		return malformed(fmt.Errorf("data: %w", err))
	}
	if e.Metadata, err = refMetadataField(fields["metadata"]); err != nil {
		return malformed(fmt.Errorf("metadata: %w", err))
	}
	return refUpcast(c, e)
}

func refUpcast(c *Codec, e Envelope) (Envelope, error) {
	ti, ok := c.reg.lookup(e.EventType)
	if !ok {
		return Envelope{}, &DecodeError{Kind: ErrUnknownType, EventType: e.EventType, Version: e.Version,
			Err: fmt.Errorf("registered types: %v", c.reg.Types())}
	}
	if e.Version < ti.oldest || e.Version > ti.latest {
		return Envelope{}, &DecodeError{Kind: ErrUnknownVersion, EventType: e.EventType, Version: e.Version,
			Err: fmt.Errorf("known versions are %d to %d", ti.oldest, ti.latest)}
	}
	if !refIsObject(e.Data) {
		return Envelope{}, &DecodeError{Kind: ErrMalformed, EventType: e.EventType, Version: e.Version,
			Err: errors.New("data: not a JSON object")}
	}
	data := e.Data
	for v := e.Version; v < ti.latest; v++ {
		out, err := refRunUpcaster(ti.chain[v-ti.oldest], data)
		if err == nil && !refIsObject(out) {
			err = errors.New("upcaster returned data that is not a JSON object")
		}
		if err != nil {
			return Envelope{}, &DecodeError{Kind: ErrUpcast, EventType: e.EventType, Version: v,
				Err: fmt.Errorf("v%d→v%d: %w", v, v+1, err)}
		}
		data = refCompact(out)
	}
	e.Data = data
	e.Version = ti.latest
	return e, nil
}

func refRunUpcaster(u Upcaster, data json.RawMessage) (out json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("upcaster panicked: %v", r)
		}
	}()
	return u.Up(bytes.Clone(data))
}

func refObjectFields(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	out := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("not JSON: object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("field %.64q: not JSON: %w", key, err)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("duplicate field %.64q", key)
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return out, nil
}

func refNameField(raw json.RawMessage, optional bool) (string, error) {
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
	if err := refCheckName(s); err != nil {
		return "", err
	}
	return s, nil
}

func refCheckName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxNameLen:
		return fmt.Errorf("%d bytes, longer than %d", len(s), MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("byte %d (0x%02x) is not visible ASCII", i, c)
		}
	}
	return nil
}

func refTimeField(raw json.RawMessage) (time.Time, error) {
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

func refVersionField(raw json.RawMessage) (int, error) {
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

func refObjectField(raw json.RawMessage) (json.RawMessage, error) {
	if !refIsObject(raw) {
		return nil, errors.New("not a JSON object")
	}
	return refCompact(raw), nil
}

func refMetadataField(raw json.RawMessage) (Metadata, error) {
	fields, err := refObjectFields(raw)
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
		if *f.dst, err = refNameField(raw, f.optional); err != nil {
			return Metadata{}, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return md, nil
}

func refIsObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && utf8.Valid(t) && json.Valid(t)
}

func refCompact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return json.RawMessage(bytes.Clone(b))
	}
	return buf.Bytes()
}
