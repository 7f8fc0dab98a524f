package saga

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is where a saga stands.
type Status string

// The statuses of a saga. Running and Compensating wait for a reply;
// Completed, Compensated and Failed are terminal (Failed needs an operator).
const (
	// StatusRunning: the Action of the current step was sent.
	StatusRunning Status = "running"
	// StatusCompensating: the Compensation of the current step was sent
	// (steps are compensated from the last completed one down to the first).
	StatusCompensating Status = "compensating"
	// StatusCompleted: every step succeeded.
	StatusCompleted Status = "completed"
	// StatusCompensated: a step failed or timed out, and every completed
	// step was compensated.
	StatusCompensated Status = "compensated"
	// StatusFailed: the saga is stuck — a compensation failed, could not be
	// built, or timed out more often than allowed, or the command it waits
	// for, or the reply to it, was dead-lettered (MarkStuck, MarkReplyStuck;
	// possibly an action). It waits for an operator (see
	// Orchestrator.Retry, Skip, Compensate).
	StatusFailed Status = "failed"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusRunning, StatusCompensating, StatusCompleted, StatusCompensated, StatusFailed}

// Terminal reports whether no reply or timeout moves the saga any more.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusCompensated || s == StatusFailed
}

// Phase says whether a command does (action) or undoes (compensation) a step.
type Phase string

// The two phases of a step.
const (
	PhaseAction       Phase = "action"
	PhaseCompensation Phase = "compensation"
)

// phaseOf gives the phase of the command a saga with this status waits for.
func phaseOf(s Status) Phase {
	if s == StatusCompensating || s == StatusFailed {
		return PhaseCompensation
	}
	return PhaseAction
}

// History events, the Event of a HistoryEntry.
const (
	EventStarted     = "started"     // the saga was created
	EventSent        = "sent"        // a command was written to the outbox
	EventSucceeded   = "succeeded"   // a success reply arrived
	EventFailed      = "failed"      // a failure reply arrived (or a command could not be built)
	EventTimedOut    = "timed_out"   // the step's deadline passed
	EventSkipped     = "skipped"     // a step with no Compensation, or skipped by an operator
	EventCompleted   = "completed"   // the saga completed
	EventCompensated = "compensated" // the saga finished compensating
	EventStuck       = "stuck"       // the saga became failed
	EventStuckReply  = "stuck-reply" // failed: the reply to its command was dead-lettered (MarkReplyStuck)
	EventOperator    = "operator"    // an operator action
)

// HistoryEntry is one line of a saga's step history.
type HistoryEntry struct {
	At        time.Time
	Step      int
	StepName  string
	Phase     Phase
	Event     string
	CommandID string
	Reason    string
}

// State is one saga instance. Actions and compensations read it; OnSuccess
// may change Data with SetData.
type State struct {
	// ID is the saga id (Start's sagaID, e.g. the order id).
	ID string
	// Definition is the definition's name.
	Definition string
	// CorrelationID is the flow's correlation id, on every command.
	CorrelationID string
	// Status is where the saga stands.
	Status Status
	// Step is the index of the current step: the one whose Action or
	// Compensation is outstanding. len(Steps) once completed, -1 once
	// compensated.
	Step int
	// Attempt counts the sends of the current command (1, 2, …).
	Attempt int
	// CommandID is the eventId of the last command sent.
	CommandID string
	// Data is the saga's JSON data, owned by the definition.
	Data json.RawMessage
	// Deadline is when the current step times out; zero when none.
	Deadline time.Time
	// Reason says why the saga compensates or failed.
	Reason string
	// Version increases with every change (optimistic concurrency).
	Version int64
	// CreatedAt and UpdatedAt are the times of the first and last change.
	CreatedAt time.Time
	UpdatedAt time.Time
	// History is the step history, oldest first (filled by Get only).
	History []HistoryEntry
}

// UnmarshalData decodes the saga's data into v.
func (s *State) UnmarshalData(v any) error {
	if err := json.Unmarshal(s.Data, v); err != nil {
		return fmt.Errorf("saga %s: data: %w", s.ID, err)
	}
	return nil
}

// SetData replaces the saga's data with v marshalled to JSON.
func (s *State) SetData(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("saga %s: data: %w", s.ID, err)
	}
	s.Data = b
	return nil
}
