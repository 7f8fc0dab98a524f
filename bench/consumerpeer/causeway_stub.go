//go:build !causeway_consumer

package consumerpeer

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/sqldb"
)

// CausewayMigrations returns nothing while the consumer runtime is missing.
func CausewayMigrations() []sqldb.Migration { return nil }

// RunCauseway reports ErrNotReady: build with -tags causeway_consumer once
// package consumer exists.
func (h *Harness) RunCauseway(context.Context, *sqldb.DB, string) (Result, error) {
	return Result{}, fmt.Errorf("causeway: package consumer not built (use -tags causeway_consumer): %w", ErrNotReady)
}
