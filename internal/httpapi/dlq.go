package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/causeway-dev/causeway/dlq"
)

// DeadLetters is the dead-letter inspector as the API needs it;
// *dlq.Inspector implements it. Methods are called concurrently and honour
// ctx.
type DeadLetters interface {
	List(ctx context.Context, f dlq.Filter) ([]dlq.Letter, error)
	Show(ctx context.Context, id string) (*dlq.Detail, error)
	Replay(ctx context.Context, sel dlq.Selection, o dlq.ReplayOptions) (*dlq.ReplayResult, error)
	Discard(ctx context.Context, id string, o dlq.DiscardOptions) (dlq.Outcome, error)
}

var _ DeadLetters = (*dlq.Inspector)(nil)

// WithDLQ serves the dead-letter routes over d, each requiring the admin
// scope:
//
//	GET  /v1/dlq                  letters matching the query (dlq.ParseFilter)
//	GET  /v1/dlq/{id}             one letter with history and audit trail
//	POST /v1/dlq/{id}/replay      {reason, force, dryRun}
//	POST /v1/dlq/replay           {ids | filter, reason, force, dryRun, rate, resume}
//	POST /v1/dlq/{id}/discard     {reason (required), dryRun}
//
// A letter id (GROUP/TOPIC/PARTITION/OFFSET) is one path segment with its
// slashes escaped: /v1/dlq/payment-service%2Forders%2F3%2F1042. The audit
// records the token's name as operator (AnonymousOperator with auth off).
func WithDLQ(d DeadLetters) Option { return optionFunc(func(s *Server) { s.dlq = d }) }

// AnonymousOperator is the operator audited for dead-letter actions when
// the request carries no authenticated token (auth off).
const AnonymousOperator = "anonymous"

func operator(ctx context.Context) string {
	if name, ok := Principal(ctx); ok && name != "" {
		return name
	}
	return AnonymousOperator
}

// DLQList is the answer of GET /v1/dlq.
type DLQList struct {
	Letters []dlq.Letter `json:"letters"`
	Count   int          `json:"count"`
}

// listDLQ serves GET /v1/dlq?group=&topic=&key=&error=&kind=&status=&since=&until=&limit=.
func (s *Server) listDLQ(w http.ResponseWriter, r *http.Request) {
	f, err := dlq.ParseFilter(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ls, err := s.dlq.List(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if ls == nil {
		ls = []dlq.Letter{}
	}
	writeJSON(w, http.StatusOK, DLQList{Letters: ls, Count: len(ls)})
}

// showDLQ serves GET /v1/dlq/{id}.
func (s *Server) showDLQ(w http.ResponseWriter, r *http.Request) {
	d, err := s.dlq.Show(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// replayOneRequest is the body of POST /v1/dlq/{id}/replay (optional).
type replayOneRequest struct {
	Reason string `json:"reason"`
	Force  bool   `json:"force"`
	DryRun bool   `json:"dryRun"`
}

// replayDLQ serves POST /v1/dlq/{id}/replay: 200 with the dlq.ReplayResult;
// 409 when the loop guard refuses (replay with "force": true).
func (s *Server) replayDLQ(w http.ResponseWriter, r *http.Request) {
	var req replayOneRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.dlq.Replay(r.Context(), dlq.Selection{IDs: []string{r.PathValue("id")}},
		dlq.ReplayOptions{Operator: operator(r.Context()), Reason: req.Reason, Force: req.Force, DryRun: req.DryRun})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// replayBulkRequest is the body of POST /v1/dlq/replay. Filter holds the
// query parameters of GET /v1/dlq as a JSON object (strings, or numbers
// for limit).
type replayBulkRequest struct {
	IDs    []string       `json:"ids"`
	Filter map[string]any `json:"filter"`
	Reason string         `json:"reason"`
	Force  bool           `json:"force"`
	DryRun bool           `json:"dryRun"`
	Rate   float64        `json:"rate"`
	Resume string         `json:"resume"`
}

// replayDLQBulk serves POST /v1/dlq/replay: 200 with the dlq.ReplayResult,
// refusals of the loop guard included (result "refused"; the others are
// replayed).
func (s *Server) replayDLQBulk(w http.ResponseWriter, r *http.Request) {
	var req replayBulkRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var ve ValidationError
	if len(req.IDs) > 0 && req.Filter != nil {
		ve.Add("ids", "give ids or filter, not both")
	}
	if req.Resume != "" && (len(req.IDs) > 0 || req.Filter != nil) {
		ve.Add("resume", "a resumed job keeps its selection; give no ids or filter")
	}
	if req.Rate < 0 || math.IsNaN(req.Rate) || math.IsInf(req.Rate, 0) {
		ve.Add("rate", "want 0 (no cap) or a positive number of letters per second")
	}
	if err := ve.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	sel := dlq.Selection{IDs: req.IDs}
	if req.Filter != nil {
		q := url.Values{}
		for k, v := range req.Filter {
			switch v := v.(type) {
			case string:
				q.Set(k, v)
			case float64:
				q.Set(k, strconv.FormatFloat(v, 'f', -1, 64))
			default:
				writeError(w, r, s.log, fmt.Errorf("%w: filter %.40q: want a string or a number", dlq.ErrInvalidFilter, k))
				return
			}
		}
		f, err := dlq.ParseFilter(q, time.Now())
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		sel.Filter = f
	}
	res, err := s.dlq.Replay(r.Context(), sel, dlq.ReplayOptions{Operator: operator(r.Context()), Reason: req.Reason,
		Force: req.Force, DryRun: req.DryRun, Rate: req.Rate, Resume: req.Resume})
	if err != nil && (res == nil || !onlyLoopGuard(err)) {
		writeError(w, r, s.log, err)
		return
	}
	if res.Outcomes == nil {
		res.Outcomes = []dlq.Outcome{}
	}
	writeJSON(w, http.StatusOK, res)
}

// onlyLoopGuard reports whether every error joined in err is a loop-guard
// refusal.
func onlyLoopGuard(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyLoopGuard(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, dlq.ErrLoopGuard)
}

// discardRequest is the body of POST /v1/dlq/{id}/discard.
type discardRequest struct {
	Reason string `json:"reason"`
	DryRun bool   `json:"dryRun"`
}

// discardDLQ serves POST /v1/dlq/{id}/discard: 200 with the dlq.Outcome;
// 422 without a reason.
func (s *Server) discardDLQ(w http.ResponseWriter, r *http.Request) {
	var req discardRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out, err := s.dlq.Discard(r.Context(), r.PathValue("id"),
		dlq.DiscardOptions{Operator: operator(r.Context()), Reason: req.Reason, DryRun: req.DryRun})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeOptionalJSON is decodeJSON, except that a request without a body
// and without a Content-Type leaves v as it is.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return decodeJSON(w, r, v)
}
