// Package httpapi is Causeway's HTTP API on net/http's ServeMux: JSON in and
// out, errors as RFC 9457 application/problem+json. Every error reaches the
// client through writeError, and statusFor is the one place that maps
// errors to HTTP statuses.
package httpapi
