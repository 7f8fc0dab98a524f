package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// Decode parses and validates one envelope and upcasts its data to the
// current version of its type; the returned envelope's Version is that
// current version. Errors are *DecodeError values.
//
// It makes one pass over the input (see scan.go) and, for a valid envelope
// at the current version, allocates twice: one string backing all of the
// envelope's strings, and the compacted copy of the data.
func (c *Codec) Decode(b []byte) (Envelope, error) {
	malformed := func(typ string, err error) (Envelope, error) {
		return Envelope{}, &DecodeError{Kind: ErrMalformed, EventType: typ, Err: err}
	}
	if !utf8.Valid(b) {
		return malformed("", errors.New("input is not valid UTF-8"))
	}
	var raw [numFields][]byte
	dataWS, err := members(b, false, &raw)
	if err != nil {
		return malformed("", err)
	}
	for i, r := range raw {
		if r == nil {
			return malformed("", fmt.Errorf("missing field %q", envelopeFields[i]))
		}
	}
	// The metadata's structure is read now, so that its strings can share
	// one allocation with the others; its errors are reported in turn below.
	var md [numFields][]byte
	_, mdErr := members(raw[fMetadata], true, &md)

	// The texts of the string fields, joined into one string.
	const (
		tType = iota
		tID
		tTime
		tCorrelation
		tCausation
		tSource
		numTexts
	)
	var (
		text     [numTexts][]byte
		isString [numTexts]bool
		str      [numTexts]string
	)
	text[tType], isString[tType] = stringText(raw[fEventType])
	text[tID], isString[tID] = stringText(raw[fEventID])
	text[tTime], isString[tTime] = stringText(raw[fTimestamp])
	if mdErr == nil {
		for i, f := range [...]int{mCorrelationID, mCausationID, mSource} {
			if md[f] != nil {
				text[tCorrelation+i], isString[tCorrelation+i] = stringText(md[f])
			}
		}
	}
	n := 0
	for _, t := range text {
		n += len(t)
	}
	var stack [320]byte
	joined := stack[:0]
	if n > len(stack) {
		joined = make([]byte, 0, n)
	}
	for _, t := range text {
		joined = append(joined, t...)
	}
	all := string(joined)
	for i, t := range text {
		str[i], all = all[:len(t)], all[len(t):]
	}

	// The checks, in the order of the contract; eventType first, so later
	// errors can name it.
	if err := nameText(str[tType], isString[tType], false); err != nil {
		return malformed("", fmt.Errorf("eventType: %w", err))
	}
	typ := str[tType]
	e := Envelope{EventType: typ, EventID: str[tID]}
	if err := nameText(e.EventID, isString[tID], false); err != nil {
		return malformed(typ, fmt.Errorf("eventId: %w", err))
	}
	if e.Timestamp, err = timeText(str[tTime], isString[tTime]); err != nil {
		return malformed(typ, fmt.Errorf("timestamp: %w", err))
	}
	if e.Version, err = versionField(raw[fVersion]); err != nil {
		return malformed(typ, fmt.Errorf("version: %w", err))
	}
	if raw[fData][0] != '{' {
		return malformed(typ, errors.New("data: not a JSON object"))
	}
	e.Data = compactCopy(raw[fData], dataWS)
	if mdErr != nil {
		return malformed(typ, fmt.Errorf("metadata: %w", mdErr))
	}
	for i, f := range [...]struct {
		dst      *string
		optional bool
	}{
		{&e.Metadata.CorrelationID, false},
		{&e.Metadata.CausationID, true},
		{&e.Metadata.Source, false},
	} {
		if md[i] == nil {
			if f.optional {
				continue
			}
			return malformed(typ, fmt.Errorf("metadata: missing field %q", metadataFields[i]))
		}
		if err := nameText(str[tCorrelation+i], isString[tCorrelation+i], f.optional); err != nil {
			return malformed(typ, fmt.Errorf("metadata: %s: %w", metadataFields[i], err))
		}
		*f.dst = str[tCorrelation+i]
	}
	return c.upcast(e, true)
}

// Upcast brings an already parsed envelope (e.g. loaded from the event
// store) to the current version of its type. It checks the type, the
// version and that Data is a JSON object, but not the other fields. An
// envelope already at the current version is returned unchanged. Errors
// are *DecodeError values.
func (c *Codec) Upcast(e Envelope) (Envelope, error) {
	return c.upcast(e, false)
}

// upcast is Upcast; with owned, e.Data is a compact JSON object that only
// the caller (Decode) holds, so it is neither checked nor copied for the
// first upcaster.
func (c *Codec) upcast(e Envelope, owned bool) (Envelope, error) {
	ti, ok := c.reg.lookup(e.EventType)
	if !ok {
		return Envelope{}, &DecodeError{Kind: ErrUnknownType, EventType: e.EventType, Version: e.Version,
			Err: fmt.Errorf("registered types: %v", c.reg.Types())}
	}
	if e.Version < ti.oldest || e.Version > ti.latest {
		return Envelope{}, &DecodeError{Kind: ErrUnknownVersion, EventType: e.EventType, Version: e.Version,
			Err: fmt.Errorf("known versions are %d to %d", ti.oldest, ti.latest)}
	}
	if !owned && !isObject(e.Data) {
		return Envelope{}, &DecodeError{Kind: ErrMalformed, EventType: e.EventType, Version: e.Version,
			Err: errors.New("data: not a JSON object")}
	}
	data := e.Data
	for v := e.Version; v < ti.latest; v++ {
		// Only the caller's data needs a copy: what compact returns for the
		// later steps is fresh.
		out, err := runUpcaster(ti.chain[v-ti.oldest], data, !owned && v == e.Version)
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

// runUpcaster calls u.Up, turning a panic into an error. With clone, Up
// gets a copy of data.
func runUpcaster(u Upcaster, data json.RawMessage, clone bool) (out json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("upcaster panicked: %v", r)
		}
	}()
	// The upcaster gets its own copy, so it cannot alter the caller's data.
	if clone {
		data = bytes.Clone(data)
	}
	return u.Up(data)
}
