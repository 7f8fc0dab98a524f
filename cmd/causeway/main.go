// Command causeway runs the Causeway order platform and its operator tools.
//
// Every flag can also be set with an environment variable CAUSEWAY_<FLAG>,
// upper-cased with dashes as underscores (--http-addr → CAUSEWAY_HTTP_ADDR).
// A flag given on the command line wins over the environment.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "causeway:", err)
		os.Exit(1)
	}
}
