package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersvc"
)

// FuzzPlaceOrder sends arbitrary bodies, content types and idempotency
// keys through the real handler over an order service on SQLite. The
// answer is one of the documented statuses, never a 500; a 202 carries a
// well-formed answer and writes one order (or replays one); any other
// answer is problem+json and writes nothing.
func FuzzPlaceOrder(f *testing.F) {
	for _, s := range []struct{ body, ct, key string }{
		{validBody, "application/json", ""},
		{validBody, "application/json", "k-1"},
		{strings.Replace(validBody, `"quantity": 2`, `"quantity": 3`, 1), "application/json", "k-1"},
		{validBody, "text/plain", ""},
		{validBody, "application/json; charset=latin1", ""},
		{`{"userId":"u","userId":"v"}`, "application/json", ""},
		{`{"userId":"u","items":[{"productId":"p-1","quantity":-1}],"currency":"XYZ"}`, "application/json", ""},
		{strings.Repeat("[", 40), "application/json", ""},
		{`null`, "application/json", ""},
		{"{\"userId\":\"\xff\"}", "application/json", "k\r\n"},
	} {
		f.Add([]byte(s.body), s.ct, s.key)
	}
	fx := newFixture(f, httpapi.WithoutAuth())
	allowed := map[int]bool{202: true, 400: true, 409: true, 413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, body []byte, contentType, key string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(body))
		if contentType != "" {
			req.Header["Content-Type"] = []string{contentType}
		}
		if key != "" {
			req.Header["Idempotency-Key"] = []string{key}
		}
		before := fx.rows(t)
		rec := httptest.NewRecorder()
		fx.api.ServeHTTP(rec, req)
		after := fx.rows(t)
		if !allowed[rec.Code] {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusAccepted {
			res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			res.problem(t)
			if after != before {
				t.Fatalf("a %d wrote: rows before %+v, after %+v", rec.Code, before, after)
			}
			return
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("202 with content type %q", ct)
		}
		var res ordersvc.PlaceResult
		dec := json.NewDecoder(rec.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("202 body %q: %v", rec.Body, err)
		}
		if res.OrderID == "" || res.CorrelationID == "" || res.ConsistencyToken == "" || res.Status != "placed" {
			t.Fatalf("202 answer %+v", res)
		}
		if rec.Header().Get("Location") != "/v1/orders/"+res.OrderID {
			t.Fatalf("Location %q for order %s", rec.Header().Get("Location"), res.OrderID)
		}
		replayed := rec.Header().Get(httpapi.HeaderIdempotentReplayed) == "true"
		switch {
		case replayed && after != before:
			t.Fatalf("a replay wrote: rows before %+v, after %+v", before, after)
		case !replayed && (after.events != before.events+1 || after.outbox != before.outbox+1):
			t.Fatalf("a new order wrote: rows before %+v, after %+v", before, after)
		}
	})
}

// FuzzDecodeJSON checks decodeJSON and its pre-pass against a reference
// built on encoding/json's tokenizer: on valid JSON the pre-pass refuses
// exactly the bodies nested deeper than the limit or with a key twice in
// an object (as encoding/json matches keys, case-insensitively), and a
// body decodeJSON accepts is valid UTF-8 JSON within the limits. Every
// error is a 400 or a 413.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		validBody, `{}`, `[]`, `null`, `"x"`, `{"a":1,"A":2}`, `{"a":{"a":1},"b":{"a":1}}`,
		`{"\u0061":1,"a":2}`, `{"itemſ":1,"items":2}`, `{"a\"":1,"a\\":2}`, `[{"a":1},{"a":1}]`,
		strings.Repeat("[", 32) + strings.Repeat("]", 32), strings.Repeat("[", 33) + strings.Repeat("]", 33),
		`{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}`, `{"a":"\ud800","b":"\udc00"}`, `{"\ud800":1,"\udc00":2}`,
		"{\"a\":\"\xff\"}", `{"userId": 1}`, `{"userId":"u"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pre := httpapi.CheckJSON(body, httpapi.MaxDepth)
		if pre != nil && !errors.Is(pre, httpapi.ErrBadRequest) {
			t.Fatalf("pre-pass error %v is not ErrBadRequest", pre)
		}
		valid := utf8.Valid(body) && json.Valid(body)
		if valid {
			depth, dup := reference(t, body)
			if wantErr := depth > httpapi.MaxDepth || dup; (pre != nil) != wantErr {
				t.Fatalf("pre-pass: got %v; reference: depth %d, duplicate key %v", pre, depth, dup)
			}
		}

		req := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var v httpapi.PlaceOrderRequest
		err := httpapi.DecodeJSON(httptest.NewRecorder(), req, &v)
		if err != nil {
			if !errors.Is(err, httpapi.ErrBadRequest) && !errors.Is(err, httpapi.ErrTooLarge) {
				t.Fatalf("error %v is neither ErrBadRequest nor ErrTooLarge", err)
			}
			return
		}
		if !valid || pre != nil {
			t.Fatalf("accepted %q (valid %v, pre-pass %v)", body, valid, pre)
		}
	})
}

// reference returns the nesting depth of valid JSON b and whether an
// object in it has two keys that encoding/json would match to one field
// (strings.EqualFold), using encoding/json's tokenizer.
func reference(t *testing.T, b []byte) (depth int, dup bool) {
	var stack []refFrame
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // a number beyond float64 is still valid JSON
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return depth, dup
		}
		if err != nil {
			t.Fatalf("reference: %v on valid JSON %q", err, b)
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				valueDone(stack)
				continue
			}
			k := tok.(string)
			for _, o := range stack[n-1].keys {
				if strings.EqualFold(o, k) {
					dup = true
				}
			}
			stack[n-1].keys = append(stack[n-1].keys, k)
			stack[n-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, refFrame{obj: tok == json.Delim('{'), wantKey: tok == json.Delim('{')})
			depth = max(depth, len(stack))
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone(stack)
		default:
			valueDone(stack)
		}
	}
}

// refFrame is an open container of reference.
type refFrame struct {
	obj, wantKey bool
	keys         []string
}

// valueDone marks that the innermost object, if any, wants a key next.
func valueDone(stack []refFrame) {
	if n := len(stack); n > 0 && stack[n-1].obj {
		stack[n-1].wantKey = true
	}
}
