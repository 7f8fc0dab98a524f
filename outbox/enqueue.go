package outbox

import (
	"context"
	"errors"

	"github.com/causeway-dev/causeway/sqldb"
)

// NotifyChannel is the sqldb notification name Enqueue signals on commit, so
// an in-process Relay wakes at once instead of waiting for its poll.
const NotifyChannel = "outbox"

// Enqueue inserts msgs into the outbox table inside tx. They become visible
// to the relay when tx commits; the relay is woken then.
func Enqueue(ctx context.Context, tx *sqldb.Tx, msgs ...Message) error {
	return errors.New("outbox: Enqueue not written yet") // replaced by the outbox implementation
}
