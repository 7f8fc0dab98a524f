package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/causeway-dev/causeway/saga"
)

// Sagas is the saga orchestrator as the stuck-saga routes need it;
// *saga.Orchestrator implements it.
type Sagas interface {
	List(ctx context.Context, opts saga.ListOptions) ([]*saga.State, error)
	Get(ctx context.Context, id string) (*saga.State, error)
	Counts(ctx context.Context) (map[saga.Status]int, error)
	Operate(ctx context.Context, a saga.Action, id, operator, reason string) (*saga.State, error)
}

var _ Sagas = (*saga.Orchestrator)(nil)

// WithSagas serves the stuck-saga routes over o (orchestration mode), each
// requiring the admin scope:
//
//	GET  /v1/sagas?status=&definition=&after=&limit=   sagas, oldest first (status=stuck: the failed ones)
//	GET  /v1/sagas/{id}                                one saga with its step history
//	POST /v1/sagas/{id}/retry|skip|compensate          {"reason": "…"} (required)
//
// retry re-sends the compensation a stuck saga is stuck on; skip gives it
// up (undone by hand) and goes on compensating; compensate aborts a
// running saga. An action the saga's status does not allow is a 409. The
// action is logged and recorded in the saga's history with the reason and
// the token's name (AnonymousOperator with auth off).
func WithSagas(o Sagas) Option {
	return optionFunc(func(s *Server) {
		h := &sagaRoutes{s: s, o: o}
		admin := Needs(ScopeAdmin)
		s.extra = append(s.extra,
			route{"GET /v1/sagas", admin, http.HandlerFunc(h.list)},
			route{"GET /v1/sagas/{id}", admin, http.HandlerFunc(h.show)},
			route{"POST /v1/sagas/{id}/{action}", admin, http.HandlerFunc(h.act)},
		)
	})
}

type sagaRoutes struct {
	s *Server
	o Sagas
}

// SagaView is a saga in the API.
type SagaView struct {
	ID            string             `json:"id"`
	Definition    string             `json:"definition"`
	CorrelationID string             `json:"correlationId"`
	Status        saga.Status        `json:"status"`
	Stuck         bool               `json:"stuck"`
	Step          int                `json:"step"`
	StepName      string             `json:"stepName,omitempty"`
	Attempt       int                `json:"attempt"`
	CommandID     string             `json:"commandId,omitempty"`
	Reason        string             `json:"reason,omitempty"`
	Deadline      *time.Time         `json:"deadline,omitempty"`
	Data          json.RawMessage    `json:"data,omitempty"`
	CreatedAt     time.Time          `json:"createdAt"`
	UpdatedAt     time.Time          `json:"updatedAt"`
	History       []SagaHistoryEntry `json:"history,omitempty"`
}

// SagaHistoryEntry is one line of a saga's history in the API.
type SagaHistoryEntry struct {
	At        time.Time  `json:"at"`
	Step      int        `json:"step"`
	StepName  string     `json:"stepName"`
	Phase     saga.Phase `json:"phase"`
	Event     string     `json:"event"`
	CommandID string     `json:"commandId,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// SagaViewOf converts a saga for the API (the CLI prints the same JSON).
func SagaViewOf(st *saga.State) SagaView {
	v := SagaView{ID: st.ID, Definition: st.Definition, CorrelationID: st.CorrelationID, Status: st.Status,
		Stuck: st.Status == saga.StatusFailed, Step: st.Step, Attempt: st.Attempt, CommandID: st.CommandID,
		Reason: st.Reason, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt}
	if len(st.Data) > 0 && json.Valid(st.Data) {
		v.Data = st.Data
	}
	if !st.Deadline.IsZero() {
		d := st.Deadline
		v.Deadline = &d
	}
	for _, e := range st.History {
		v.History = append(v.History, SagaHistoryEntry{At: e.At, Step: e.Step, StepName: e.StepName, Phase: e.Phase,
			Event: e.Event, CommandID: e.CommandID, Reason: e.Reason})
		if e.Step == st.Step && e.StepName != "" {
			v.StepName = e.StepName
		}
	}
	return v
}

// SagaList is the answer of GET /v1/sagas.
type SagaList struct {
	Sagas []SagaView `json:"sagas"`
	Count int        `json:"count"`
	// Counts is the number of sagas per status (stuck = failed).
	Counts map[saga.Status]int `json:"counts"`
	// Next is the after= of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// sagaError maps the saga package's errors onto the API's.
func sagaError(err error) error {
	switch {
	case errors.Is(err, saga.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, saga.ErrInvalidState), errors.Is(err, saga.ErrConflict):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case errors.Is(err, saga.ErrReasonRequired):
		v := &ValidationError{}
		v.Add("reason", "required")
		return v
	case errors.Is(err, saga.ErrInvalidArgument):
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return err
}

func (h *sagaRoutes) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, h.s.log, sagaError(err))
}

// list serves GET /v1/sagas.
func (h *sagaRoutes) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, err := saga.ParseStatus(q.Get("status"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	opts := saga.ListOptions{Status: status, Definition: q.Get("definition"), After: q.Get("after")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			h.fail(w, r, fmt.Errorf("%w: limit %q, want 1 to 1000", ErrBadRequest, l))
			return
		}
		opts.Limit = n
	}
	sts, err := h.o.List(r.Context(), opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	counts, err := h.o.Counts(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := SagaList{Sagas: make([]SagaView, 0, len(sts)), Counts: counts}
	for _, st := range sts {
		out.Sagas = append(out.Sagas, SagaViewOf(st))
	}
	out.Count = len(out.Sagas)
	limit := opts.Limit
	if limit == 0 {
		limit = 100
	}
	if len(sts) == limit {
		out.Next = sts[len(sts)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// show serves GET /v1/sagas/{id}.
func (h *sagaRoutes) show(w http.ResponseWriter, r *http.Request) {
	st, err := h.o.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, SagaViewOf(st))
}

// sagaActionRequest is the body of POST /v1/sagas/{id}/{action}.
type sagaActionRequest struct {
	Reason string `json:"reason"`
}

// act serves POST /v1/sagas/{id}/retry|skip|compensate: 200 with the saga
// afterwards; 404 for another action; 409 when the saga's status does
// not allow it; 422 without a reason.
func (h *sagaRoutes) act(w http.ResponseWriter, r *http.Request) {
	a, err := saga.ParseAction(r.PathValue("action"))
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: %v", ErrNotFound, err))
		return
	}
	var req sagaActionRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	op := operator(r.Context())
	id := r.PathValue("id")
	st, err := h.o.Operate(r.Context(), a, id, op, req.Reason)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.s.log.InfoContext(r.Context(), "saga operator action", "saga", id, "action", string(a),
		"operator", op, "reason", req.Reason, "status", string(st.Status))
	writeJSON(w, http.StatusOK, SagaViewOf(st))
}
