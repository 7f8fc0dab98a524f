package dlq

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/kafka"
)

// Filter selects dead letters. A zero field matches everything; the fields
// combine with AND.
type Filter struct {
	// Group is the consumer group whose dead-letter topic is read; empty
	// reads every "dlq.*" topic.
	Group string `json:"group,omitempty"`
	// Topic is the original topic of the dead-lettered record.
	Topic string `json:"topic,omitempty"`
	// Key is the record key, matched exactly.
	Key string `json:"key,omitempty"`
	// ErrorContains matches letters whose error text contains it,
	// ignoring case.
	ErrorContains string `json:"error,omitempty"`
	// Since and Until bound the letter's last failure: Since <= last <
	// Until. Zero means unbounded.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Kind is one of the consumer.Kind* error kinds.
	Kind string `json:"kind,omitempty"`
	// Status is a Status, or StatusUnresolved / StatusResolved for the
	// two families.
	Status Status `json:"status,omitempty"`
	// Limit caps the number of letters returned; 0 means no limit.
	Limit int `json:"limit,omitempty"`
}

// Limits on filter values.
const (
	// MaxLimit is the largest Filter.Limit.
	MaxLimit = 100000
	// MaxKeyLen bounds Filter.Key, in bytes.
	MaxKeyLen = 4096
	// MaxErrorLen bounds Filter.ErrorContains, in bytes.
	MaxErrorLen = 1024
)

// Query parameter names of ParseFilter and Filter.Encode.
const (
	ParamGroup  = "group"
	ParamTopic  = "topic"
	ParamKey    = "key"
	ParamError  = "error"
	ParamSince  = "since"
	ParamUntil  = "until"
	ParamKind   = "kind"
	ParamStatus = "status"
	ParamLimit  = "limit"
)

var params = []string{ParamGroup, ParamTopic, ParamKey, ParamError, ParamSince, ParamUntil, ParamKind, ParamStatus, ParamLimit}

var kinds = []string{consumer.KindMalformed, consumer.KindUnknownType, consumer.KindUnknownVersion,
	consumer.KindUpcast, consumer.KindContract, consumer.KindPanic, consumer.KindPermanent, consumer.KindError}

// ParseFilter builds a Filter from query parameters (an HTTP query string,
// or CLI flags gathered into url.Values). Every parameter is optional and
// may appear once; unknown parameters are errors. since and until take an
// RFC 3339 time or a positive Go duration meaning "that long before now"
// ("90m", "24h"). Every problem is reported, each as a *FilterError, joined
// with errors.Join; all match ErrInvalidFilter.
func ParseFilter(q url.Values, now time.Time) (Filter, error) {
	var f Filter
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &FilterError{Field: field, Value: value, Reason: reason})
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := q[k]
		if !slices.Contains(params, k) {
			bad(k, strings.Join(vs, ","), "unknown parameter, want one of "+strings.Join(params, ", "))
			continue
		}
		if len(vs) != 1 {
			bad(k, strings.Join(vs, ","), "given more than once")
			continue
		}
		v := vs[0]
		switch k {
		case ParamGroup:
			f.Group = v
		case ParamTopic:
			f.Topic = v
		case ParamKey:
			f.Key = v
		case ParamError:
			f.ErrorContains = v
		case ParamKind:
			f.Kind = v
		case ParamStatus:
			f.Status = Status(v)
		case ParamSince, ParamUntil:
			t, err := parseTime(v, now)
			if err != nil {
				bad(k, v, err.Error())
				continue
			}
			if k == ParamSince {
				f.Since = t
			} else {
				f.Until = t
			}
		case ParamLimit:
			n, err := strconv.Atoi(v)
			if err != nil {
				bad(k, v, "not an integer")
				continue
			}
			f.Limit = n
		}
	}
	if err := f.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Filter{}, errors.Join(errs...)
	}
	return f, nil
}

func parseTime(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("empty; want an RFC 3339 time or a duration such as 90m")
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time (2026-11-25T15:00:00Z) or a duration before now (90m, 24h)")
	}
	if d <= 0 {
		return time.Time{}, errors.New("a duration must be positive (it means that long before now)")
	}
	return now.Add(-d).UTC().Round(0), nil
}

// Validate reports every problem of the filter, each a *FilterError,
// joined with errors.Join.
func (f Filter) Validate() error {
	var errs []error
	bad := func(field, value, reason string) {
		errs = append(errs, &FilterError{Field: field, Value: value, Reason: reason})
	}
	if f.Group != "" {
		if strings.Contains(f.Group, "/") {
			bad(ParamGroup, f.Group, "must not contain '/'")
		} else if err := kafka.ValidateTopicName(kafka.DeadLetterTopic(f.Group)); err != nil {
			bad(ParamGroup, f.Group, "not usable in a topic name: want 1-245 characters of [a-zA-Z0-9._-]")
		}
	}
	if f.Topic != "" {
		if err := kafka.ValidateTopicName(f.Topic); err != nil || f.Topic == "." || f.Topic == ".." {
			bad(ParamTopic, f.Topic, "not a topic name: want 1-249 characters of [a-zA-Z0-9._-]")
		}
	}
	if len(f.Key) > MaxKeyLen {
		bad(ParamKey, f.Key[:64]+"…", "longer than "+strconv.Itoa(MaxKeyLen)+" bytes")
	}
	if len(f.ErrorContains) > MaxErrorLen {
		bad(ParamError, f.ErrorContains[:64]+"…", "longer than "+strconv.Itoa(MaxErrorLen)+" bytes")
	} else if !utf8.ValidString(f.ErrorContains) {
		bad(ParamError, f.ErrorContains, "not valid UTF-8")
	}
	if f.Kind != "" && !slices.Contains(kinds, f.Kind) {
		bad(ParamKind, f.Kind, "unknown kind, want one of "+strings.Join(kinds, ", "))
	}
	if f.Status != "" && !f.Status.valid() && f.Status != StatusUnresolved && f.Status != StatusResolved {
		bad(ParamStatus, string(f.Status), "unknown status, want one of "+strings.Join(statusNames(), ", "))
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		bad(ParamLimit, strconv.Itoa(f.Limit), "want 0 (no limit) to "+strconv.Itoa(MaxLimit))
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		bad(ParamUntil, f.Until.Format(time.RFC3339Nano), "must be after since ("+f.Since.Format(time.RFC3339Nano)+")")
	}
	return errors.Join(errs...)
}

// Encode returns the filter as query parameters that ParseFilter reads
// back into an equal filter (times as RFC 3339 with nanoseconds, UTC).
func (f Filter) Encode() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set(ParamGroup, f.Group)
	set(ParamTopic, f.Topic)
	set(ParamKey, f.Key)
	set(ParamError, f.ErrorContains)
	set(ParamKind, f.Kind)
	set(ParamStatus, string(f.Status))
	if !f.Since.IsZero() {
		set(ParamSince, f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		set(ParamUntil, f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.Limit != 0 {
		set(ParamLimit, strconv.Itoa(f.Limit))
	}
	return q
}

// IsZero reports whether the filter selects every letter (ignoring Limit).
func (f Filter) IsZero() bool {
	f.Limit = 0
	return f == Filter{}
}

// Match reports whether l passes every criterion but Limit.
func (f Filter) Match(l Letter) bool {
	switch {
	case f.Group != "" && l.Group != f.Group,
		f.Topic != "" && l.OriginalTopic != f.Topic,
		f.Key != "" && l.Key != f.Key,
		f.Kind != "" && l.Kind != f.Kind,
		!f.Since.IsZero() && l.LastFailure.Before(f.Since),
		!f.Until.IsZero() && !l.LastFailure.Before(f.Until),
		f.ErrorContains != "" && !strings.Contains(strings.ToLower(l.Error), strings.ToLower(f.ErrorContains)):
		return false
	}
	switch f.Status {
	case "":
		return true
	case StatusUnresolved:
		return !l.Status.Resolved()
	case StatusResolved:
		return l.Status.Resolved()
	}
	return l.Status == f.Status
}
