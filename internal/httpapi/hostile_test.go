package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/internal/httpapi"
)

// rw is a token with both order scopes.
const rwSecret = "read-write-secret-0123456789"

// body returns validBody with old replaced by new (once; it must occur).
func body(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(validBody, old) {
		t.Fatalf("validBody lacks %q", old)
	}
	return strings.Replace(validBody, old, new, 1)
}

// TestHostileInput is the hostile-input catalogue of the README: every
// case gets its documented answer as problem+json, never a 500, and a
// rejected request writes nothing (events, outbox rows and idempotency
// keys are counted before and after).
func TestHostileInput(t *testing.T) {
	ts, err := httpapi.ParseTokens("rw orders:read,orders:write " + rwSecret)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, httpapi.WithAuth(ts))
	auth := "Bearer " + rwSecret
	// An order placed with an Idempotency-Key, to replay.
	first := do(t, "POST", f.url+"/v1/orders", "application/json", []byte(validBody),
		map[string]string{"Authorization": auth, "Idempotency-Key": "replay-me"})
	if first.status != 202 {
		t.Fatalf("setup: got %d %s", first.status, first.body)
	}
	const json = "application/json"
	long := strings.Repeat("x", 100_000)
	tests := []struct {
		name       string
		method     string
		path       string
		ct         string
		body       string
		header     map[string]string
		want       int
		wantDetail string // a substring of the problem's detail, or of a 422's field list
		wantWrites bool
	}{
		// Size and shape.
		{"body over 1 MiB", "POST", "/v1/orders", json, `{"userId":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`, nil, 413, "exceeds", false},
		{"deep JSON", "POST", "/v1/orders", json, strings.Repeat(`{"a":`, 10_000), nil, 400, "nested deeper", false},
		{"deep JSON inside a field", "POST", "/v1/orders", json, body(t, `"items": [`, `"items": [`+strings.Repeat("[", 40)), nil, 400, "nested deeper", false},
		{"deep JSON within the limit but wrong", "POST", "/v1/orders", json, body(t, `[{"productId": "p-1", "quantity": 2}]`, `[[[{"productId": "p-1", "quantity": 2}]]]`), nil, 400, "items", false},
		{"unknown field", "POST", "/v1/orders", json, body(t, `"currency"`, `"price": 1, "currency"`), nil, 400, `unknown field "price"`, false},
		{"unknown nested field", "POST", "/v1/orders", json, body(t, `"name"`, `"admin": true, "name"`), nil, 400, `unknown field "admin"`, false},
		{"userId a number", "POST", "/v1/orders", json, body(t, `"u-42"`, `42`), nil, 400, "userId", false},
		{"items an object", "POST", "/v1/orders", json, body(t, `[{"productId": "p-1", "quantity": 2}]`, `{"productId": "p-1"}`), nil, 400, "items", false},
		{"address a string", "POST", "/v1/orders", json, `{"userId":"u","items":[],"currency":"USD","shippingAddress":"1 Main St"}`, nil, 400, "shippingAddress", false},
		{"null body", "POST", "/v1/orders", json, `null`, nil, 422, "userId", false},
		{"empty object", "POST", "/v1/orders", json, `{}`, nil, 422, "items", false},
		{"two JSON values", "POST", "/v1/orders", json, validBody + validBody, nil, 400, "after the JSON value", false},
		{"byte order mark", "POST", "/v1/orders", json, "\ufeff" + validBody, nil, 400, "malformed JSON", false},
		// Duplicate keys: encoding/json would keep the last, silently.
		{"duplicate key", "POST", "/v1/orders", json, body(t, `"userId": "u-42"`, `"userId": "u-42", "userId": "u-43"`), nil, 400, "duplicate key", false},
		{"duplicate key, other case", "POST", "/v1/orders", json, body(t, `"userId": "u-42"`, `"userId": "u-42", "USERID": "u-43"`), nil, 400, "duplicate key", false},
		{"duplicate key, escaped", "POST", "/v1/orders", json, body(t, `"userId": "u-42"`, `"userId": "u-42", "\u0075serId": "u-43"`), nil, 400, "duplicate key", false},
		{"duplicate key, long s folds to s", "POST", "/v1/orders", json, body(t, `"currency"`, `"itemſ": [], "currency"`), nil, 400, "duplicate key", false},
		{"duplicate key, escaped long s", "POST", "/v1/orders", json, body(t, `"currency"`, `"item\u017f": [], "currency"`), nil, 400, "duplicate key", false},
		{"duplicate nested key", "POST", "/v1/orders", json, body(t, `"country": "US"`, `"country": "US", "country": "XX"`), nil, 400, "duplicate key", false},
		{"same key in sibling objects is fine", "POST", "/v1/orders", json, body(t, `"quantity": 2}`, `"quantity": 2}, {"productId": "p-2", "quantity": 1}`), nil, 202, "", true},
		// Quantities.
		{"negative quantity", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": -1`), nil, 422, "items[0].quantity", false},
		{"zero quantity", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 0`), nil, 422, "items[0].quantity", false},
		{"quantity over 1000", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 1001`), nil, 422, "items[0].quantity", false},
		{"max int64 quantity", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 9223372036854775807`), nil, 422, "items[0].quantity", false},
		{"quantity past int64", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 9223372036854775808`), nil, 400, "quantity", false},
		{"huge quantity", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 1e300`), nil, 400, "quantity", false},
		{"fractional quantity", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 1.5`), nil, 400, "quantity", false},
		{"quantity 2.0", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 2.0`), nil, 400, "quantity", false},
		{"quantity as a string", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": "2"`), nil, 400, "quantity", false},
		{"101 items", "POST", "/v1/orders", json, body(t, `"quantity": 2}`, `"quantity": 2}`+strings.Repeat(`, {"productId": "p-2", "quantity": 1}`, 100)), nil, 422, "items", false},
		// Catalog values.
		{"unknown product", "POST", "/v1/orders", json, body(t, `"p-1"`, `"p-999"`), nil, 422, "items[0].productId", false},
		{"unknown currency", "POST", "/v1/orders", json, body(t, `"USD"`, `"XYZ"`), nil, 422, "currency", false},
		{"lower-case currency", "POST", "/v1/orders", json, body(t, `"USD"`, `"usd"`), nil, 422, "currency", false},
		{"client-sent price", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 2, "price": 0.01`), nil, 400, `unknown field "price"`, false},
		// Long ids.
		{"long userId", "POST", "/v1/orders", json, body(t, `"u-42"`, `"`+strings.Repeat("u", 129)+`"`), nil, 422, "userId", false},
		{"100 kB userId", "POST", "/v1/orders", json, body(t, `"u-42"`, `"`+long+`"`), nil, 422, "userId", false},
		{"100 kB productId", "POST", "/v1/orders", json, body(t, `"p-1"`, `"`+long+`"`), nil, 422, "items[0].productId", false},
		{"long name", "POST", "/v1/orders", json, body(t, `"Ada"`, `"`+strings.Repeat("é", 201)+`"`), nil, 422, "shippingAddress.name", false},
		{"long order id in the path", "GET", "/v1/orders/" + strings.Repeat("o", 200), "", "", nil, 404, "", false},
		{"very long order id in the path", "GET", "/v1/orders/" + strings.Repeat("o", 5000), "", "", nil, 404, "path segment", false},
		{"very long id, cancel", "POST", "/v1/orders/" + strings.Repeat("o", 5000) + "/cancel", "", "", nil, 404, "path segment", false},
		{"very long product id", "GET", "/v1/products/" + strings.Repeat("p", 5000), "", "", nil, 404, "", false},
		{"huge query string", "GET", "/v1/products?q=" + strings.Repeat("q", 64<<10), "", "", nil, 414, "URI", false},
		{"huge query on a write", "POST", "/v1/orders?q=" + strings.Repeat("q", 64<<10), json, validBody, nil, 414, "URI", false},
		// Encoding.
		{"invalid UTF-8", "POST", "/v1/orders", json, body(t, `"Ada"`, "\"Ad\xff\""), nil, 400, "UTF-8", false},
		{"overlong UTF-8 slash", "POST", "/v1/orders", json, body(t, `"Ada"`, "\"\xc0\xaf\""), nil, 400, "UTF-8", false},
		{"lone surrogate escape", "POST", "/v1/orders", json, body(t, `"Ada"`, `"Ad\ud800"`), nil, 422, "shippingAddress.name", false},
		{"raw NUL in a string", "POST", "/v1/orders", json, body(t, `"Ada"`, "\"A\x00da\""), nil, 400, "malformed JSON", false},
		{"escaped NUL in a name", "POST", "/v1/orders", json, body(t, `"Ada"`, `"A\u0000da"`), nil, 422, "shippingAddress.name", false},
		{"escaped NUL in userId", "POST", "/v1/orders", json, body(t, `"u-42"`, `"u\u0000"`), nil, 422, "userId", false},
		{"NUL in the path", "GET", "/v1/orders/a%00b", "", "", nil, 404, "", false},
		{"CR LF in a name", "POST", "/v1/orders", json, body(t, `"Ada"`, `"Ada\r\nSet-Cookie: x=1"`), nil, 422, "shippingAddress.name", false},
		// Idempotency.
		{"replayed key, same body", "POST", "/v1/orders", json, validBody, map[string]string{"Idempotency-Key": "replay-me"}, 202, "", false},
		{"replayed key, different body", "POST", "/v1/orders", json, body(t, `"quantity": 2`, `"quantity": 3`), map[string]string{"Idempotency-Key": "replay-me"}, 409, "", false},
		{"key over 255 bytes", "POST", "/v1/orders", json, validBody, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, "Idempotency-Key", false},
		{"non-ASCII key", "POST", "/v1/orders", json, validBody, map[string]string{"Idempotency-Key": "ключ"}, 400, "Idempotency-Key", false},
		// Content types.
		{"no content type", "POST", "/v1/orders", "", validBody, nil, 415, "Content-Type", false},
		{"text/plain", "POST", "/v1/orders", "text/plain", validBody, nil, 415, "Content-Type", false},
		{"form", "POST", "/v1/orders", "application/x-www-form-urlencoded", "userId=u", nil, 415, "Content-Type", false},
		{"xml", "POST", "/v1/orders", "application/xml", "<order/>", nil, 415, "Content-Type", false},
		{"latin-1 JSON", "POST", "/v1/orders", "application/json; charset=iso-8859-1", validBody, nil, 415, "charset", false},
		{"malformed content type", "POST", "/v1/orders", "application/json; ;;=", validBody, nil, 415, "Content-Type", false},
		{"gzip", "POST", "/v1/orders", json, validBody, map[string]string{"Content-Encoding": "gzip"}, 415, "Content-Encoding", false},
		{"utf-8 JSON is fine", "POST", "/v1/orders", "application/json; charset=UTF-8", validBody, nil, 202, "", true},
		// Methods.
		{"DELETE an order", "DELETE", "/v1/orders/x", "", "", nil, 405, "not allowed", false},
		{"PUT orders", "PUT", "/v1/orders", json, validBody, nil, 405, "not allowed", false},
		{"PATCH a product", "PATCH", "/v1/products/p-1", json, `{}`, nil, 405, "not allowed", false},
		{"made-up method", "BREW", "/v1/orders", "", "", nil, 405, "not allowed", false},
		{"GET cancel", "GET", "/v1/orders/x/cancel", "", "", nil, 405, "not allowed", false},
		// Paths.
		{"encoded traversal", "GET", "/v1/orders/..%2F..%2Fetc%2Fpasswd", "", "", nil, 404, "", false},
		{"encoded traversal to events", "GET", "/v1/orders/..%2Fx/events", "", "", nil, 404, "", false},
		{"encoded traversal, cancel", "POST", "/v1/orders/..%2F..%2Fhealthz/cancel", "", "", nil, 404, "", false},
		{"dot segments (redirected, then no route)", "GET", "/v1/orders/../../etc/passwd", "", "", nil, 404, "", false},
		{"unknown route", "GET", "/v1/admin", "", "", nil, 404, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Authorization": auth}
			for k, v := range tt.header {
				h[k] = v
			}
			before := f.rows(t)
			r := do(t, tt.method, f.url+tt.path, tt.ct, []byte(tt.body), h)
			if r.status != tt.want {
				t.Fatalf("got %d %.300s, want %d", r.status, r.body, tt.want)
			}
			if after := f.rows(t); (after != before) != tt.wantWrites {
				t.Errorf("rows: before %+v, after %+v; want writes: %v", before, after, tt.wantWrites)
			}
			if tt.want < 400 {
				return
			}
			p := r.problem(t)
			text := p.Detail
			for _, fe := range p.Errors {
				text += " " + fe.Field
			}
			if !strings.Contains(text, tt.wantDetail) {
				t.Errorf("problem %q does not mention %q", text, tt.wantDetail)
			}
			if len(r.body) > 8<<10 {
				t.Errorf("the answer is %d bytes: echoed input is not clipped", len(r.body))
			}
		})
	}
}

// TestHeaderInjection sends header values no Go client would send,
// straight to the handler (and through a raw connection, to net/http):
// they are refused with 400, and nothing of them comes back.
func TestHeaderInjection(t *testing.T) {
	f := newFixture(t, httpapi.WithoutAuth())
	tests := []struct {
		name   string
		header string
		value  string
	}{
		{"CR LF in Idempotency-Key", "Idempotency-Key", "k\r\nSet-Cookie: evil=1"},
		{"LF in Idempotency-Key", "Idempotency-Key", "k\nX-Evil: 1"},
		{"NUL in Idempotency-Key", "Idempotency-Key", "k\x00evil"},
		{"DEL in Idempotency-Key", "Idempotency-Key", "k\x7fevil"},
		{"CR LF in Content-Type", "Content-Type", "application/json\r\nSet-Cookie: evil=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.rows(t)
			req := httptest.NewRequest("POST", "/v1/orders", strings.NewReader(validBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header[http.CanonicalHeaderKey(tt.header)] = []string{tt.value}
			rec := httptest.NewRecorder()
			f.api.ServeHTTP(rec, req)
			res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			if res.status != 400 && res.status != 415 {
				t.Fatalf("got %d %s, want 400 or 415", res.status, res.body)
			}
			res.problem(t)
			for k, vs := range res.header {
				for _, v := range vs {
					if strings.Contains(k+v, "evil") || strings.Contains(k, "Evil") || strings.ContainsAny(v, "\r\n") {
						t.Errorf("injected header reflected: %s: %q", k, v)
					}
				}
			}
			if strings.ContainsAny(strings.TrimSuffix(string(res.body), "\n"), "\r\n\x00") {
				t.Errorf("the body carries raw control characters: %q", res.body)
			}
			if after := f.rows(t); after != before {
				t.Errorf("rows: before %+v, after %+v", before, after)
			}
		})
	}
	t.Run("raw CR through net/http", func(t *testing.T) {
		before := f.rows(t)
		status := rawRequest(t, f.url, "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
			"Idempotency-Key: k\rSet-Cookie: evil=1\r\n"+
			fmt.Sprintf("Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(validBody), validBody))
		if !strings.HasPrefix(status, "HTTP/1.1 400") {
			t.Errorf("got %q, want 400 from net/http", status)
		}
		if after := f.rows(t); after != before {
			t.Errorf("rows: before %+v, after %+v", before, after)
		}
	})
}

// rawRequest writes req on a new connection to url and returns the status
// line of the answer.
func rawRequest(t *testing.T, url, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}
