package storetest

import (
	"testing"

	"github.com/causeway-dev/causeway/eventstore"
)

// NewStore returns a fresh, empty store for one test; it registers its own
// cleanup with t.Cleanup.
type NewStore func(t testing.TB) eventstore.Store

// Run runs the conformance suite as subtests of t, each on a store from
// newStore. A Store that also implements eventstore.CorrelationReader is
// checked for that too.
func Run(t *testing.T, newStore func(t testing.TB) eventstore.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore NewStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"ExpectedVersion", testExpectedVersion},
		{"ConcurrentAppendersOneStream", testConcurrentOneStream},
		{"ParallelStreamsReadAllContiguous", testParallelStreams},
		{"PollerSeesEveryPositionOnce", testPoller},
		{"IdempotentRetry", testIdempotentRetry},
		{"DuplicateRejected", testDuplicateRejected},
		{"LoadAfterVersion", testLoadAfterVersion},
		{"LoadAt", testLoadAt},
		{"ReadAllPaging", testReadAllPaging},
		{"Snapshots", testSnapshots},
		{"ContextCanceled", testContextCanceled},
		{"InvalidArguments", testInvalidArguments},
		{"ReadCorrelation", testReadCorrelation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}
