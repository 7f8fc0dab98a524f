package ordersvc

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/sqldb"
)

// DefaultPaymentMethod is used when a request names none.
const DefaultPaymentMethod = "card_ok"

// MaxKeyLen is the longest accepted Idempotency-Key, in bytes.
const MaxKeyLen = 255

// PlaceRequest is a validated request to place an order. Prices are not
// part of it: they come from the catalog.
type PlaceRequest struct {
	UserID          string        `json:"userId"`
	Items           []LineRequest `json:"items"`
	Currency        string        `json:"currency"`
	PaymentMethod   string        `json:"paymentMethod"`
	ShippingAddress order.Address `json:"shippingAddress"`
}

// LineRequest is one line of a PlaceRequest.
type LineRequest struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// PlaceResult is the answer to Place, the body of the 202.
type PlaceResult struct {
	OrderID          string `json:"orderId"`
	CorrelationID    string `json:"correlationId"`
	Status           string `json:"status"`
	ConsistencyToken string `json:"consistencyToken"`
	// Replayed is true when the answer is the stored first answer to an
	// earlier request with the same idempotency key.
	Replayed bool `json:"-"`
}

// ValidIdempotencyKey reports whether key is 1–MaxKeyLen bytes of visible
// ASCII.
func ValidIdempotencyKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Place places an order: prices from the catalog, a new order id, the
// order.placed event with a new flow's metadata, appended with its outbox
// row in one transaction (under orchestration the order's saga starts in it
// too). With a non-empty idempotencyKey the request is
// claimed in the same transaction (see the package doc): a repeat with the
// same request returns the first answer (Replayed), a repeat with another
// request fails with ErrIdempotencyMismatch.
func (s *Service) Place(ctx context.Context, req PlaceRequest, idempotencyKey string) (PlaceResult, error) {
	if idempotencyKey != "" && !ValidIdempotencyKey(idempotencyKey) {
		return PlaceResult{}, fmt.Errorf("%w: it must be 1–%d printable ASCII characters", ErrBadIdempotencyKey, MaxKeyLen)
	}
	if req.PaymentMethod == "" {
		req.PaymentMethod = DefaultPaymentMethod
	}
	cmd, err := s.placeCommand(req)
	if err != nil {
		return PlaceResult{}, err
	}
	hash, err := requestHash(req)
	if err != nil {
		return PlaceResult{}, err
	}
	if idempotencyKey != "" {
		// Fast path: a retry of a committed request needs no write lock.
		if res, ok, err := s.replay(ctx, s.db.Read, idempotencyKey, hash); ok || err != nil {
			return res, err
		}
	}
	md := event.StartFlow(Source)
	var (
		res     PlaceResult
		claimed = true
	)
	// The body runs on a context that is not cancelled: on SQLite it shares
	// its transaction with other requests' (inPlaceTx).
	tctx := context.WithoutCancel(ctx)
	err = s.inPlaceTx(ctx, func(tx *sqldb.Tx) error {
		ctx := tctx
		if idempotencyKey != "" {
			r, err := tx.ExecContext(ctx,
				`INSERT INTO order_idempotency (idem_key, request_hash, order_id, created_at) VALUES ($1, $2, $3, $4)
				 ON CONFLICT (idem_key) DO NOTHING`,
				idempotencyKey, hash, cmd.OrderID, s.cfg.now().UnixMicro())
			if err != nil {
				return fmt.Errorf("ordersvc: claim idempotency key: %w", err)
			}
			if n, err := r.RowsAffected(); err != nil {
				return fmt.Errorf("ordersvc: claim idempotency key: %w", err)
			} else if n == 0 {
				claimed = false
				return errNotClaimed
			}
		}
		repo := s.newRepository(txStore{Store: s.store, tx: tx}, order.WithStateCache(s.states, tx.OnCommit))
		out, err := repo.Create(ctx, cmd.OrderID, md, func(o *order.Order) error {
			_, err := o.Place(cmd)
			return err
		})
		if err != nil {
			return err
		}
		if s.orch != nil && len(out.Events) > 0 {
			if err := s.startSaga(ctx, tx, out.Events[0]); err != nil {
				return err
			}
		}
		res = PlaceResult{
			OrderID:          cmd.OrderID,
			CorrelationID:    md.CorrelationID,
			Status:           string(out.Order.Status),
			ConsistencyToken: Token(out.Append.LastPosition),
		}
		return nil
	})
	if !claimed {
		// Another request with this key committed first: answer as it did.
		res, ok, err := s.replay(ctx, s.db.Read, idempotencyKey, hash)
		if err == nil && !ok {
			err = fmt.Errorf("ordersvc: idempotency key %q claimed but not readable", clip(idempotencyKey))
		}
		return res, err
	}
	if err != nil {
		return PlaceResult{}, fmt.Errorf("ordersvc: place: %w", err)
	}
	s.cfg.logger.InfoContext(ctx, "order placed", "order", res.OrderID, "correlationId", res.CorrelationID, "position", res.ConsistencyToken)
	return res, nil
}

// errNotClaimed rolls back a transaction whose idempotency key was taken.
var errNotClaimed = errors.New("ordersvc: idempotency key already claimed")

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// replay looks key up; ok is false when it was never used.
func (s *Service) replay(ctx context.Context, q queryRower, key, hash string) (PlaceResult, bool, error) {
	var storedHash, orderID string
	err := q.QueryRowContext(ctx, `SELECT request_hash, order_id FROM order_idempotency WHERE idem_key = $1`, key).
		Scan(&storedHash, &orderID)
	if errors.Is(err, sql.ErrNoRows) {
		return PlaceResult{}, false, nil
	}
	if err != nil {
		return PlaceResult{}, false, fmt.Errorf("ordersvc: idempotency lookup: %w", err)
	}
	if storedHash != hash {
		return PlaceResult{}, true, fmt.Errorf("%w: key %q was first used for order %s", ErrIdempotencyMismatch, clip(key), orderID)
	}
	first, err := s.firstRecord(ctx, orderID)
	if err != nil {
		// The key row and the order commit together; a key without its
		// order is a broken invariant, not a client error.
		return PlaceResult{}, true, fmt.Errorf("ordersvc: idempotency key %q names order %s, which cannot be read: %v", clip(key), orderID, err)
	}
	return PlaceResult{
		OrderID:          orderID,
		CorrelationID:    first.Event.Metadata.CorrelationID,
		Status:           string(order.StatusPlaced),
		ConsistencyToken: Token(first.Position),
		Replayed:         true,
	}, true, nil
}

// placeCommand prices req from the catalog and gives it a new order id.
// Unknown products or currencies (which httpapi's validation already
// rejects) give an *order.ValidationError.
func (s *Service) placeCommand(req PlaceRequest) (order.PlaceOrder, error) {
	cmd := order.PlaceOrder{
		OrderID:         event.NewID(),
		UserID:          req.UserID,
		Items:           make([]order.Item, 0, len(req.Items)),
		Currency:        req.Currency,
		PaymentMethod:   req.PaymentMethod,
		ShippingAddress: req.ShippingAddress,
		At:              s.cfg.now(),
	}
	var problems []order.FieldError
	if !s.cat.SupportsCurrency(req.Currency) {
		problems = append(problems, order.FieldError{Field: "currency", Problem: fmt.Sprintf("%.10q is not offered by the catalog", req.Currency)})
	}
	for i, it := range req.Items {
		price, ok := s.cat.Price(it.ProductID, req.Currency)
		if _, known := s.cat.Product(it.ProductID); !known {
			problems = append(problems, order.FieldError{Field: "items[" + strconv.Itoa(i) + "].productId", Problem: fmt.Sprintf("unknown product %.64q", it.ProductID)})
		} else if !ok && s.cat.SupportsCurrency(req.Currency) {
			problems = append(problems, order.FieldError{Field: "items[" + strconv.Itoa(i) + "].productId", Problem: "no price in " + req.Currency})
		}
		cmd.Items = append(cmd.Items, order.Item{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceMinor: price})
	}
	if len(problems) > 0 {
		return order.PlaceOrder{}, &order.ValidationError{Problems: problems}
	}
	return cmd, nil
}

// requestHash is SHA-256 over the canonical JSON of the normalised request
// (struct fields in declaration order, so equal requests hash equally).
func requestHash(req PlaceRequest) (string, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("ordersvc: hash request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
