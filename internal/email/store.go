package email

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
)

// Component is the migration component of the email tables.
const Component = "email"

//go:embed sql/*.sql
var sqlFS embed.FS

// Migrations returns the email tables' schema changes.
func Migrations() []sqldb.Migration { return sqldb.MustMigrationsFS(sqlFS, "sql", Component) }

// Migrate applies everything the email database needs: the consumer's
// tables and the email tables. The service publishes nothing, so it has no
// outbox.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	if err := db.Migrate(ctx, consumer.Migrations(), Migrations()); err != nil {
		return fmt.Errorf("email: migrate: %w", err)
	}
	return nil
}

// saveOrder stores what the mails need of order.placed (the first
// order.placed of an order wins).
func saveOrder(ctx context.Context, tx *sqldb.Tx, o Order) error {
	lines, err := json.Marshal(o.Lines)
	if err != nil {
		return fmt.Errorf("email: order %s: %w", o.OrderID, err)
	}
	if _, err := consumer.Exec(ctx, tx, `INSERT INTO email_orders (order_id, user_id, name, currency, total_minor, lines)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING`,
		o.OrderID, o.UserID, o.Name, o.Currency, o.TotalMinor, string(lines)); err != nil {
		return fmt.Errorf("email: save order %s: %w", o.OrderID, err)
	}
	return nil
}

// loadOrder reads the stored order; an order never placed comes back with
// only its id (Known false).
func loadOrder(ctx context.Context, tx *sqldb.Tx, orderID string) (Order, error) {
	o := Order{OrderID: orderID}
	var lines string
	err := tx.QueryRowContext(ctx, `SELECT user_id, name, currency, total_minor, lines FROM email_orders WHERE order_id = $1`, orderID).
		Scan(&o.UserID, &o.Name, &o.Currency, &o.TotalMinor, &lines)
	if errors.Is(err, sql.ErrNoRows) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("email: load order %s: %w", orderID, err)
	}
	if err := json.Unmarshal([]byte(lines), &o.Lines); err != nil {
		return o, fmt.Errorf("email: order %s lines: %w", orderID, err)
	}
	return o, nil
}

// insertMessage stores m unless the order already has a mail of its kind,
// and queues it for sending when m.SendStatus is SendPending. It reports
// whether m was new.
func insertMessage(ctx context.Context, tx *sqldb.Tx, m Message) (bool, error) {
	res, err := consumer.Exec(ctx, tx, `INSERT INTO email_messages (id, order_id, user_id, to_addr, subject, text_body, html_body, kind,
		created_at, correlation_id, causation_id, send_status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT DO NOTHING`,
		m.ID, m.OrderID, m.UserID, m.To, m.Subject, m.TextBody, m.HTMLBody, string(m.Kind), m.CreatedAt.UnixMicro(),
		m.CorrelationID, m.CausationID, string(m.SendStatus))
	if err != nil {
		return false, fmt.Errorf("email: store mail %s of %s: %w", m.Kind, m.OrderID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("email: store mail %s of %s: %w", m.Kind, m.OrderID, err)
	}
	if n == 0 {
		return false, nil
	}
	if m.SendStatus == SendPending {
		if _, err := consumer.Exec(ctx, tx, `INSERT INTO email_unsent (mail_id, attempts, next_at) VALUES ($1, 0, $2)`,
			m.ID, m.CreatedAt.UnixMicro()); err != nil {
			return false, fmt.Errorf("email: queue mail %s: %w", m.ID, err)
		}
	}
	return true, nil
}

// Query selects mails of the mailbox. Empty fields match everything.
type Query struct {
	UserID  string
	OrderID string
	// Limit caps the answer: 0 means DefaultLimit; at most MaxLimit.
	Limit int
}

// Limits of Query.Limit.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// ErrInvalidQuery is returned for a Query out of bounds.
var ErrInvalidQuery = errors.New("email: invalid query")

// Validate reports a limit outside 0–MaxLimit.
func (q Query) Validate() error {
	if q.Limit < 0 || q.Limit > MaxLimit {
		return fmt.Errorf("%w: limit %d outside 1–%d", ErrInvalidQuery, q.Limit, MaxLimit)
	}
	return nil
}

// Mailbox reads the stored mails. It is safe for concurrent use.
type Mailbox struct {
	db *sqldb.DB
}

// NewMailbox returns the mailbox of the email database db.
func NewMailbox(db *sqldb.DB) *Mailbox { return &Mailbox{db: db} }

const messageCols = `id, order_id, user_id, to_addr, subject, text_body, html_body, kind, created_at, correlation_id, causation_id,
	send_status, sent_at`

func scanMessage(sc interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var kind, status string
	var created int64
	var sent sql.NullInt64
	if err := sc.Scan(&m.ID, &m.OrderID, &m.UserID, &m.To, &m.Subject, &m.TextBody, &m.HTMLBody, &kind, &created,
		&m.CorrelationID, &m.CausationID, &status, &sent); err != nil {
		return m, err
	}
	m.Kind, m.SendStatus, m.CreatedAt = Kind(kind), SendStatus(status), time.UnixMicro(created).UTC()
	if sent.Valid {
		t := time.UnixMicro(sent.Int64).UTC()
		m.SentAt = &t
	}
	return m, nil
}

// List returns the mails matching q, newest first.
func (b *Mailbox) List(ctx context.Context, q Query) ([]Message, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	var where []string
	var args []any
	if q.UserID != "" {
		args = append(args, q.UserID)
		where = append(where, fmt.Sprintf("user_id = $%d", len(args)))
	}
	if q.OrderID != "" {
		args = append(args, q.OrderID)
		where = append(where, fmt.Sprintf("order_id = $%d", len(args)))
	}
	query := `SELECT ` + messageCols + ` FROM email_messages`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, q.Limit)
	query += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := b.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("email: list: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("email: list: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("email: list: %w", err)
	}
	return out, nil
}

// Get returns one mail, or ErrNotFound.
func (b *Mailbox) Get(ctx context.Context, id string) (Message, error) {
	m, err := scanMessage(b.db.Read.QueryRowContext(ctx, `SELECT `+messageCols+` FROM email_messages WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("%w: mail %q", ErrNotFound, id)
	}
	if err != nil {
		return m, fmt.Errorf("email: get %s: %w", id, err)
	}
	return m, nil
}
