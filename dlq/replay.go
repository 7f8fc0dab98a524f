package dlq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
)

// Selection says which letters a replay takes: the letters IDs when given,
// otherwise those Filter matches. A filter without Status takes only
// unresolved letters (StatusUnresolved).
type Selection struct {
	IDs    []string `json:"ids,omitempty"`
	Filter Filter   `json:"filter,omitzero"`
}

// ReplayOptions tune one Replay call.
type ReplayOptions struct {
	// Operator says who asks (audited); empty means "unknown".
	Operator string
	// Reason says why (audited, and sent in the causeway-reason header).
	Reason string
	// DryRun reports what would be replayed and produces nothing. Dry runs
	// are audited as such and count for nothing.
	DryRun bool
	// Force replays letters the loop guard would refuse.
	Force bool
	// Rate caps the replays per second; 0 means no cap.
	Rate float64
	// Resume continues the bulk job with this id: its selection, reason
	// and force flag apply, and the letters it already replayed are
	// skipped. Needs WithAudit.
	Resume string
	// OnProgress, when set, is called after each letter, in order.
	OnProgress func(Outcome)
}

// Results of one letter in Outcome.Result.
const (
	ResultReplayed    = "replayed"
	ResultWouldReplay = "would-replay"
	ResultDiscarded   = "discarded"
	ResultWouldDrop   = "would-discard"
	ResultRefused     = "refused"
	ResultSkipped     = "skipped"
)

// Outcome is what happened to one letter.
type Outcome struct {
	LetterID string `json:"letterId"`
	Group    string `json:"group"`
	Key      string `json:"key"`
	// Result is one of the Result* constants.
	Result string `json:"result"`
	// ReplayCount is the letter's replay count after this action.
	ReplayCount int `json:"replayCount"`
	// Error explains a refusal.
	Error string `json:"error,omitempty"`
}

// ReplayResult reports a Replay.
type ReplayResult struct {
	// JobID identifies a bulk replay (a filter, or several ids) with the
	// audit log; resume it with ReplayOptions.Resume.
	JobID    string    `json:"jobId,omitempty"`
	Outcomes []Outcome `json:"outcomes"`
	// Counts per result.
	Replayed    int `json:"replayed"`
	WouldReplay int `json:"wouldReplay"`
	Refused     int `json:"refused"`
	Skipped     int `json:"skipped"`
}

// Replay sends the selected letters back to the groups that failed them:
// for each, consumer.ReplayRecord(group, letter, "replay", reason) is
// produced to replay.<group>, which only that group consumes. The record
// carries HeaderReplayCount = the letter's replay count + 1.
//
// The loop guard refuses a letter already replayed WithMaxReplays times
// (the larger of its causeway-replay-count header and the audit log's
// count) unless Force; each refusal is in the result and in the returned
// error as a *LoopGuardError (ErrLoopGuard). With an audit log, every
// replay is recorded in the transaction that produces it, and a bulk
// replay is a job whose checkpoint advances with each letter, so an
// interrupted job (ctx cancelled, process killed) continues with
// ReplayOptions.Resume. Letters are replayed in List order, at most Rate
// per second.
//
// Errors: ErrNoSelection, ErrInvalidFilter, ErrInvalidID, ErrNotFound (a
// given id that does not exist; nothing is produced then), ErrNoAudit and
// ErrJobNotFound for Resume, ErrLoopGuard, and broker or database
// failures. The result is returned with the error whenever something was
// done.
func (in *Inspector) Replay(ctx context.Context, sel Selection, o ReplayOptions) (*ReplayResult, error) {
	res := &ReplayResult{}
	done := map[string]bool{}
	if o.Resume != "" {
		if in.audit == nil {
			return nil, ErrNoAudit
		}
		job, err := in.audit.Job(ctx, o.Resume)
		if err != nil {
			return nil, err
		}
		if done, err = in.audit.jobDone(ctx, job.ID); err != nil {
			return nil, err
		}
		sel, o.Reason, o.Force = job.Selection, job.Reason, job.Force
		if o.Rate == 0 {
			o.Rate = job.Rate
		}
		if o.Operator == "" {
			o.Operator = job.Operator
		}
		res.JobID = job.ID
	}
	if o.Operator == "" {
		o.Operator = "unknown"
	}
	if o.Rate < 0 {
		return nil, fmt.Errorf("%w: rate %v: want 0 (no cap) or more", ErrInvalidFilter, o.Rate)
	}
	var letters []Letter
	var err error
	switch {
	case len(sel.IDs) > 0:
		letters, err = in.letters(ctx, slices.Compact(slices.Clone(sel.IDs)))
	case !sel.Filter.IsZero():
		f := sel.Filter
		if f.Status == "" {
			f.Status = StatusUnresolved
		}
		letters, err = in.List(ctx, f)
	default:
		return nil, ErrNoSelection
	}
	if err != nil {
		return nil, err
	}
	bulk := len(sel.IDs) != 1
	if bulk && res.JobID == "" && in.audit != nil && !o.DryRun {
		job := Job{ID: newJobID(), Created: in.now().UTC(), Operator: o.Operator, Reason: o.Reason,
			Selection: sel, Rate: o.Rate, Force: o.Force}
		if err := in.audit.createJob(ctx, job); err != nil {
			return nil, err
		}
		res.JobID = job.ID
	}
	var refusals []error
	produced := 0
	for _, l := range letters {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("dlq: replay interrupted (job %s): %w", res.JobID, err)
		}
		out := Outcome{LetterID: l.ID, Group: l.Group, Key: l.Key, ReplayCount: l.ReplayCount}
		switch {
		case done[l.ID]:
			out.Result = ResultSkipped
			res.Skipped++
		case l.ReplayCount >= in.maxReplays && !o.Force:
			lg := &LoopGuardError{LetterID: l.ID, Replays: l.ReplayCount, Limit: in.maxReplays}
			refusals = append(refusals, lg)
			out.Result, out.Error = ResultRefused, lg.Error()
			res.Refused++
		case o.DryRun:
			out.Result, out.ReplayCount = ResultWouldReplay, l.ReplayCount+1
			if err := in.apply(ctx, l, consumer.ActionReplay, o, out.ReplayCount, "", true); err != nil {
				return res, err
			}
			res.WouldReplay++
		default:
			if produced > 0 && o.Rate > 0 {
				if err := in.sleep(ctx, time.Duration(float64(time.Second)/o.Rate)); err != nil {
					return res, fmt.Errorf("dlq: replay interrupted (job %s): %w", res.JobID, err)
				}
			}
			out.ReplayCount = l.ReplayCount + 1
			if err := in.apply(ctx, l, consumer.ActionReplay, o, out.ReplayCount, res.JobID, false); err != nil {
				return res, err
			}
			produced++
			out.Result = ResultReplayed
			res.Replayed++
		}
		res.Outcomes = append(res.Outcomes, out)
		if o.OnProgress != nil {
			o.OnProgress(out)
		}
	}
	if res.JobID != "" && in.audit != nil && !o.DryRun {
		if err := in.audit.finishJob(ctx, res.JobID); err != nil {
			return res, err
		}
	}
	return res, errors.Join(refusals...)
}

// DiscardOptions tune one Discard call.
type DiscardOptions struct {
	// Operator says who asks (audited); empty means "unknown".
	Operator string
	// Reason says why; required.
	Reason string
	// DryRun checks and audits the discard but produces nothing.
	DryRun bool
}

// Discard drops the letter id: consumer.ReplayRecord(group, letter,
// "discard", reason) goes to replay.<group>, and the group releases the
// key's parked records in order without handling the letter. A reason is
// required (ErrReasonRequired); the discard is audited with WithAudit.
func (in *Inspector) Discard(ctx context.Context, id string, o DiscardOptions) (Outcome, error) {
	if strings.TrimSpace(o.Reason) == "" {
		return Outcome{}, ErrReasonRequired
	}
	if o.Operator == "" {
		o.Operator = "unknown"
	}
	ls, err := in.letters(ctx, []string{id})
	if err != nil {
		return Outcome{}, err
	}
	l := ls[0]
	out := Outcome{LetterID: l.ID, Group: l.Group, Key: l.Key, ReplayCount: l.ReplayCount, Result: ResultDiscarded}
	if o.DryRun {
		out.Result = ResultWouldDrop
	}
	ro := ReplayOptions{Operator: o.Operator, Reason: o.Reason}
	if err := in.apply(ctx, l, consumer.ActionDiscard, ro, l.ReplayCount, "", o.DryRun); err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// apply audits one action and, unless dryRun, produces its replay record,
// in one audit transaction: the record is produced before the commit, so
// an audited action was sent (a failed produce rolls the audit row back).
func (in *Inspector) apply(ctx context.Context, l Letter, action string, o ReplayOptions, count int, job string, dryRun bool) error {
	send := func() error {
		if dryRun {
			return nil
		}
		rec := replayRecord(l, action, o.Reason, count)
		if err := in.client.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return fmt.Errorf("dlq: produce %s of %s to %s: %w", action, l.ID, rec.Topic, err)
		}
		in.log.Info("dlq: "+action+" requested", "letter", l.ID, "operator", o.Operator,
			"replayCount", count, "job", job)
		return nil
	}
	if in.audit == nil {
		return send()
	}
	return in.audit.db.InTx(ctx, func(tx *sqldb.Tx) error {
		e := Entry{At: in.now().UTC(), Operator: o.Operator, Action: action, LetterID: l.ID,
			Group: l.Group, Key: l.Key, Reason: o.Reason, DryRun: dryRun, Forced: o.Force,
			ReplayCount: count, JobID: job}
		if err := record(ctx, tx, e); err != nil {
			return err
		}
		return send()
	})
}

// replayRecord builds the record for replay.<group>, with the replay count
// header set to count.
func replayRecord(l Letter, action, reason string, count int) *kgo.Record {
	letter := l.Record()
	letter.Headers = slices.DeleteFunc(letter.Headers, func(h kgo.RecordHeader) bool {
		return h.Key == HeaderReplayCount
	})
	if count > 0 {
		letter.Headers = append(letter.Headers,
			kgo.RecordHeader{Key: HeaderReplayCount, Value: []byte(strconv.Itoa(count))})
	}
	return consumer.ReplayRecord(l.Group, letter, action, reason)
}
