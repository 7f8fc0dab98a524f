package saga

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
)

// change collects one transition of one saga: the new state, and the
// history rows, command rows and outbox messages to write with it.
type change struct {
	st      *State
	def     *Definition
	now     time.Time
	prev    int64 // version read; 0 for a new saga
	history []HistoryEntry
	cmds    []commandRow
	msgs    []outbox.Message
}

func (o *Orchestrator) newChange(st *State, def *Definition) *change {
	return &change{st: st, def: def, now: o.now(), prev: st.Version}
}

// record appends a history entry for the current step and phase.
func (c *change) record(ev, commandID, reason string) {
	e := HistoryEntry{At: c.now, Step: c.st.Step, Phase: phaseOf(c.st.Status), Event: ev, CommandID: commandID, Reason: reason}
	if c.st.Step >= 0 && c.st.Step < len(c.def.Steps) {
		e.StepName = c.def.Steps[c.st.Step].Name
	}
	c.history = append(c.history, e)
}

// step returns the current step's definition.
func (c *change) step() *Step { return &c.def.Steps[c.st.Step] }

// compensate turns a running saga into a compensating one, starting with
// step from (the current step when its action may have taken effect, the
// one before when it certainly did not).
func (c *change) compensate(from int, reason string) {
	c.st.Status = StatusCompensating
	c.st.Step = from
	c.st.Attempt = 1
	c.st.Reason = reason
}

// stuck marks the saga failed.
func (c *change) stuck(reason string) {
	c.st.Status = StatusFailed
	c.st.Deadline = time.Time{}
	c.st.Reason = reason
	c.record(EventStuck, "", reason)
}

// dispatch sends the command the saga now waits for: the Action of the
// current step when running, its Compensation when compensating (skipping
// steps with none). It finishes the saga when nothing is left. causation
// is the eventId of the event that triggered this (a reply, the command
// that timed out, or Start's causation).
func (o *Orchestrator) dispatch(ctx context.Context, c *change, causation string) {
	st := c.st
	for {
		switch st.Status {
		case StatusRunning:
			if st.Step >= len(c.def.Steps) {
				st.Status, st.Deadline, st.Attempt = StatusCompleted, time.Time{}, 0
				c.record(EventCompleted, "", "")
				return
			}
			cmd, err := c.step().Action(ctx, st)
			if err == nil {
				err = o.emit(c, cmd, causation)
			}
			if err == nil {
				return
			}
			err = &StepError{SagaID: st.ID, Step: c.step().Name, Phase: PhaseAction, Err: err}
			o.log.Error("saga action failed; compensating", "saga", st.ID, "err", err)
			c.record(EventFailed, "", err.Error())
			c.compensate(st.Step-1, err.Error())
		case StatusCompensating:
			if st.Step < 0 {
				st.Status, st.Deadline, st.Attempt = StatusCompensated, time.Time{}, 0
				c.record(EventCompensated, "", st.Reason)
				return
			}
			if c.step().Compensation == nil {
				c.record(EventSkipped, "", "no compensation")
				st.Step--
				st.Attempt = 1
				continue
			}
			cmd, err := c.step().Compensation(ctx, st)
			if err == nil {
				err = o.emit(c, cmd, causation)
			}
			if err != nil {
				err = &StepError{SagaID: st.ID, Step: c.step().Name, Phase: PhaseCompensation, Err: err}
				o.log.Error("saga compensation failed; saga is stuck", "saga", st.ID, "err", err)
				c.stuck(err.Error())
			}
			return
		default:
			return
		}
	}
}

// emit turns cmd into an envelope and outbox message for the current step
// and phase, and sets the saga's command id and deadline.
func (o *Orchestrator) emit(c *change, cmd Command, causation string) error {
	st := c.st
	if cmd.Topic == "" {
		return fmt.Errorf("%w: command without topic", ErrBadCommand)
	}
	if cmd.Type == "" {
		return fmt.Errorf("%w: command without type", ErrBadCommand)
	}
	data, err := json.Marshal(cmd.Data)
	if err != nil {
		return fmt.Errorf("%w: data: %w", ErrBadCommand, err)
	}
	if cmd.Data == nil {
		data = []byte("{}")
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%w: data is not a JSON object", ErrBadCommand)
	}
	version := cmd.Version
	if version == 0 {
		version = 1
	}
	env := event.Envelope{
		EventID:   event.NewID(),
		EventType: cmd.Type,
		Timestamp: c.now.UTC().Truncate(time.Millisecond),
		Version:   version,
		Data:      data,
		Metadata:  event.Metadata{CorrelationID: st.CorrelationID, CausationID: causation, Source: o.cfg.source},
	}
	key := cmd.Key
	if key == "" {
		key = st.CorrelationID
	}
	phase := phaseOf(st.Status)
	msg, err := envelopeMessage(cmd.Topic, key, env, []outbox.Header{
		{Key: HeaderSagaID, Value: st.ID},
		{Key: HeaderStep, Value: strconv.Itoa(st.Step)},
		{Key: HeaderPhase, Value: string(phase)},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCommand, err)
	}
	st.CommandID = env.EventID
	st.Deadline = time.Time{}
	if d := c.step().Timeout; d > 0 {
		st.Deadline = c.now.Add(d)
	}
	c.msgs = append(c.msgs, msg)
	c.cmds = append(c.cmds, commandRow{id: env.EventID, sagaID: st.ID, step: st.Step, phase: phase, attempt: st.Attempt, at: c.now})
	c.record(EventSent, env.EventID, cmd.Type)
	return nil
}

// save writes the change in tx: the saga row (insert for a new saga, else
// an update conditional on the version read), commands, history, outbox
// messages, then the definition's OnTransition hook. For a new saga it
// reports false, writing nothing else, when the id exists already.
func (o *Orchestrator) save(ctx context.Context, tx *sqldb.Tx, c *change) (bool, error) {
	st := c.st
	st.Version = c.prev + 1
	st.UpdatedAt = c.now
	if c.prev == 0 {
		st.CreatedAt = c.now
		ok, err := insertInstance(ctx, tx, st)
		if err != nil || !ok {
			return false, err
		}
	} else if err := updateInstance(ctx, tx, st, c.prev); err != nil {
		return false, err
	}
	for _, cmd := range c.cmds {
		if err := insertCommand(ctx, tx, cmd); err != nil {
			return false, err
		}
	}
	if err := insertHistory(ctx, tx, st.ID, c.history); err != nil {
		return false, err
	}
	if err := outbox.Enqueue(ctx, tx, c.msgs...); err != nil {
		return false, fmt.Errorf("saga %s: %w", st.ID, err)
	}
	if c.def.OnTransition != nil {
		for _, e := range c.history {
			if err := c.def.OnTransition(ctx, tx, st, e); err != nil {
				return false, fmt.Errorf("saga %s: OnTransition(%s): %w", st.ID, e.Event, err)
			}
		}
	}
	return true, nil
}
