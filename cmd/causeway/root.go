package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newRootCmd builds the command tree. Each subcommand lives in its own file
// as newXxxCmd.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "causeway",
		Short: "Causeway: an event-driven order platform on Apache Kafka",
		Long: `Causeway is an event-driven order platform on Apache Kafka: event-sourced
orders, CQRS projections, sagas, idempotent consumers, a transactional outbox,
dead-letter topics and monitoring, in one binary.

Every flag also reads CAUSEWAY_<FLAG> from the environment
(--http-addr → CAUSEWAY_HTTP_ADDR); the command line wins.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd)
		},
	}
	root.AddCommand(
		newBrokerCmd(),
		newCheckCmd(),
		newDLQCmd(),
		newLoadgenCmd(),
		newProjectionsCmd(),
		newUpCmd(),
		newServeCmd(),
		newSagasCmd(),
		newStatusCmd(),
		newTopicsCmd(),
		newTraceCmd(),
	)
	return root
}

// envName maps a flag name to its environment variable.
func envName(flag string) string {
	return "CAUSEWAY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag of cmd (local and inherited) that was not given
// on the command line from its CAUSEWAY_* variable, if present.
func applyEnv(cmd *cobra.Command) error {
	var errs []string
	visit := func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", envName(f.Name), v, err))
			}
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}
	return nil
}
