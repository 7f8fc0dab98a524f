package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxBodyBytes bounds request bodies (413 beyond it).
const MaxBodyBytes = 1 << 20

// decodeJSON reads r's body into v: application/json (or +json) in UTF-8
// only (415), at most MaxBodyBytes (413), valid UTF-8, no key twice in an
// object, no unknown fields, one JSON value, no trailing data (400).
// Nesting deeper than maxDepth is refused (400) before decoding.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return fmt.Errorf("%w: Content-Type must be application/json, got %q", ErrUnsupportedMediaType, clip(ct))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Errorf("%w: the charset must be utf-8, got %q", ErrUnsupportedMediaType, clip(cs))
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return fmt.Errorf("%w: Content-Encoding %q is not supported; send the body uncompressed", ErrUnsupportedMediaType, clip(ce))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, MaxBodyBytes)
		}
		return fmt.Errorf("%w: reading body: %v", ErrBadRequest, err)
	}
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: the body is not valid UTF-8", ErrBadRequest)
	}
	if err := checkJSON(body, maxDepth); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s", ErrBadRequest, describeJSONError(err))
	}
	if dec.More() {
		return fmt.Errorf("%w: unexpected data after the JSON value", ErrBadRequest)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: unexpected data after the JSON value", ErrBadRequest)
	}
	return nil
}

// maxDepth bounds JSON nesting in request bodies.
const maxDepth = 32

// checkJSON is a linear pre-pass over a body before it is decoded: it
// refuses nesting deeper than max and an object that names a key twice
// (400). Keys are compared as encoding/json matches them to fields, case-
// insensitively, so {"userId":"a","USERID":"b"} is refused too instead of
// silently keeping the last value. It does not validate the syntax; the
// decoder does.
func checkJSON(b []byte, max int) error {
	type frame struct {
		obj, wantKey bool
		keys         map[string]struct{}
	}
	var stack []frame
	inStr, esc, start := false, false, 0
	for i, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
				if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantKey {
					top := &stack[n-1]
					top.wantKey = false
					k := foldKey(unquoteKey(b[start : i+1]))
					if _, dup := top.keys[k]; dup {
						return fmt.Errorf("%w: duplicate key %s in an object", ErrBadRequest, clip(string(b[start:i+1])))
					}
					if top.keys == nil {
						top.keys = map[string]struct{}{}
					}
					top.keys[k] = struct{}{}
				}
			}
		case c == '"':
			inStr, start = true, i
		case c == '{' || c == '[':
			if len(stack) >= max {
				return fmt.Errorf("%w: JSON nested deeper than %d levels", ErrBadRequest, max)
			}
			stack = append(stack, frame{obj: c == '{', wantKey: c == '{'})
		case c == '}' || c == ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case c == ',':
			if n := len(stack); n > 0 && stack[n-1].obj {
				stack[n-1].wantKey = true
			}
		}
	}
	return nil
}

// unquoteKey returns the text of the JSON string q (quotes included),
// unescaped when it has escapes; a string that does not unquote is
// returned as is (the decoder will refuse it).
func unquoteKey(q []byte) string {
	if !bytes.ContainsRune(q, '\\') {
		return string(q[1 : len(q)-1])
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return string(q)
	}
	return s
}

// foldKey maps s to a canonical form under Unicode simple case folding
// (each rune to the smallest of its fold orbit), so foldKey(a) ==
// foldKey(b) exactly when encoding/json would match a and b to the same
// field (strings.EqualFold).
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(root)"
		}
		return fmt.Sprintf("field %s: expected %s, got JSON %s", field, te.Type, te.Value)
	case errors.Is(err, io.EOF):
		return "empty body"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of input"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return err.Error()
	}
}
