package kafka_test

import (
	"testing"

	"github.com/causeway-dev/causeway/kafka"
)

func TestGroupTopicSpecs(t *testing.T) {
	specs := kafka.GroupTopicSpecs("payment-service", 3, -1)
	if got, want := len(specs), 2; got != want {
		t.Fatalf("specs = %d, want %d", got, want)
	}
	for i, want := range []string{"dlq.payment-service", "replay.payment-service"} {
		if got := specs[i].Name; got != want {
			t.Errorf("spec %d name = %q, want %q", i, got, want)
		}
		if err := specs[i].Validate(); err != nil {
			t.Errorf("spec %s: %v", specs[i].Name, err)
		}
		if specs[i].Partitions != 3 {
			t.Errorf("spec %s partitions = %d, want 3", specs[i].Name, specs[i].Partitions)
		}
	}
}
