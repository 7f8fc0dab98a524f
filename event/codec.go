package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Codec turns envelopes into bytes and back, validating them against a
// Registry and upcasting old versions on read. A Codec is safe for
// concurrent use.
//
// The rules Decode enforces (anything else is ErrMalformed):
//
//   - the input is valid UTF-8 and exactly one JSON object, with exactly the
//     fields eventId, eventType, timestamp, version, data and metadata — no
//     unknown and no duplicate fields;
//   - eventId, eventType, metadata.correlationId and metadata.source are JSON
//     strings of 1–MaxNameLen bytes of visible ASCII (0x21–0x7E, no spaces);
//     metadata.causationId is such a string or "" (or absent), and metadata
//     has no other fields;
//   - timestamp is an RFC 3339 string; it is converted to UTC and truncated
//     to the millisecond (the envelope's precision);
//   - version is a JSON integer ≥ 1 of at most 9 digits;
//   - data is a JSON object; it is kept in compact form.
//
// Then eventType must be registered (else ErrUnknownType) and version
// between the type's oldest upcastable version and its current version (else
// ErrUnknownVersion). Data is upcast to the current version (ErrUpcast if an
// upcaster fails or panics). Decode never panics.
type Codec struct {
	reg *Registry
}

// NewCodec returns a codec for the types in reg. The registry is read on
// every call, so types registered later are known too.
func NewCodec(reg *Registry) *Codec {
	return &Codec{reg: reg}
}

// envelopeFields lists the envelope's JSON fields, all required.
var envelopeFields = []string{"eventId", "eventType", "timestamp", "version", "data", "metadata"}

// Decode parses and validates one envelope and upcasts its data to the
// current version of its type; the returned envelope's Version is that
// current version. Errors are *DecodeError values.
func (c *Codec) Decode(b []byte) (Envelope, error) {
	var typ string
	malformed := func(err error) (Envelope, error) {
		return Envelope{}, &DecodeError{Kind: ErrMalformed, EventType: typ, Err: err}
	}
	if !utf8.Valid(b) {
		return malformed(errors.New("input is not valid UTF-8"))
	}
	fields, err := objectFields(b)
	if err != nil {
		return malformed(err)
	}
	for k := range fields {
		if !contains(envelopeFields, k) {
			return malformed(fmt.Errorf("unknown field %.64q", k))
		}
	}
	for _, k := range envelopeFields {
		if _, ok := fields[k]; !ok {
			return malformed(fmt.Errorf("missing field %q", k))
		}
	}
	// eventType first, so later errors can name it.
	typ, err = nameField(fields["eventType"], false)
	if err != nil {
		typ = ""
		return malformed(fmt.Errorf("eventType: %w", err))
	}
	var e Envelope
	e.EventType = typ
	if e.EventID, err = nameField(fields["eventId"], false); err != nil {
		return malformed(fmt.Errorf("eventId: %w", err))
	}
	if e.Timestamp, err = timeField(fields["timestamp"]); err != nil {
		return malformed(fmt.Errorf("timestamp: %w", err))
	}
	if e.Version, err = versionField(fields["version"]); err != nil {
		return malformed(fmt.Errorf("version: %w", err))
	}
	if e.Data, err = objectField(fields["data"]); err != nil {
		return malformed(fmt.Errorf("data: %w", err))
	}
	if e.Metadata, err = metadataField(fields["metadata"]); err != nil {
		return malformed(fmt.Errorf("metadata: %w", err))
	}
	return c.Upcast(e)
}

// Upcast brings an already parsed envelope (e.g. loaded from the event
// store) to the current version of its type. It checks the type, the
// version and that Data is a JSON object, but not the other fields. An
// envelope already at the current version is returned unchanged. Errors
// are *DecodeError values.
func (c *Codec) Upcast(e Envelope) (Envelope, error) {
	ti, ok := c.reg.lookup(e.EventType)
	if !ok {
		return Envelope{}, &DecodeError{Kind: ErrUnknownType, EventType: e.EventType, Version: e.Version,
			Err: fmt.Errorf("registered types: %v", c.reg.Types())}
	}
	if e.Version < ti.oldest || e.Version > ti.latest {
		return Envelope{}, &DecodeError{Kind: ErrUnknownVersion, EventType: e.EventType, Version: e.Version,
			Err: fmt.Errorf("known versions are %d to %d", ti.oldest, ti.latest)}
	}
	if !isObject(e.Data) {
		return Envelope{}, &DecodeError{Kind: ErrMalformed, EventType: e.EventType, Version: e.Version,
			Err: errors.New("data: not a JSON object")}
	}
	data := e.Data
	for v := e.Version; v < ti.latest; v++ {
		out, err := runUpcaster(ti.chain[v-ti.oldest], data)
		if err == nil && !isObject(out) {
			err = errors.New("upcaster returned data that is not a JSON object")
		}
		if err != nil {
			return Envelope{}, &DecodeError{Kind: ErrUpcast, EventType: e.EventType, Version: v,
				Err: fmt.Errorf("v%d→v%d: %w", v, v+1, err)}
		}
		data = compact(out)
	}
	e.Data = data
	e.Version = ti.latest
	return e, nil
}

// Encode validates e with the rules of Decode — except that any known
// version is accepted and nothing is upcast — and returns its wire form. An
// empty Data encodes as {}. Errors are *DecodeError values, so a producer
// can never write what its consumers would reject.
func (c *Codec) Encode(e Envelope) ([]byte, error) {
	bad := func(err error) ([]byte, error) {
		return nil, &DecodeError{Kind: ErrMalformed, EventType: e.EventType, Version: e.Version, Err: err}
	}
	if err := checkName(e.EventType); err != nil {
		return bad(fmt.Errorf("eventType: %w", err))
	}
	if err := checkName(e.EventID); err != nil {
		return bad(fmt.Errorf("eventId: %w", err))
	}
	if y := e.Timestamp.UTC().Year(); e.Timestamp.IsZero() || y < 0 || y > 9999 {
		return bad(fmt.Errorf("timestamp: %v is zero or outside years 0000–9999", e.Timestamp))
	}
	if err := checkMetadata(e.Metadata); err != nil {
		return bad(fmt.Errorf("metadata: %w", err))
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	if !utf8.Valid(e.Data) {
		return bad(errors.New("data: not valid UTF-8"))
	}
	ti, ok := c.reg.lookup(e.EventType)
	if !ok {
		return nil, &DecodeError{Kind: ErrUnknownType, EventType: e.EventType, Version: e.Version,
			Err: fmt.Errorf("registered types: %v", c.reg.Types())}
	}
	if e.Version < ti.oldest || e.Version > ti.latest {
		return nil, &DecodeError{Kind: ErrUnknownVersion, EventType: e.EventType, Version: e.Version,
			Err: fmt.Errorf("known versions are %d to %d", ti.oldest, ti.latest)}
	}
	if !isObject(e.Data) {
		return bad(errors.New("data: not a JSON object"))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(wireEnvelope{
		EventID:   e.EventID,
		EventType: e.EventType,
		Timestamp: e.Timestamp.UTC().Format(TimeLayout),
		Version:   e.Version,
		Data:      e.Data,
		Metadata:  e.Metadata,
	})
	if err != nil {
		return bad(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// runUpcaster calls u.Up, turning a panic into an error.
func runUpcaster(u Upcaster, data json.RawMessage) (out json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("upcaster panicked: %v", r)
		}
	}()
	// The upcaster gets its own copy, so it cannot alter the caller's data.
	return u.Up(bytes.Clone(data))
}

// objectFields parses b as exactly one JSON object and returns its members,
// rejecting duplicate names.
func objectFields(b []byte) (map[string]json.RawMessage, error) {
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
