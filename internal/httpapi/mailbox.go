package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/causeway-dev/causeway/internal/email"
)

// Mailbox is the email service's stored mails as the API needs them;
// *email.Mailbox implements it. Methods are called concurrently and honour
// ctx.
type Mailbox interface {
	List(ctx context.Context, q email.Query) ([]email.Message, error)
	Get(ctx context.Context, id string) (email.Message, error)
}

var _ Mailbox = (*email.Mailbox)(nil)

// WithMailbox serves GET /v1/mailbox and GET /v1/mailbox/{id} from m.
// Without it those routes do not exist (404).
func WithMailbox(m Mailbox) Option { return optionFunc(func(s *Server) { s.mailbox = m }) }

// listMail serves GET /v1/mailbox?userId=&orderId=&limit=: the matching
// mails, newest first (limit 1–500, default 50).
func (s *Server) listMail(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	q := email.Query{UserID: qs.Get("userId"), OrderID: qs.Get("orderId")}
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > email.MaxLimit {
			writeError(w, r, s.log, fmt.Errorf("%w: limit %.20q must be an integer from 1 to %d", ErrBadRequest, v, email.MaxLimit))
			return
		}
		q.Limit = n
	}
	msgs, err := s.mailbox.List(r.Context(), q)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

// getMail serves GET /v1/mailbox/{id}.
func (s *Server) getMail(w http.ResponseWriter, r *http.Request) {
	m, err := s.mailbox.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}
