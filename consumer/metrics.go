package consumer

import "sync/atomic"

// The runner keeps plain counters, readable with Runner.Stats, which the
// metrics package exports as a prometheus.Collector (the consumer package
// does not depend on a metrics library), and reports rebalance durations to
// a WithRebalanceObserver function.

// Stats are the runner's cumulative counters.
type Stats struct {
	// Handled counts records handled (or skipped as duplicates) in
	// committed partition-batch transactions (replayed and drained records
	// are counted in Replays, not here).
	Handled int64
	// Skipped counts records of event types the runner does not hand to
	// its handler (WithEventTypes): acknowledged at once, without a
	// transaction.
	Skipped int64
	// Parked counts records parked behind a dead letter of their key.
	Parked int64
	// Failures counts handler attempts that failed (errors and panics).
	Failures int64
	// DeadLetters counts dead letters produced.
	DeadLetters int64
	// Replays counts replay-topic records applied, by result: "resolved",
	// "failed" (the replayed letter failed again), "drain-failed", "stale",
	// "invalid".
	Replays map[string]int64
	// Batches counts committed batch transactions (one per lane batch on
	// PostgreSQL; on SQLite one group-commit transaction may hold the lane
	// batches of several partitions); Handled+Parked over Batches is the
	// mean number of records per transaction.
	Batches int64
	// Rebalances counts assignment, revocation and loss callbacks.
	Rebalances int64
	// PartitionsAssigned, PartitionsRevoked and PartitionsLost count the
	// partitions (of the group's topics and its replay topic) handed to
	// this member by assignments, taken back by revocations (leaving the
	// group included), and lost (the session expired or the member was
	// fenced: their in-flight work is abandoned, not committed).
	PartitionsAssigned, PartitionsRevoked, PartitionsLost int64
	// Assigned is the number of partitions the runner holds now.
	Assigned int64
	// RebalancesCompleted counts completed rebalances as this member saw
	// them (see WithRebalanceObserver for what one is).
	RebalancesCompleted int64
}

type metrics struct {
	handled, skipped, parked, failures, deadLetters, batches, rebalances atomic.Int64
	resolved, failed, drainFailed, stale, invalid                        atomic.Int64
	assignedParts, revokedParts, lostParts, assigned, completed          atomic.Int64
}

func (m *metrics) replay(result string) {
	switch result {
	case "resolved":
		m.resolved.Add(1)
	case "failed":
		m.failed.Add(1)
	case "drain-failed":
		m.drainFailed.Add(1)
	case "stale":
		m.stale.Add(1)
	default:
		m.invalid.Add(1)
	}
}

// Stats returns a snapshot of the runner's counters. It is safe to call at
// any time, concurrently with Run.
func (r *Runner) Stats() Stats {
	m := &r.metrics
	return Stats{
		Handled: m.handled.Load(), Skipped: m.skipped.Load(), Parked: m.parked.Load(), Failures: m.failures.Load(),
		DeadLetters: m.deadLetters.Load(), Batches: m.batches.Load(), Rebalances: m.rebalances.Load(),
		PartitionsAssigned: m.assignedParts.Load(), PartitionsRevoked: m.revokedParts.Load(),
		PartitionsLost: m.lostParts.Load(), Assigned: m.assigned.Load(), RebalancesCompleted: m.completed.Load(),
		Replays: map[string]int64{
			"resolved": m.resolved.Load(), "failed": m.failed.Load(), "drain-failed": m.drainFailed.Load(),
			"stale": m.stale.Load(), "invalid": m.invalid.Load(),
		},
	}
}
