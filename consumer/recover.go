package consumer

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/causeway-dev/causeway/sqldb"
)

// PanicError is the error Recover returns for a handler that panicked.
type PanicError struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

// Error returns "consumer: handler panicked: VALUE" followed by the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("consumer: handler panicked: %v\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// Recover turns a panic in the wrapped handler into a *PanicError, so a
// panicking handler is retried and dead-lettered like a failing one and
// never crashes the process. The runner always installs it outermost.
func Recover() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *Message) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = &PanicError{Value: p, Stack: debug.Stack()}
				}
			}()
			return next.Handle(ctx, tx, m)
		})
	}
}
