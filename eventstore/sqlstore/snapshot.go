package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/eventstore"
)

// SaveSnapshot implements eventstore.Store.
func (s *Store) SaveSnapshot(ctx context.Context, snap eventstore.Snapshot) error {
	var problems []error
	if snap.StreamID == "" {
		problems = append(problems, fmt.Errorf("%w: snapshot: empty stream id", eventstore.ErrInvalid))
	}
	if snap.Version < 1 {
		problems = append(problems, fmt.Errorf("%w: snapshot: version %d (want ≥ 1)", eventstore.ErrInvalid, snap.Version))
	}
	if snap.Type == "" {
		problems = append(problems, fmt.Errorf("%w: snapshot: empty type", eventstore.ErrInvalid))
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	created := snap.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	data := snap.Data
	if data == nil {
		data = []byte{}
	}
	if _, err := s.db.Write.ExecContext(ctx, sqlSaveSnapshot,
		snap.StreamID, snap.Version, snap.Type, data, created.UnixMicro()); err != nil {
		return fmt.Errorf("sqlstore: save snapshot of %q: %w", snap.StreamID, err)
	}
	return nil
}

// LoadSnapshot implements eventstore.Store.
func (s *Store) LoadSnapshot(ctx context.Context, streamID string) (eventstore.Snapshot, error) {
	if streamID == "" {
		return eventstore.Snapshot{}, fmt.Errorf("%w: snapshot: empty stream id", eventstore.ErrInvalid)
	}
	snap := eventstore.Snapshot{StreamID: streamID}
	var created int64
	err := s.db.Read.QueryRowContext(ctx, sqlLoadSnapshot, streamID).Scan(&snap.Version, &snap.Type, &snap.Data, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return eventstore.Snapshot{}, fmt.Errorf("%w: %q", eventstore.ErrNoSnapshot, streamID)
	case err != nil:
		return eventstore.Snapshot{}, fmt.Errorf("sqlstore: load snapshot of %q: %w", streamID, err)
	}
	if len(snap.Data) == 0 {
		snap.Data = nil
	}
	snap.CreatedAt = time.UnixMicro(created).UTC()
	return snap, nil
}
