package outbox

import (
	"encoding/json"
	"unicode/utf8"
)

// The headers column holds a row's headers as the JSON encoding/json gives
// a []Header: [{"key":"traceparent","value":"00-…"},{"key":"ce_type",…}].
// Encoding and decoding it with encoding/json showed up in CPU profiles of
// the relay, so the codec below handles that one shape by hand. It is a
// drop-in: appendHeadersJSON writes exactly the bytes json.Marshal writes,
// and parseHeadersJSON returns exactly what json.Unmarshal returns, because
// it decodes only the compact, escape-free form itself and leaves anything
// else (escapes, whitespace, other field names or order, null elements) to
// encoding/json. FuzzHeadersJSON checks both against encoding/json.

// hexDigits are the digits of a \u00XX escape, lower case as encoding/json
// writes them.
const hexDigits = "0123456789abcdef"

// appendHeadersJSON appends the JSON encoding of hs to dst, byte for byte
// what json.Marshal(hs) returns: null for a nil slice, and strings escaped
// the way encoding/json escapes them (HTML-safe, U+2028 and U+2029 escaped,
// invalid UTF-8 replaced by \ufffd).
func appendHeadersJSON(dst []byte, hs []Header) []byte {
	if hs == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, h := range hs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = appendJSONString(dst, h.Key)
		dst = append(dst, `,"value":`...)
		dst = appendJSONString(dst, h.Value)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendJSONString appends s as a JSON string, escaped exactly as
// encoding/json escapes a string with HTML escaping on (its default).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if htmlSafe(b) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // other control bytes, and <, > and &
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// htmlSafe reports whether encoding/json writes the ASCII byte b in a
// string as it is: printable, and none of " \ < > &.
func htmlSafe(b byte) bool {
	return b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
}

// parseHeadersJSON decodes a headers column. It returns what json.Unmarshal
// into a nil []Header would leave there, and the same error: nil for null,
// an empty slice for []. It decodes the compact form appendHeadersJSON
// writes for strings without escapes itself, and hands any other input to
// encoding/json.
func parseHeadersJSON(b []byte) ([]Header, error) {
	if hs, ok := parseCompactHeaders(b); ok {
		return hs, nil
	}
	var hs []Header
	err := json.Unmarshal(b, &hs)
	return hs, err
}

// parseCompactHeaders decodes b when it is exactly
// [{"key":"…","value":"…"},…] with no whitespace and strings of valid UTF-8
// without escapes or control bytes; ok is false for anything else. Every
// string of the result is a substring of one copy of b.
func parseCompactHeaders(b []byte) (hs []Header, ok bool) {
	if len(b) < 2 || b[0] != '[' {
		return nil, false
	}
	if len(b) == 2 && b[1] == ']' {
		return []Header{}, true
	}
	// Each header is one object; counting '{' gives an upper bound for
	// the slice, since a brace inside a string only overestimates.
	n := 0
	for _, c := range b {
		if c == '{' {
			n++
		}
	}
	if n == 0 {
		return nil, false
	}
	s := string(b) // one copy; the keys and values share it
	hs = make([]Header, 0, n)
	i := 1
	for {
		var h Header
		if i, ok = expect(s, i, `{"key":`); !ok {
			return nil, false
		}
		if h.Key, i, ok = plainString(s, i); !ok {
			return nil, false
		}
		if i, ok = expect(s, i, `,"value":`); !ok {
			return nil, false
		}
		if h.Value, i, ok = plainString(s, i); !ok {
			return nil, false
		}
		if i, ok = expect(s, i, `}`); !ok {
			return nil, false
		}
		hs = append(hs, h)
		if i == len(s)-1 && s[i] == ']' {
			return hs, true
		}
		if i, ok = expect(s, i, `,`); !ok {
			return nil, false
		}
	}
}

// expect reports whether s continues with lit at i, and the index after it.
func expect(s string, i int, lit string) (int, bool) {
	if len(s)-i < len(lit) || s[i:i+len(lit)] != lit {
		return i, false
	}
	return i + len(lit), true
}

// plainString reads the JSON string starting at s[i] when it needs no
// unescaping: no backslash, no control byte, valid UTF-8 (encoding/json
// would replace invalid bytes by U+FFFD). It returns the string's contents
// and the index after its closing quote.
func plainString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v := s[start:j]
			if !ascii && !utf8.ValidString(v) {
				return "", i, false
			}
			return v, j + 1, true
		case c == '\\' || c < 0x20:
			return "", i, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", i, false
}
