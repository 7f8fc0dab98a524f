package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newBrokerCmd runs only the embedded broker (placeholder until the kafka
// package lands).
func newBrokerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka-protocol broker standalone",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("broker: not wired yet")
		},
	}
}
