package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// DefaultFrom is the sender address of the mails.
const DefaultFrom = "orders@" + AddressDomain

// SenderOpt configures a Sender.
type SenderOpt interface{ applySender(*Sender) }

type senderOptFunc func(*Sender)

func (f senderOptFunc) applySender(s *Sender) { f(s) }

// WithFrom sets the envelope and header sender (default DefaultFrom).
func WithFrom(addr string) SenderOpt { return senderOptFunc(func(s *Sender) { s.from = addr }) }

// WithSenderLogger sets the logger (nil, the default, discards).
func WithSenderLogger(l *slog.Logger) SenderOpt { return senderOptFunc(func(s *Sender) { s.log = l }) }

// WithSenderClock sets the clock deciding when a retry is due (default
// time.Now).
func WithSenderClock(now func() time.Time) SenderOpt {
	return senderOptFunc(func(s *Sender) { s.now = now })
}

// WithSendAttempts sets how many deliveries of a mail are tried before it
// is marked failed (default 10).
func WithSendAttempts(n int) SenderOpt { return senderOptFunc(func(s *Sender) { s.maxAttempts = n }) }

// WithSendBackoff sets the retry backoff: base doubled per failed attempt,
// capped at max (default 1 s and 5 min).
func WithSendBackoff(base, max time.Duration) SenderOpt {
	return senderOptFunc(func(s *Sender) { s.backoffBase, s.backoffMax = base, max })
}

// WithSMTPTimeout bounds each SMTP dial and command (default 30 s).
func WithSMTPTimeout(d time.Duration) SenderOpt {
	return senderOptFunc(func(s *Sender) { s.timeout = d })
}

// WithSendPoll sets how often Run looks for due mails without a commit
// notification (default 1 s; retries become due by time).
func WithSendPoll(d time.Duration) SenderOpt { return senderOptFunc(func(s *Sender) { s.poll = d }) }

// Sender delivers the queued mails (email_unsent) to one SMTP server, at
// least once: a mail is marked sent only after the server accepted its
// data. One Sender per database is the intended use; two would each claim
// different mails (a claim is a compare-and-set on the row), but a claim
// that outlives its lease may be taken over and sent twice.
type Sender struct {
	db          *sqldb.DB
	addr        string
	from        string
	log         *slog.Logger
	now         func() time.Time
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration
	timeout     time.Duration
	poll        time.Duration
	batch       int
}

// NewSender returns a sender of db's queued mails to the SMTP server at
// addr (host:port, no authentication, no TLS).
func NewSender(db *sqldb.DB, addr string, opts ...SenderOpt) *Sender {
	s := &Sender{db: db, addr: addr, from: DefaultFrom, now: time.Now, maxAttempts: 10,
		backoffBase: time.Second, backoffMax: 5 * time.Minute, timeout: 30 * time.Second, poll: time.Second, batch: 50}
	for _, o := range opts {
		o.applySender(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Run delivers queued mails until ctx is done: whenever a commit queued
// one, every poll interval, and at once again after a full batch.
func (s *Sender) Run(ctx context.Context) error {
	wake := s.db.Notified(NotifyChannel)
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		res, err := s.SendDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("email delivery round failed", "err", err)
		}
		if err == nil && res.Claimed >= s.batch {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-t.C:
		}
	}
}

// Round is what one SendDue did.
type Round struct {
	// Claimed mails were due and taken; each ended Sent, Retried or Failed.
	Claimed, Sent, Retried, Failed int
}

type dueMail struct {
	id       string
	attempts int
	nextAt   int64
}

// SendDue delivers the mails that are due now (at most one batch) over one
// SMTP session, and records each outcome.
func (s *Sender) SendDue(ctx context.Context) (Round, error) {
	var r Round
	now := s.now()
	rows, err := s.db.Read.QueryContext(ctx, `SELECT mail_id, attempts, next_at FROM email_unsent WHERE next_at <= $1
		ORDER BY next_at, mail_id LIMIT $2`, now.UnixMicro(), s.batch)
	if err != nil {
		return r, fmt.Errorf("email: due mails: %w", err)
	}
	var due []dueMail
	for rows.Next() {
		var d dueMail
		if err := rows.Scan(&d.id, &d.attempts, &d.nextAt); err != nil {
			rows.Close()
			return r, fmt.Errorf("email: due mails: %w", err)
		}
		due = append(due, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("email: due mails: %w", err)
	}
	var sess *smtpConn
	defer func() {
		if sess != nil {
			sess.close()
		}
	}()
	lease := now.Add(2 * s.timeout).UnixMicro()
	for _, d := range due {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		ok, err := s.claim(ctx, d, lease)
		if err != nil {
			return r, err
		}
		if !ok {
			continue
		}
		r.Claimed++
		m, err := NewMailbox(s.db).Get(ctx, d.id)
		if err != nil {
			return r, err
		}
		sendErr := s.deliver(ctx, &sess, m)
		switch {
		case sendErr == nil:
			r.Sent++
		case errors.Is(sendErr, ErrPermanent) || d.attempts+1 >= s.maxAttempts:
			r.Failed++
			s.log.Warn("mail not delivered; giving up", "mail", d.id, "attempts", d.attempts+1, "err", sendErr)
		default:
			r.Retried++
			s.log.Info("mail delivery failed; will retry", "mail", d.id, "attempt", d.attempts+1, "err", sendErr)
		}
		if err := s.record(ctx, d, sendErr); err != nil {
			return r, err
		}
	}
	return r, nil
}

// claim takes d for delivery by moving its next_at to the lease end, if
// nobody else did since it was read.
func (s *Sender) claim(ctx context.Context, d dueMail, lease int64) (bool, error) {
	res, err := s.db.Write.ExecContext(ctx, `UPDATE email_unsent SET next_at = $1 WHERE mail_id = $2 AND next_at = $3`, lease, d.id, d.nextAt)
	if err != nil {
		return false, fmt.Errorf("email: claim %s: %w", d.id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("email: claim %s: %w", d.id, err)
	}
	return n == 1, nil
}

// deliver sends m over the session in *sess, opening one if needed and
// dropping a broken one.
func (s *Sender) deliver(ctx context.Context, sess **smtpConn, m Message) error {
	msg, err := BuildMessage(s.from, m)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	if *sess == nil {
		if *sess, err = dialSMTP(ctx, s.addr, "causeway", s.timeout); err != nil {
			return err
		}
	}
	if err := (*sess).send(s.from, m.To, msg); err != nil {
		if !(*sess).reset() {
			(*sess).close()
			*sess = nil
		}
		return err
	}
	return nil
}

// record writes the outcome of one delivery: sent (row gone, mail sent),
// failed for good (row gone, mail failed), or a retry after the backoff.
func (s *Sender) record(ctx context.Context, d dueMail, sendErr error) error {
	now := s.now()
	attempts := d.attempts + 1
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		exec := func(q string, args ...any) error {
			_, err := tx.ExecContext(ctx, q, args...)
			return err
		}
		switch {
		case sendErr == nil:
			return errors.Join(exec(`DELETE FROM email_unsent WHERE mail_id = $1`, d.id),
				exec(`UPDATE email_messages SET send_status = 'sent', sent_at = $2, send_error = '' WHERE id = $1`, d.id, now.UnixMicro()))
		case errors.Is(sendErr, ErrPermanent) || attempts >= s.maxAttempts:
			return errors.Join(exec(`DELETE FROM email_unsent WHERE mail_id = $1`, d.id),
				exec(`UPDATE email_messages SET send_status = 'failed', send_error = $2 WHERE id = $1`, d.id, errText(sendErr)))
		default:
			return errors.Join(exec(`UPDATE email_unsent SET attempts = $2, next_at = $3, last_error = $4 WHERE mail_id = $1`,
				d.id, attempts, now.Add(Backoff(attempts, s.backoffBase, s.backoffMax)).UnixMicro(), errText(sendErr)),
				exec(`UPDATE email_messages SET send_error = $2 WHERE id = $1`, d.id, errText(sendErr)))
		}
	})
	if err != nil {
		return fmt.Errorf("email: record delivery of %s: %w", d.id, err)
	}
	return nil
}

// Backoff is the wait before delivery attempt attempts+1: base ×
// 2^(attempts−1), capped at max.
func Backoff(attempts int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func errText(err error) string {
	s := err.Error()
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}
