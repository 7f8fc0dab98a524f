package sqldb

import "sync"

// notifier is a tiny in-process, level-triggered signal per channel name.
type notifier struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func (n *notifier) get(name string) chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(map[string]chan struct{})
	}
	c, ok := n.ch[name]
	if !ok {
		c = make(chan struct{}, 1)
		n.ch[name] = c
	}
	return c
}

// Notify signals channel name. Signals coalesce: many Notify calls before
// the waiter looks are seen as one. It never blocks.
func (db *DB) Notify(name string) {
	select {
	case db.notifier.get(name) <- struct{}{}:
	default:
	}
}

// Notified returns the channel that receives a value after Notify(name).
// Intended for one waiter per name (for example the outbox relay).
func (db *DB) Notified(name string) <-chan struct{} { return db.notifier.get(name) }
