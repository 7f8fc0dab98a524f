package outbox

import "context"

// WithAfterAckHook sets a hook that runs after the broker acknowledged a
// batch and before its rows are deleted. When it returns an error, Run
// returns at once without deleting, as if the process had crashed there.
func WithAfterAckHook(h func(ctx context.Context, ids []int64) error) Option {
	return optionFunc(func(c *config) { c.afterAck = h })
}

// AppendHeadersJSON and ParseHeadersJSON are the headers column codec, for
// the differential tests against encoding/json.
var (
	AppendHeadersJSON = appendHeadersJSON
	ParseHeadersJSON  = parseHeadersJSON
)
