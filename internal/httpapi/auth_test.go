package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
)

// Test secrets: each at least MinTokenLen characters.
const (
	readerSecret = "reader-secret-0123456789"
	writerSecret = "writer-secret-0123456789"
	adminSecret  = "admin-secret-01234567890"
	allSecret    = "all-scopes-secret-012345"
)

func testTokens(t *testing.T) *httpapi.TokenSet {
	t.Helper()
	adminHash := sha256.Sum256([]byte(adminSecret))
	ts, err := httpapi.ParseTokens(`
# name   scopes                       secret
reader   orders:read                  ` + readerSecret + `
writer   orders:write                 ` + writerSecret + `
ops      admin                        sha256:` + hex.EncodeToString(adminHash[:]) + `
all      orders:read,orders:write,admin ` + allSecret)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func bearer(secret string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + secret}
}

func TestAuth(t *testing.T) {
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _ := httpapi.Principal(r.Context())
		w.Write([]byte(name))
	})
	f := newFixture(t, httpapi.WithAuth(testTokens(t)),
		httpapi.WithRoute("GET /metrics", httpapi.Public(), whoami),
		httpapi.WithRoute("POST /v1/dlq/{id}/replay", httpapi.Needs(httpapi.ScopeAdmin), whoami))
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		want       int
		wantChall  string // WWW-Authenticate, for 401 and 403
		wantBody   string // for 2xx: a substring
		wantWrites bool
	}{
		{"health is open", "GET", "/healthz", nil, 200, "", "", false},
		{"readiness is open", "GET", "/readyz", nil, 200, "", "", false},
		{"metrics is open", "GET", "/metrics", nil, 200, "", "", false},
		{"unknown route is 404, not 401", "GET", "/v1/nope", nil, 404, "", "", false},
		{"wrong method is 405, not 401", "DELETE", "/v1/orders", nil, 405, "", "", false},
		{"no token", "GET", "/v1/products", nil, 401, `Bearer realm="causeway"`, "", false},
		{"no token, place", "POST", "/v1/orders", nil, 401, `Bearer realm="causeway"`, "", false},
		{"unknown token", "GET", "/v1/products", bearer("not-a-known-token-at-all"), 401, `error="invalid_token"`, "", false},
		{"prefix of a token", "GET", "/v1/products", bearer(readerSecret[:20]), 401, `error="invalid_token"`, "", false},
		{"token plus a suffix", "GET", "/v1/products", bearer(readerSecret + "x"), 401, `error="invalid_token"`, "", false},
		{"basic scheme", "GET", "/v1/products", map[string]string{"Authorization": "Basic " + readerSecret}, 401, `error="invalid_request"`, "", false},
		{"bearer without token", "GET", "/v1/products", map[string]string{"Authorization": "Bearer "}, 401, `error="invalid_request"`, "", false},
		{"reader reads products", "GET", "/v1/products", bearer(readerSecret), 200, "", "p-1", false},
		{"scheme is case-insensitive", "GET", "/v1/products", map[string]string{"Authorization": "bearer " + readerSecret}, 200, "", "p-1", false},
		{"reader reads an order", "GET", "/v1/orders/nope", bearer(readerSecret), 404, "", "", false},
		{"reader cannot place", "POST", "/v1/orders", bearer(readerSecret), 403, `error="insufficient_scope", scope="orders:write"`, "", false},
		{"reader cannot cancel", "POST", "/v1/orders/x/cancel", bearer(readerSecret), 403, `scope="orders:write"`, "", false},
		{"writer places", "POST", "/v1/orders", bearer(writerSecret), 202, "", "placed", true},
		{"writer cannot read", "GET", "/v1/products", bearer(writerSecret), 403, `scope="orders:read"`, "", false},
		{"admin is not a reader", "GET", "/v1/products", bearer(adminSecret), 403, `scope="orders:read"`, "", false},
		{"reader cannot replay dead letters", "POST", "/v1/dlq/1/replay", bearer(readerSecret), 403, `scope="admin"`, "", false},
		{"admin by hash replays", "POST", "/v1/dlq/1/replay", bearer(adminSecret), 200, "", "ops", false},
		{"all scopes", "POST", "/v1/dlq/1/replay", bearer(allSecret), 200, "", "all", false},
		{"public route has no principal", "GET", "/metrics", bearer(allSecret), 200, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.rows(t)
			body := ""
			if tt.method == "POST" && tt.path == "/v1/orders" {
				body = validBody
			}
			r := do(t, tt.method, f.url+tt.path, "application/json", []byte(body), tt.header)
			if r.status != tt.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.want)
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, tt.wantChall) || (tt.wantChall == "") != (got == "") {
				t.Errorf("WWW-Authenticate: got %q, want it to contain %q", got, tt.wantChall)
			}
			if tt.want >= 400 {
				r.problem(t)
				for _, s := range []string{readerSecret, writerSecret, adminSecret, allSecret, "not-a-known"} {
					if strings.Contains(string(r.body), s) {
						t.Errorf("the answer echoes a token: %s", r.body)
					}
				}
			} else if !strings.Contains(string(r.body), tt.wantBody) {
				t.Errorf("body %q does not contain %q", r.body, tt.wantBody)
			}
			if after := f.rows(t); (after != before) != tt.wantWrites {
				t.Errorf("rows: before %+v, after %+v; want writes: %v", before, after, tt.wantWrites)
			}
		})
	}
}

func TestTwoAuthorizationHeaders(t *testing.T) {
	f := newFixture(t, httpapi.WithAuth(testTokens(t)))
	req, err := http.NewRequest("GET", f.url+"/v1/products", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("Authorization", "Bearer "+readerSecret)
	req.Header.Add("Authorization", "Bearer "+writerSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_request") {
		t.Errorf("got %d %q, want 401 invalid_request", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
}

func TestWithoutAuthIsOpen(t *testing.T) {
	f := newFixture(t, httpapi.WithoutAuth())
	if r := f.get(t, "/v1/products"); r.status != 200 {
		t.Errorf("got %d %s", r.status, r.body)
	}
	f.place(t)
}

// TestRouteAccess pins the route → access table the README documents:
// every route declares one, and nothing under /v1 is public.
func TestRouteAccess(t *testing.T) {
	api := httpapi.New(nil, catalog.Default(), httpapi.WithoutAuth(),
		httpapi.WithMailbox(nil), httpapi.WithAnalytics(func(context.Context) (analytics.Summary, error) { return analytics.Summary{}, nil }),
		httpapi.WithDLQ(&fakeDLQ{}))
	want := map[string]string{
		"GET /healthz":                "public",
		"GET /readyz":                 "public",
		"GET /v1/products":            "orders:read",
		"GET /v1/products/{id}":       "orders:read",
		"POST /v1/orders":             "orders:write",
		"GET /v1/orders/{id}":         "orders:read",
		"GET /v1/orders/{id}/events":  "orders:read",
		"POST /v1/orders/{id}/cancel": "orders:write",
		"GET /v1/analytics/summary":   "orders:read",
		"GET /v1/dlq":                 "admin",
		"GET /v1/dlq/{id}":            "admin",
		"POST /v1/dlq/{id}/replay":    "admin",
		"POST /v1/dlq/replay":         "admin",
		"POST /v1/dlq/{id}/discard":   "admin",
	}
	got := api.Routes()
	for p, a := range got {
		if strings.Contains(p, "/v1/") && a.String() == "public" {
			t.Errorf("%s is public; every /v1 route needs a scope", p)
		}
		if w, ok := want[p]; ok && a.String() != w {
			t.Errorf("%s: got %s, want %s", p, a, w)
		}
	}
	for p := range want {
		if _, ok := got[p]; !ok {
			t.Errorf("%s is not registered", p)
		}
	}
}

func TestRouteWithoutAccessPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted a route with the zero Access")
		}
	}()
	httpapi.New(nil, catalog.Default(), httpapi.WithRoute("GET /v1/secret", httpapi.Access{}, http.NotFoundHandler()))
}

func TestParseTokens(t *testing.T) {
	long := "0123456789abcdef"
	tests := []struct {
		name    string
		spec    string
		wantN   int
		wantErr string // substring; "" = no error
	}{
		{"one", "a orders:read " + long, 1, ""},
		{"comments and blanks", "# c\n\n  a orders:read " + long + "  \n# d\n", 1, ""},
		{"semicolons (env)", "a orders:read " + long + ";b admin x" + long, 2, ""},
		{"several scopes", "a orders:read,orders:write,admin " + long, 1, ""},
		{"hash", "a admin sha256:" + strings.Repeat("ab", 32), 1, ""},
		{"empty", "", 0, "no tokens"},
		{"only comments", "# nothing\n", 0, "no tokens"},
		{"short secret", "a admin short", 0, "shorter than"},
		{"unknown scope", "a orders:delete " + long, 0, "unknown scope"},
		{"empty scope", "a orders:read, " + long, 0, "unknown scope"},
		{"two fields", "a " + long, 0, "want NAME SCOPES SECRET"},
		{"four fields", "a admin " + long + " extra", 0, "want NAME SCOPES SECRET"},
		{"duplicate name", "a admin " + long + "\na admin x" + long, 0, "used twice"},
		{"same secret twice", "a admin " + long + "\nb admin " + long, 0, "same secret"},
		{"same secret as hash", "a admin " + long + "\nb admin sha256:" + hexHash(long), 0, "same secret"},
		{"bad hex", "a admin sha256:zz", 0, "hex"},
		{"short hash", "a admin sha256:abcd", 0, "hex"},
		{"every problem reported", "a admin short\nb bad:scope " + long, 0, "shorter than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := httpapi.ParseTokens(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, httpapi.ErrTokens) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an ErrTokens mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ts.Len() != tt.wantN {
				t.Errorf("got %d tokens, want %d", ts.Len(), tt.wantN)
			}
		})
	}
	if _, err := httpapi.ParseTokens("a admin short\nb bad:scope " + long); err == nil || !strings.Contains(err.Error(), "unknown scope") {
		t.Errorf("only the first problem reported: %v", err)
	}
}

func hexHash(s string) string {
	h := httpapi.HashToken(s)
	return hex.EncodeToString(h[:])
}

func TestGenerateToken(t *testing.T) {
	a, err := httpapi.GenerateToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := httpapi.GenerateToken()
	if a == b || !strings.HasPrefix(a, "cw_") || len(a) != 46 {
		t.Errorf("got %q and %q", a, b)
	}
	if _, err := httpapi.ParseTokens("gen orders:read " + a); err != nil {
		t.Errorf("a generated token does not parse: %v", err)
	}
}

func TestAuthRequired(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", false},
		{"127.9.9.9:8080", false},
		{"[::1]:8080", false},
		{"localhost:8080", false},
		{"LocalHost:0", false},
		{":8080", true},
		{"0.0.0.0:8080", true},
		{"[::]:8080", true},
		{"10.1.2.3:8080", true},
		{"[::ffff:10.1.2.3]:80", true},
		{"api.example.com:443", true},
		{"localhost.example.com:80", true},
		{"127.0.0.1", true}, // no port: does not parse
		{"", true},
	}
	for _, tt := range tests {
		if got := httpapi.AuthRequired(tt.addr); got != tt.want {
			t.Errorf("AuthRequired(%q): got %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestAuthConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("cli orders:read "+readerSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		cfg         httpapi.AuthConfig
		wantEnabled bool
		wantErr     string
	}{
		{"auto on loopback", httpapi.AuthConfig{HTTPAddr: "127.0.0.1:8080"}, false, ""},
		{"auto on loopback ignores tokens", httpapi.AuthConfig{Mode: "auto", HTTPAddr: "127.0.0.1:8080", TokensFile: file}, false, ""},
		{"auto exposed without tokens", httpapi.AuthConfig{HTTPAddr: ":8080"}, true, "requires tokens"},
		{"auto exposed with a file", httpapi.AuthConfig{HTTPAddr: ":8080", TokensFile: file}, true, ""},
		{"auto exposed with inline tokens", httpapi.AuthConfig{HTTPAddr: "0.0.0.0:80", Tokens: "x admin " + adminSecret}, true, ""},
		{"file and inline together", httpapi.AuthConfig{HTTPAddr: ":80", TokensFile: file, Tokens: "x admin " + adminSecret}, true, ""},
		{"file and inline clash", httpapi.AuthConfig{HTTPAddr: ":80", TokensFile: file, Tokens: "cli admin " + adminSecret}, true, "used twice"},
		{"on, loopback, no tokens", httpapi.AuthConfig{Mode: "on", HTTPAddr: "127.0.0.1:8080"}, true, "requires tokens"},
		{"on, loopback, tokens", httpapi.AuthConfig{Mode: "on", HTTPAddr: "127.0.0.1:8080", TokensFile: file}, true, ""},
		{"off, exposed", httpapi.AuthConfig{Mode: "off", HTTPAddr: ":8080"}, false, ""},
		{"missing file", httpapi.AuthConfig{Mode: "on", TokensFile: file + ".nope"}, true, "tokens file"},
		{"bad mode", httpapi.AuthConfig{Mode: "maybe"}, false, "--auth must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, enabled, err := tt.cfg.Option()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if enabled != tt.wantEnabled || opt == nil {
				t.Fatalf("enabled: got %v, want %v (option %v)", enabled, tt.wantEnabled, opt)
			}
			// The option does what it says.
			f := newFixture(t, opt)
			r := f.get(t, "/v1/products")
			if want := map[bool]int{true: 401, false: 200}[enabled]; r.status != want {
				t.Errorf("GET /v1/products without a token: got %d, want %d", r.status, want)
			}
		})
	}
}

// TestPatternForMiddleware: a middleware around the Server (metrics
// labels routes by Request.Pattern) sees the route's pattern, also on
// answers refused before the handler.
func TestPatternForMiddleware(t *testing.T) {
	api := httpapi.New(nil, catalog.Default(), httpapi.WithAuth(testTokens(t)))
	tests := []struct {
		name, auth  string
		wantStatus  int
		wantPattern string
	}{
		{"authorized", "Bearer " + readerSecret, 200, "GET /v1/products"},
		{"unauthorized", "", 401, "GET /v1/products"},
		{"forbidden", "Bearer " + writerSecret, 403, "GET /v1/products"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v1/products", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || req.Pattern != tt.wantPattern {
				t.Errorf("got %d, pattern %q; want %d, %q", rec.Code, req.Pattern, tt.wantStatus, tt.wantPattern)
			}
		})
	}
}

func TestWithNilTokenSetDeniesAll(t *testing.T) {
	f := newFixture(t, httpapi.WithAuth(nil))
	if r := f.get(t, "/v1/products"); r.status != 401 {
		t.Errorf("got %d, want 401", r.status)
	}
	if r := f.get(t, "/healthz"); r.status != 200 {
		t.Errorf("healthz: got %d, want 200", r.status)
	}
}
