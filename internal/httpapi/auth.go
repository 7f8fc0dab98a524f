package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
)

// Scope is a permission a bearer token grants. Scopes are independent:
// admin does not imply orders:read or orders:write; a token lists every
// scope it needs.
type Scope string

// The scopes of the API (see Access for which route needs which).
const (
	// ScopeOrdersWrite: place and cancel orders.
	ScopeOrdersWrite Scope = "orders:write"
	// ScopeOrdersRead: every read under /v1 (orders, users, products,
	// analytics, mailbox, trace).
	ScopeOrdersRead Scope = "orders:read"
	// ScopeAdmin: operations (dead letters, projection rebuilds).
	ScopeAdmin Scope = "admin"
)

// Access is what a route requires: Public (no token, even with auth on)
// or exactly one scope. The zero Access is invalid. Every route declares its Access when it is
// registered (Server.handle, WithRoute); a request that reaches a pattern without a
// declared Access is denied (403), with or without auth.
type Access struct {
	scope  Scope
	public bool
}

// Public is the Access of routes that never need a token: /healthz,
// /readyz, /metrics.
func Public() Access { return Access{public: true} }

// Needs is the Access of a route that requires scope.
func Needs(scope Scope) Access { return Access{scope: scope} }

func (a Access) valid() bool { return a.public || knownScope(a.scope) }

func (a Access) String() string {
	if a.public {
		return "public"
	}
	return string(a.scope)
}

func knownScope(s Scope) bool {
	switch s {
	case ScopeOrdersWrite, ScopeOrdersRead, ScopeAdmin:
		return true
	}
	return false
}

// Sentinel errors of authentication, mapped to 401 and 403 by statusFor.
var (
	// ErrUnauthorized: no bearer token, or one that is not known.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the token lacks the route's scope, or the route has
	// no declared scope.
	ErrForbidden = errors.New("forbidden")
	// ErrTokens: a token specification is invalid (ParseTokens).
	ErrTokens = errors.New("httpapi: invalid token specification")
)

// MinTokenLen is the shortest accepted token secret, in bytes.
const MinTokenLen = 16

// Token is one API client: a name (for logs and audit), the SHA-256 of its
// secret, and its scopes. The secret itself is never kept.
type Token struct {
	Name   string
	Hash   [sha256.Size]byte
	Scopes []Scope
}

// HashToken returns the SHA-256 of a token secret, the form a Token keeps
// and a tokens file may hold ("sha256:" + hex).
func HashToken(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// GenerateToken returns a new random token secret ("cw_" and 43 base64url
// characters: 256 bits).
func GenerateToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("httpapi: generate token: %w", err)
	}
	return "cw_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// TokenSet is the set of accepted tokens. It is immutable and safe for
// concurrent use.
type TokenSet struct {
	tokens []Token
}

// NewTokenSet checks tokens (a name, known scopes, unique names and
// hashes) and returns them as a set.
func NewTokenSet(tokens ...Token) (*TokenSet, error) {
	var errs []error
	names := map[string]bool{}
	hashes := map[[sha256.Size]byte]string{}
	for i, t := range tokens {
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("%w: token %d has no name", ErrTokens, i+1))
		case names[t.Name]:
			errs = append(errs, fmt.Errorf("%w: token name %q used twice", ErrTokens, t.Name))
		}
		names[t.Name] = true
		if other, ok := hashes[t.Hash]; ok {
			errs = append(errs, fmt.Errorf("%w: tokens %q and %q have the same secret", ErrTokens, other, t.Name))
		}
		hashes[t.Hash] = t.Name
		if len(t.Scopes) == 0 {
			errs = append(errs, fmt.Errorf("%w: token %q has no scopes", ErrTokens, t.Name))
		}
		for _, s := range t.Scopes {
			if !knownScope(s) {
				errs = append(errs, fmt.Errorf("%w: token %q: unknown scope %q (known: %s, %s, %s)", ErrTokens, t.Name, s, ScopeOrdersRead, ScopeOrdersWrite, ScopeAdmin))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ts := &TokenSet{tokens: make([]Token, len(tokens))}
	for i, t := range tokens {
		t.Scopes = slices.Clone(t.Scopes)
		ts.tokens[i] = t
	}
	return ts, nil
}

// Len is the number of tokens.
func (ts *TokenSet) Len() int { return len(ts.tokens) }

// lookup returns the token whose secret is secret. It hashes secret and
// compares the hash with every token's in constant time, without stopping
// at a match, so neither the secret's length nor which token matched shows
// in the time taken.
func (ts *TokenSet) lookup(secret string) (Token, bool) {
	h := HashToken(secret)
	found := -1
	for i := range ts.tokens {
		if subtle.ConstantTimeCompare(h[:], ts.tokens[i].Hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Token{}, false
	}
	return ts.tokens[found], true
}

// ParseTokens parses a token specification: one token per line (or per
// ';'-separated entry, for an environment variable), each
//
//	NAME SCOPE[,SCOPE...] SECRET
//
// separated by blanks, where SECRET is the token itself (at least
// MinTokenLen visible ASCII characters, no ';') or "sha256:" followed by
// the hex SHA-256 of it, so the file need not hold the secret. Blank
// lines and lines starting with '#' are ignored. Every problem is
// reported, wrapped in ErrTokens.
func ParseTokens(spec string) (*TokenSet, error) {
	var tokens []Token
	var errs []error
	for n, line := range strings.FieldsFunc(spec, func(r rune) bool { return r == '\n' || r == ';' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			errs = append(errs, fmt.Errorf("%w: entry %d: want NAME SCOPES SECRET, got %d fields", ErrTokens, n+1, len(f)))
			continue
		}
		t := Token{Name: f[0]}
		for _, s := range strings.Split(f[1], ",") {
			t.Scopes = append(t.Scopes, Scope(s))
		}
		if hx, ok := strings.CutPrefix(f[2], "sha256:"); ok {
			b, err := hex.DecodeString(hx)
			if err != nil || len(b) != sha256.Size {
				errs = append(errs, fmt.Errorf("%w: token %q: sha256: wants %d hex characters", ErrTokens, t.Name, 2*sha256.Size))
				continue
			}
			copy(t.Hash[:], b)
		} else {
			if len(f[2]) < MinTokenLen {
				errs = append(errs, fmt.Errorf("%w: token %q: secret shorter than %d characters", ErrTokens, t.Name, MinTokenLen))
				continue
			}
			t.Hash = HashToken(f[2])
		}
		tokens = append(tokens, t)
	}
	if len(errs) == 0 && len(tokens) == 0 {
		return nil, fmt.Errorf("%w: no tokens", ErrTokens)
	}
	ts, err := NewTokenSet(tokens...)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return ts, nil
}

// LoadTokensFile reads a token specification (see ParseTokens) from path.
func LoadTokensFile(path string) (*TokenSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("httpapi: tokens file: %w", err)
	}
	ts, err := ParseTokens(string(b))
	if err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return ts, nil
}

// AuthRequired reports whether an API listening on httpAddr (host:port)
// must require tokens: true unless the host is a loopback address
// (127.0.0.0/8, ::1) or "localhost". An empty host (":8080", all
// interfaces), another name, or an address that does not parse requires
// tokens.
func AuthRequired(httpAddr string) bool {
	host, _, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return true
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// Auth modes of AuthConfig.Mode.
const (
	AuthAuto = "auto" // on unless HTTPAddr is loopback (AuthRequired)
	AuthOn   = "on"   // tokens required
	AuthOff  = "off"  // no tokens: every route is open
)

// AuthConfig is the authentication part of a command's configuration
// (flags --auth, --auth-tokens-file; env CAUSEWAY_AUTH,
// CAUSEWAY_AUTH_TOKENS_FILE, CAUSEWAY_AUTH_TOKENS).
type AuthConfig struct {
	// Mode is AuthAuto (the default when empty), AuthOn or AuthOff.
	Mode string
	// HTTPAddr is the address the API listens on (for AuthAuto).
	HTTPAddr string
	// TokensFile is a token specification file (ParseTokens).
	TokensFile string
	// Tokens is an inline token specification, added to TokensFile's.
	Tokens string
}

// Option resolves c into WithAuth or WithoutAuth. With auth on (AuthOn,
// or AuthAuto on a non-loopback address) tokens are required: no
// TokensFile and no Tokens is an error, so an exposed API never runs open
// by accident. enabled tells which was chosen, for the startup log.
func (c AuthConfig) Option() (opt Option, enabled bool, err error) {
	switch c.Mode {
	case "", AuthAuto:
		enabled = AuthRequired(c.HTTPAddr)
	case AuthOn:
		enabled = true
	case AuthOff:
		return WithoutAuth(), false, nil
	default:
		return nil, false, fmt.Errorf("httpapi: --auth must be %s, %s or %s, got %q", AuthAuto, AuthOn, AuthOff, c.Mode)
	}
	if !enabled {
		return WithoutAuth(), false, nil
	}
	var specs []string
	if c.TokensFile != "" {
		b, err := os.ReadFile(c.TokensFile)
		if err != nil {
			return nil, true, fmt.Errorf("httpapi: tokens file: %w", err)
		}
		specs = append(specs, string(b))
	}
	if c.Tokens != "" {
		specs = append(specs, c.Tokens)
	}
	if len(specs) == 0 {
		return nil, true, fmt.Errorf("httpapi: the API on %s requires tokens (it is not loopback, or --auth=on): give --auth-tokens-file (or CAUSEWAY_AUTH_TOKENS), or --auth=off to run it open", c.HTTPAddr)
	}
	ts, err := ParseTokens(strings.Join(specs, "\n"))
	if err != nil {
		return nil, true, err
	}
	return WithAuth(ts), true, nil
}

// WithAuth requires a bearer token from ts on every route but the Public
// ones: 401 without a known token, 403 without the route's scope.
// A nil ts accepts no token.
func WithAuth(ts *TokenSet) Option {
	if ts == nil {
		ts = &TokenSet{}
	}
	return optionFunc(func(s *Server) { s.tokens, s.authSet = ts, true })
}

// WithoutAuth serves every route without tokens. It must be asked for:
// cmd/causeway passes it only for --auth=off, or for --auth=auto on a
// loopback address. With neither WithAuth nor WithoutAuth, New denies
// every route but the Public ones (secure by default).
func WithoutAuth() Option {
	return optionFunc(func(s *Server) { s.tokens, s.authSet = nil, true })
}

// principalKey is the context key of the authenticated token's name.
type principalKey struct{}

// Principal returns the name of the token that authenticated the request
// of ctx, for logs and audit records; ok is false with auth off or on
// public routes.
func Principal(ctx context.Context) (name string, ok bool) {
	name, ok = ctx.Value(principalKey{}).(string)
	return name, ok
}

// bearerRealm is the realm of WWW-Authenticate challenges.
const bearerRealm = `Bearer realm="causeway"`

// authorize checks r against the route's access. It returns r (with the
// principal in its context) or an error for writeError, having set the
// WWW-Authenticate challenge of RFC 6750 on w.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, pattern string) (*http.Request, error) {
	access, ok := s.access[pattern]
	if !ok {
		s.log.ErrorContext(r.Context(), "route has no declared access; denied", "pattern", pattern)
		return nil, fmt.Errorf("%w: this route declares no scope", ErrForbidden)
	}
	if access.public || s.tokens == nil {
		return r, nil
	}
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		w.Header().Set("WWW-Authenticate", bearerRealm)
		return nil, fmt.Errorf("%w: a bearer token is required (Authorization: Bearer TOKEN)", ErrUnauthorized)
	}
	scheme, secret, _ := strings.Cut(vals[0], " ")
	secret = strings.TrimSpace(secret)
	if len(vals) != 1 || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		w.Header().Set("WWW-Authenticate", bearerRealm+`, error="invalid_request"`)
		return nil, fmt.Errorf("%w: want one Authorization: Bearer TOKEN header", ErrUnauthorized)
	}
	tok, ok := s.tokens.lookup(secret)
	if !ok {
		s.log.InfoContext(r.Context(), "unknown bearer token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", bearerRealm+`, error="invalid_token"`)
		return nil, fmt.Errorf("%w: unknown token", ErrUnauthorized)
	}
	if !slices.Contains(tok.Scopes, access.scope) {
		s.log.InfoContext(r.Context(), "token lacks scope", "token", tok.Name, "scope", access.scope, "method", r.Method, "path", r.URL.Path)
		w.Header().Set("WWW-Authenticate", bearerRealm+`, error="insufficient_scope", scope="`+string(access.scope)+`"`)
		return nil, fmt.Errorf("%w: token %q lacks scope %s", ErrForbidden, tok.Name, access.scope)
	}
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, tok.Name)), nil
}
