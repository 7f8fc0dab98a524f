package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

// Orchestrator runs sagas of its definitions: it starts them, correlates
// replies, times steps out and answers queries. All state is in the
// database, so any number of Orchestrators over the same database (after a
// crash, or several processes on PostgreSQL) continue each other's sagas;
// concurrent changes of one saga are resolved by optimistic concurrency
// (ErrConflict for the loser).
//
// An Orchestrator is safe for concurrent use.
type Orchestrator struct {
	db   *sqldb.DB
	defs map[string]*Definition
	cfg  config
	log  *slog.Logger
}

// New returns an orchestrator for defs over db. db must have Migrations and
// outbox.Migrations applied; an outbox.Relay publishes the commands. Every
// definition is validated, and names must be unique; errors are joined.
func New(db *sqldb.DB, defs []Definition, opts ...Option) (*Orchestrator, error) {
	cfg := config{
		source:       DefaultSource,
		compAttempts: DefaultCompensationAttempts,
		tickInterval: DefaultTickInterval,
		tickBatch:    DefaultTickBatch,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	var errs []error
	if db == nil {
		errs = append(errs, fmt.Errorf("%w: db is nil", ErrInvalidArgument))
	}
	if len(defs) == 0 {
		errs = append(errs, fmt.Errorf("%w: no definitions", ErrInvalidDefinition))
	}
	m := make(map[string]*Definition, len(defs))
	for i := range defs {
		d := defs[i]
		d.Steps = append([]Step(nil), d.Steps...)
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := m[d.Name]; dup {
			errs = append(errs, fmt.Errorf("%w: duplicate definition name %q", ErrInvalidDefinition, d.Name))
		}
		m[d.Name] = &d
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log := cfg.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.clock == nil {
		cfg.clock = ClockFunc(time.Now)
	}
	return &Orchestrator{db: db, defs: m, cfg: cfg, log: log}, nil
}

func (o *Orchestrator) now() time.Time { return o.cfg.clock.Now().UTC() }

func (o *Orchestrator) definition(name string) (*Definition, error) {
	d, ok := o.defs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownDefinition, name)
	}
	return d, nil
}

// load reads saga id in tx with its definition, checking that a saga still
// waiting points at a step the definition has (a definition that lost
// steps while sagas were in flight is an error, never a panic).
func (o *Orchestrator) load(ctx context.Context, tx *sqldb.Tx, id string) (*State, *Definition, error) {
	st, err := loadInstance(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	def, err := o.definition(st.Definition)
	if err != nil {
		return nil, nil, err
	}
	if !st.Status.Terminal() || st.Status == StatusFailed {
		if st.Step < 0 || st.Step >= len(def.Steps) {
			return nil, nil, fmt.Errorf("%w: saga %s is %s at step %d, definition %q has %d steps",
				ErrUnknownDefinition, id, st.Status, st.Step, def.Name, len(def.Steps))
		}
	}
	return st, def, nil
}

// Start creates saga sagaID of the named definition inside the caller's
// transaction tx (e.g. the one that appends order.placed) and writes the
// first step's command to the outbox in it. data becomes the saga's JSON
// data (nil means {}; a json.RawMessage is taken as it is);
// correlationID goes on every command, causationID (the triggering event's
// id) on the first.
//
// Start is idempotent on sagaID: when the saga exists, it changes nothing
// and returns false. If the first Action fails, the saga is created
// already compensated (see Step.Action).
func (o *Orchestrator) Start(ctx context.Context, tx *sqldb.Tx, definition, sagaID, correlationID, causationID string, data any) (bool, error) {
	def, err := o.definition(definition)
	if err != nil {
		return false, err
	}
	if sagaID == "" || correlationID == "" {
		return false, fmt.Errorf("%w: saga id and correlation id must not be empty", ErrInvalidArgument)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return false, fmt.Errorf("%w: data: %w", ErrInvalidArgument, err)
	}
	if data == nil {
		raw = []byte("{}")
	}
	st := &State{ID: sagaID, Definition: def.Name, CorrelationID: correlationID,
		Status: StatusRunning, Step: 0, Attempt: 1, Data: raw}
	c := o.newChange(st, def)
	c.record(EventStarted, "", "")
	o.dispatch(ctx, c, causationID)
	ok, err := o.save(ctx, tx, c)
	if err != nil || !ok {
		return false, err
	}
	o.log.Debug("saga started", "saga", sagaID, "definition", def.Name, "status", st.Status)
	return true, nil
}

// HandleReply applies a participant's reply inside tx.
//
// Correlation: reply.Metadata.CausationID must be the eventId of a command
// this orchestrator sent (every command's eventId is its command id); the
// command is looked up in saga_commands. The reply is applied only when the
// saga still waits for that step and phase (any attempt); otherwise — an
// unknown command, a duplicate, a reply arriving after a timeout moved the
// saga on, a saga already finished — it is a no-op and HandleReply returns
// false. One exception: a failed (stuck) saga takes a late success reply to
// the compensation it is stuck on and goes on compensating. A success moves to the next step (or completes the saga, or, when
// compensating, to the previous step's compensation); a failure of an
// action starts compensating the steps before it, in reverse order; a
// failure of a compensation marks the saga failed.
//
// Errors: ErrBadReply for a reply to one of our commands without a valid
// outcome (never becomes valid), ErrConflict when the saga changed
// concurrently (retry), database errors.
func (o *Orchestrator) HandleReply(ctx context.Context, tx *sqldb.Tx, reply event.Envelope) (bool, error) {
	cmdID := reply.Metadata.CausationID
	if cmdID == "" {
		return false, nil
	}
	cmd, found, err := lookupCommand(ctx, tx, cmdID)
	if err != nil || !found {
		if err == nil {
			o.log.Debug("saga reply for an unknown command ignored", "event", reply.EventID, "command", cmdID)
		}
		return false, err
	}
	r, err := ParseReply(reply)
	if err != nil {
		return false, err
	}
	st, def, err := o.load(ctx, tx, cmd.sagaID)
	if err != nil {
		return false, err
	}
	// A saga stuck on an action (MarkStuck: its command was dead-lettered;
	// MarkReplyStuck: the reply was) takes the reply to that action — the
	// letter was replayed once its cause was fixed — and runs on as if it
	// had never stopped.
	if st.Status == StatusFailed && cmd.phase == PhaseAction && st.Step == cmd.step {
		on, err := stuckPhase(ctx, tx, st.ID)
		if err != nil {
			return false, err
		}
		if on.phase == PhaseAction {
			st.Status, st.Reason = StatusRunning, ""
		}
	}
	// A failed saga still takes a late success of the compensation it is
	// stuck on (it timed out too often, then the participant answered).
	late := st.Status == StatusFailed && r.Outcome == OutcomeSucceeded
	if (st.Status.Terminal() && !late) || st.Step != cmd.step || phaseOf(st.Status) != cmd.phase {
		o.log.Debug("stale saga reply ignored", "saga", st.ID, "event", reply.EventID, "command", cmdID,
			"status", st.Status, "step", st.Step, "reply_step", cmd.step, "reply_phase", cmd.phase)
		return false, nil
	}
	c := o.newChange(st, def)
	step := c.step()
	switch {
	case cmd.phase == PhaseAction && r.Outcome == OutcomeSucceeded:
		if step.OnSuccess != nil {
			if err := step.OnSuccess(st, r); err != nil {
				reason := fmt.Sprintf("step %s: OnSuccess: %v", step.Name, err)
				c.record(EventFailed, cmdID, reason)
				// The action took effect: undo it too.
				c.compensate(st.Step, reason)
				break
			}
		}
		c.record(EventSucceeded, cmdID, r.Reason)
		st.Step++
		st.Attempt = 1
	case cmd.phase == PhaseAction:
		reason := fmt.Sprintf("step %s failed: %s", step.Name, r.Reason)
		c.record(EventFailed, cmdID, r.Reason)
		c.compensate(st.Step-1, reason)
	case r.Outcome == OutcomeSucceeded:
		c.record(EventSucceeded, cmdID, r.Reason)
		st.Status = StatusCompensating
		st.Step--
		st.Attempt = 1
	default:
		c.record(EventFailed, cmdID, r.Reason)
		c.stuck(fmt.Sprintf("compensation of step %s failed: %s", step.Name, r.Reason))
	}
	o.dispatch(ctx, c, reply.EventID)
	if _, err := o.save(ctx, tx, c); err != nil {
		return false, err
	}
	return true, nil
}

// Handler adapts HandleReply to a consumer.Handler, for a consumer.Runner
// on the reply topic (kafka.TopicSagaReplies). ErrBadReply and
// ErrUnknownDefinition are marked consumer.Permanent (dead-lettered at
// once); ErrConflict and database errors are retried by the runner.
func (o *Orchestrator) Handler() consumer.Handler {
	return consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		_, err := o.HandleReply(ctx, tx, m.Envelope)
		if errors.Is(err, ErrBadReply) || errors.Is(err, ErrUnknownDefinition) {
			return consumer.Permanent(err)
		}
		return err
	})
}
