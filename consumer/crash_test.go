package consumer_test

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/twmb/franz-go/pkg/kgo"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

const (
	envHelperAddr = "CAUSEWAY_CONSUMER_HELPER_ADDR"
	envHelperDB   = "CAUSEWAY_CONSUMER_HELPER_DB"
	crashGroup    = "crash-test"
	crashTopic    = "events"
)

// TestHelperProcess is the child of TestKillBetweenEffectAndCommit: it
// consumes until it is killed. It does nothing in a normal test run.
func TestHelperProcess(t *testing.T) {
	addr, path := os.Getenv(envHelperAddr), os.Getenv(envHelperDB)
	if addr == "" || path == "" {
		t.Skip("helper process for TestKillBetweenEffectAndCommit: runs only when re-executed by it (CAUSEWAY_ env set)")
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// A slow handler, so that kills land mid-stream.
	slow := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		time.Sleep(300 * time.Microsecond)
		return effectHandler(ctx, tx, m)
	})
	r, err := consumer.New(db, newCodec(t), crashGroup, []string{crashTopic}, slow,
		// Static membership: a restarted child takes over the killed one's
		// assignment without waiting for its session to expire.
		consumer.WithKafkaOpts(append(kafkaOpts(addr), kgo.InstanceID("crash-child"))...),
		consumer.WithBatchMax(100))
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Run(ctx) // until SIGKILL
}

// A consumer killed with SIGKILL at random points (between effects and
// offset commits, mid-transaction, mid-rebalance) and restarted until all
// events are handled: every event's effect happens exactly once.
func TestKillBetweenEffectAndCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	const keys, perKey = 20, 200 // 4,000 events
	addr := startBroker(t, 6, append(groupTopics(crashGroup), crashTopic)...)
	path := filepath.Join(t.TempDir(), "crash.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx, consumer.Migrations(), testMigs); err != nil {
		t.Fatal(err)
	}
	prod := newProducer(t, addr)
	produce(t, prod, batch(t, crashTopic, 0, perKey, keys)...)

	kills := 0
	var progress []int
	for run := 0; ; run++ {
		n, err := count(db, `SELECT COUNT(*) FROM effects`)
		if err != nil {
			t.Fatal(err)
		}
		progress = append(progress, n)
		if n == keys*perKey && kills >= 3 {
			break
		}
		if run > 60 {
			t.Fatalf("after %d runs only %d of %d events handled: %v", run, n, keys*perKey, progress)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envHelperAddr+"="+addr, envHelperDB+"="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A random moment: while joining, mid-stream, or after catching up.
		time.Sleep(time.Duration(300+rand.IntN(1500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++
	}
	t.Logf("all events handled after %d kills; effects before each run: %v", kills, progress)
	checkEffects(t, db, keys*perKey)
	checkOrder(t, db, perKey)
}
