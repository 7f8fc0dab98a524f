package dashboard

import (
	"encoding/json"
	"net/http"
	"time"
)

// Bounds of GET /v1/dashboard/stream.
const (
	// StreamInterval is how often the stream sends the state and orders.
	StreamInterval = 1500 * time.Millisecond
	// MaxStreamDuration ends a stream (the page opens a new one), so no
	// connection is held for ever.
	MaxStreamDuration = 5 * time.Minute
)

// StreamHandler serves GET /v1/dashboard/stream: server-sent events
// (text/event-stream) with what the page would poll — at once and then
// every StreamInterval an event "state" (the JSON of
// GET /v1/dashboard/state) and an event "orders" (that of
// GET /v1/dashboard/orders, the 20 latest). It ends when the client goes
// away, after MaxStreamDuration, or when Close is called (server
// shutdown: register Close with http.Server.RegisterOnShutdown, since
// Shutdown waits for streaming handlers). An error is sent as an event
// "problem" ({"detail": …}) and ends the stream.
func (d *Dashboard) StreamHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		send := func(event string, v any) bool {
			b, err := json.Marshal(v)
			if err != nil {
				return false
			}
			if _, err := w.Write([]byte("event: " + event + "\ndata: " + string(b) + "\n\n")); err != nil {
				return false
			}
			return rc.Flush() == nil
		}
		end := time.NewTimer(MaxStreamDuration)
		defer end.Stop()
		tick := time.NewTicker(StreamInterval)
		defer tick.Stop()
		for {
			st, err := d.State(time.Now())
			if err != nil {
				send("problem", map[string]string{"detail": err.Error()})
				return
			}
			orders, err := d.Recent(r.Context(), 20)
			if err != nil {
				send("problem", map[string]string{"detail": err.Error()})
				return
			}
			if !send("state", st) || !send("orders", map[string]any{"orders": orders}) {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-d.done:
				return
			case <-end.C:
				return
			case <-tick.C:
			}
		}
	})
}

// Close ends every stream StreamHandler serves, now and later.
func (d *Dashboard) Close() {
	d.closeOnce.Do(func() { close(d.done) })
}
