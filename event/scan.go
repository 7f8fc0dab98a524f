package event

import (
	"encoding/json"
	"errors"
	"fmt"
)

// This file holds Decode's single-pass JSON scanner. It replaces a
// json.Decoder.Token walk (about 150 allocations per envelope) and accepts
// exactly the inputs encoding/json accepts: RFC 8259 JSON, with the same
// nesting limit (maxDepth containers per member value, counted the way the
// decoder's fresh scanner per value counted them). The scanner does not
// check UTF-8; Decode checks the whole input once before scanning.
// FuzzDecodeDifferential compares Decode with the json.Decoder version.

// maxDepth is encoding/json's nesting limit (scanner.go maxNestingDepth).
const maxDepth = 10000

// Indices of the envelope's fields, in the order of envelopeFields.
const (
	fEventID = iota
	fEventType
	fTimestamp
	fVersion
	fData
	fMetadata
	numFields
)

// Indices of the metadata fields.
const (
	mCorrelationID = iota
	mCausationID
	mSource
	numMetaFields
)

// strStop marks the bytes that end the fast path inside a JSON string: the
// quote, the backslash and the control characters, which must be escaped.
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// scanner walks JSON text in b from offset i.
type scanner struct {
	b []byte
	i int
	// ws counts the white space bytes skipped between tokens, so a caller
	// can tell how much of a value json.Compact would remove.
	ws int
}

// syntaxError describes invalid JSON at the scanner's position.
func (s *scanner) syntaxError(what string) error {
	if s.i >= len(s.b) {
		return fmt.Errorf("not JSON: unexpected end of input (%s)", what)
	}
	return fmt.Errorf("not JSON: invalid character %q at offset %d (%s)", s.b[s.i], s.i, what)
}

func (s *scanner) skipWS() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
			s.ws++
		default:
			return
		}
	}
}

// expect consumes c, after optional white space.
func (s *scanner) expect(c byte, what string) error {
	s.skipWS()
	if s.i >= len(s.b) || s.b[s.i] != c {
		return s.syntaxError(what)
	}
	s.i++
	return nil
}

// value scans one JSON value starting at s.i (no leading white space);
// depth is the number of containers around it.
func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.syntaxError("looking for the beginning of a value")
	}
	switch c := s.b[s.i]; c {
	case '{':
		return s.object(depth + 1)
	case '[':
		return s.array(depth + 1)
	case '"':
		_, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number()
		}
		return s.syntaxError("looking for the beginning of a value")
	}
}

// object scans an object; s.b[s.i] is '{'.
func (s *scanner) object(depth int) error {
	if depth > maxDepth {
		return s.syntaxError("exceeded max depth")
	}
	s.i++
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.syntaxError("looking for the beginning of an object key")
		}
		if _, err := s.str(); err != nil {
			return err
		}
		if err := s.expect(':', "after object key"); err != nil {
			return err
		}
		s.skipWS()
		if err := s.value(depth); err != nil {
			return err
		}
		s.skipWS()
		if s.i < len(s.b) {
			switch s.b[s.i] {
			case ',':
				s.i++
				s.skipWS()
				continue
			case '}':
				s.i++
				return nil
			}
		}
		return s.syntaxError("after object key:value pair")
	}
}

// array scans an array; s.b[s.i] is '['.
func (s *scanner) array(depth int) error {
	if depth > maxDepth {
		return s.syntaxError("exceeded max depth")
	}
	s.i++
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.skipWS()
		if s.i < len(s.b) {
			switch s.b[s.i] {
			case ',':
				s.i++
				s.skipWS()
				continue
			case ']':
				s.i++
				return nil
			}
		}
		return s.syntaxError("after array element")
	}
}

// str scans a string; s.b[s.i] is '"'. It reports whether the string holds
// an escape sequence.
func (s *scanner) str() (escaped bool, err error) {
	b := s.b
	i := s.i + 1
	for {
		for i < len(b) && !strStop[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = i
			return false, s.syntaxError("in string literal")
		}
		switch b[i] {
		case '"':
			s.i = i + 1
			return escaped, nil
		case '\\':
			escaped = true
			if i+1 >= len(b) {
				s.i = i + 1
				return false, s.syntaxError("in string escape code")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) || !isHex(b[k]) {
						s.i = k
						return false, s.syntaxError("in \\u hexadecimal character escape")
					}
				}
				i += 6
			default:
				s.i = i + 1
				return false, s.syntaxError("in string escape code")
			}
		default: // a control character
			s.i = i
			return false, s.syntaxError("in string literal")
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() error {
	b := s.b
	i := s.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		s.i = i
		return s.syntaxError("in numeric literal")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			s.i = i
			return s.syntaxError("after decimal point in numeric literal")
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			s.i = i
			return s.syntaxError("in exponent of numeric literal")
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	s.i = i
	return nil
}

// literal scans true, false or null.
func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		// Point at the first byte that differs, for the message.
		for k := 0; k < len(lit) && s.i < len(s.b) && s.b[s.i] == lit[k]; k++ {
			s.i++
		}
		return s.syntaxError("in literal " + lit)
	}
	s.i += len(lit)
	return nil
}

// key scans an object key (s.b[s.i] is '"') and returns its text,
// unescaped: a sub-slice of the input when it has no escape sequence.
func (s *scanner) key() ([]byte, error) {
	start := s.i
	escaped, err := s.str()
	if err != nil {
		return nil, err
	}
	raw := s.b[start:s.i]
	if !escaped {
		return raw[1 : len(raw)-1], nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return []byte(k), nil
}

// envelopeFields lists the envelope's JSON fields, all required, by index.
var envelopeFields = [numFields]string{"eventId", "eventType", "timestamp", "version", "data", "metadata"}

func envelopeField(k []byte) int {
	switch string(k) {
	case "eventId":
		return fEventID
	case "eventType":
		return fEventType
	case "timestamp":
		return fTimestamp
	case "version":
		return fVersion
	case "data":
		return fData
	case "metadata":
		return fMetadata
	}
	return -1
}

var metadataFields = [numMetaFields]string{"correlationId", "causationId", "source"}

func metadataField(k []byte) int {
	switch string(k) {
	case "correlationId":
		return mCorrelationID
	case "causationId":
		return mCausationID
	case "source":
		return mSource
	}
	return -1
}

// members scans b as exactly one JSON object (white space around it
// allowed) whose member names are the envelope's (metadata's, if meta)
// fields, and sets raw[i] to the exact bytes of field i's value. An unknown
// or duplicate name is an error; absent members are left nil. It returns
// the white space between the tokens of the data field's value.
func members(b []byte, meta bool, raw *[numFields][]byte) (dataWS int, err error) {
	s := scanner{b: b}
	s.skipWS()
	if s.i >= len(b) {
		return 0, s.syntaxError("looking for the beginning of a value")
	}
	if b[s.i] != '{' {
		return 0, errors.New("not a JSON object")
	}
	s.i++
	s.skipWS()
	var seen uint
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
	} else {
		for {
			if s.i >= len(b) || b[s.i] != '"' {
				return 0, s.syntaxError("looking for the beginning of an object key")
			}
			k, err := s.key()
			if err != nil {
				return 0, err
			}
			if err := s.expect(':', "after object key"); err != nil {
				return 0, err
			}
			s.skipWS()
			start, ws0 := s.i, s.ws
			if err := s.value(0); err != nil {
				return 0, fmt.Errorf("field %.64q: %w", k, err)
			}
			var f int
			if meta {
				f = metadataField(k)
			} else {
				f = envelopeField(k)
			}
			if f < 0 {
				return 0, fmt.Errorf("unknown field %.64q", k)
			}
			if seen&(1<<f) != 0 {
				return 0, fmt.Errorf("duplicate field %.64q", k)
			}
			seen |= 1 << f
			raw[f] = b[start:s.i]
			if f == fData && !meta {
				dataWS = s.ws - ws0
			}
			s.skipWS()
			if s.i < len(b) {
				if b[s.i] == ',' {
					s.i++
					s.skipWS()
					continue
				}
				if b[s.i] == '}' {
					s.i++
					break
				}
			}
			return 0, s.syntaxError("after object key:value pair")
		}
	}
	s.skipWS()
	if s.i != len(b) {
		return 0, errors.New("trailing data after the JSON object")
	}
	return dataWS, nil
}

// stringText returns the text of the JSON string raw (a valid JSON value):
// a sub-slice of raw when it has no escape sequence, else the unescaped
// bytes. ok is false when raw is not a string.
func stringText(raw []byte) (text []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, false // cannot happen: raw was scanned
			}
			return []byte(s), true
		}
	}
	return body, true
}

// compactCopy returns a copy of the valid JSON value raw without white
// space between tokens, as json.Compact would; ws is the number of such
// bytes, or -1 if unknown.
func compactCopy(raw []byte, ws int) json.RawMessage {
	if ws == 0 {
		return append(make(json.RawMessage, 0, len(raw)), raw...)
	}
	n := len(raw)
	if ws > 0 {
		n -= ws
	}
	out := make(json.RawMessage, 0, n)
	start := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			out = append(out, raw[start:i]...)
			start = i + 1
		case '"':
			// Skip the string: to the next quote not escaped.
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
		}
	}
	return append(out, raw[start:]...)
}
