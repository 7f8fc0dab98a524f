// Package loadgen drives the order API with a mix of saga paths and
// measures it: the latency from the scheduled send to the 202, to the
// order's terminal event on the orders topic, and to the terminal status in
// the read model (GET /v1/orders/{id}).
//
// Open-loop mode (Config.Rate) sends at fixed, precomputed times whatever
// the answers, and measures every latency from the scheduled time, so a
// slow server shows up in the latencies instead of silently lowering the
// load (no coordinated omission). Closed-loop mode (Config.Max) runs
// Config.Concurrency clients that send back to back.
//
// Terminal events are observed without polling: a group-less consumer reads
// every partition of the orders topic from its end offset at start and
// timestamps order.shipped and order.cancelled per orderId when they
// arrive. Accepted orders are written to a JSON-lines file (OrderRecord)
// with their path's expected outcome for the invariant checker.
package loadgen
