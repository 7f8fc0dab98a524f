package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/kafka"
)

// TestServeMultiProcess runs the platform scaled out: a standalone broker,
// PostgreSQL, and two `causeway serve` processes each running every
// service, sharing each consumer group and each service's schema.
func TestServeMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process end-to-end (skipped under -short)")
	}
	dbURL := pgDatabase(t)
	ctx := context.Background()
	broker, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)

	instances := []string{"a", "b"}
	addrs := map[string]string{}
	procs := map[string]*proc{}
	for _, id := range instances {
		addrs[id] = freeAddr(t)
		procs[id] = startProc(t, "serve-"+id, "serve", "--brokers", broker.Addr(), "--postgres", dbURL,
			"--postgres-max-conns", "4", "--http-addr", addrs[id], "--instance-id", id, "--auth", "off")
	}
	for _, id := range instances {
		procs[id].waitHTTPReady(addrs[id])
	}
	adm, err := kafka.NewAdmin(broker.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	before := waitGroupsShared(t, adm, instances)

	extraOrders = nil
	var orders []placedOrder
	for i := range 4 * len(sagaCases) {
		c := sagaCases[i%len(sagaCases)]
		base := "http://" + addrs[instances[i%2]]
		user := fmt.Sprintf("u-mp-%d", i)
		if c.cancel {
			orders = append(orders, placeAndCancel(t, base, c, user))
			continue
		}
		orders = append(orders, place(t, base, c, user))
	}
	orders = append(orders, extraOrders...)
	svc := openPGServices(t, dbURL)
	base := "http://" + addrs["a"]
	waitSettled(t, SagaChoreography, base, svc, orders)
	t.Logf("%d orders settled over two processes (%d shipped before the customer could cancel)", len(orders), len(extraOrders))
	checkConservation(t, base, svc, orders)
	checkTopics(t, broker.Addr(), orders)
	checkMailAndAnalytics(t, base, svc, orders)

	// Both processes did work in every group: the assignment did not move
	// while the orders ran, and each member's partitions have commits.
	after := groupAssignments(t, adm)
	for _, g := range choreographyGroups {
		for _, id := range instances {
			if !slices.Equal(before[g][id], after[g][id]) {
				t.Errorf("%s: %s's partitions moved during the run: %v → %v", g, id, before[g][id], after[g][id])
			}
		}
		offs, err := adm.FetchOffsets(ctx, g)
		if err != nil {
			t.Fatalf("fetch offsets of %s: %v", g, err)
		}
		for _, id := range instances {
			var committed int64
			for _, tp := range before[g][id] {
				topic, part := splitTP(tp)
				if o, ok := offs.Lookup(topic, part); ok && o.Err == nil {
					committed += o.At
				}
			}
			if committed == 0 {
				t.Errorf("%s: instance %s handled nothing (partitions %v)", g, id, before[g][id])
			}
		}
	}
	for _, id := range instances {
		procs[id].interrupt()
	}
}

// choreographyGroups are the consumer groups of the choreography saga.
var choreographyGroups = slices.DeleteFunc(slices.Clone(serviceGroups), func(g string) bool { return g == ordersvc.OrchestratorGroup })

// waitGroupsShared waits until every service group has a member in each
// instance, each with partitions, and returns the assignment.
func waitGroupsShared(t *testing.T, adm *kadm.Client, instances []string) map[string]map[string][]string {
	t.Helper()
	var last map[string]map[string][]string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		last = groupAssignments(t, adm)
		ok := true
		for _, g := range choreographyGroups {
			for _, id := range instances {
				if len(last[g][id]) == 0 {
					ok = false
				}
			}
		}
		if ok {
			return last
		}
	}
	t.Fatalf("groups not shared by %v within a minute: %v", instances, last)
	return nil
}

// groupAssignments returns, per service group, the sorted
// "topic/partition"s of each instance's member (by client ID prefix), for
// stable groups only.
func groupAssignments(t *testing.T, adm *kadm.Client) map[string]map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	described, err := adm.DescribeGroups(ctx, choreographyGroups...)
	if err != nil {
		t.Fatalf("describe groups: %v", err)
	}
	out := map[string]map[string][]string{}
	for _, g := range choreographyGroups {
		d := described[g]
		out[g] = map[string][]string{}
		if d.Err != nil || d.State != "Stable" {
			continue
		}
		for _, m := range d.Members {
			id, _, _ := strings.Cut(m.ClientID, "-")
			c, ok := m.Assigned.AsConsumer()
			if !ok {
				continue
			}
			for _, tp := range c.Topics {
				for _, p := range tp.Partitions {
					out[g][id] = append(out[g][id], fmt.Sprintf("%s/%d", tp.Topic, p))
				}
			}
			slices.Sort(out[g][id])
		}
	}
	return out
}

func splitTP(tp string) (string, int32) {
	i := strings.LastIndexByte(tp, '/')
	var p int32
	fmt.Sscan(tp[i+1:], &p)
	return tp[:i], p
}

// TestServeTopicMismatch: an existing topic with another partition count
// stops serve at start, before any service runs.
func TestServeTopicMismatch(t *testing.T) {
	broker, err := kafka.StartBroker(context.Background(), kafka.WithAddr("127.0.0.1:0"), kafka.WithPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	dir := t.TempDir()
	root := newRootCmd()
	root.SetArgs([]string{"serve", "--brokers", broker.Addr(), "--data-dir", dir, "--partitions", "6", "--http-addr", "127.0.0.1:0", "--auth", "off"})
	root.SetErr(io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = root.ExecuteContext(ctx)
	if !errors.Is(err, kafka.ErrTopicMismatch) || !strings.Contains(err.Error(), "3 partitions") {
		t.Fatalf("got %v, want a partition mismatch", err)
	}
}

// TestServeSASLAndEnv runs serve in-process against a broker that requires
// SASL, with the password from CAUSEWAY_SASL_PASSWORD, on SQLite, with a
// subset of services and no HTTP (the order service is not among them).
func TestServeSASLAndEnv(t *testing.T) {
	broker, err := kafka.StartBroker(context.Background(), kafka.WithAddr("127.0.0.1:0"),
		kafka.WithSASLSuperuser(kafka.SASLScramSHA256, "admin", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	t.Setenv("CAUSEWAY_SASL_PASSWORD", "s3cret")
	dir := t.TempDir()
	logs := &syncBuffer{}
	root := newRootCmd()
	root.SetArgs([]string{"serve", "--brokers", broker.Addr(), "--data-dir", dir, "--services", "payment,inventory",
		"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "admin", "--instance-id", "sasl-test"})
	root.SetErr(logs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(logs.String(), "causeway serve"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, logs.String())
		default:
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute")
	}
	out := logs.String()
	for _, want := range []string{`services=payment,inventory`, `http=""`, "instance=sasl-test", "databases closed"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"payment.db", "inventory.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "order.db")); err == nil {
		t.Error("order.db created though the order service does not run here")
	}
}

func TestServeConfigValidate(t *testing.T) {
	ok := DefaultServeConfig()
	ok.Kafka.Brokers = []string{"127.0.0.1:9092"}
	ok.DataDir = "d"
	ok.AuthTokens = "ops admin 0123456789abcdef"
	tests := []struct {
		name   string
		mutate func(*ServeConfig)
		want   []string // substrings of the error; nil for valid
	}{
		{"defaults", func(*ServeConfig) {}, nil},
		{"postgres", func(c *ServeConfig) { c.DataDir, c.Postgres = "", "postgres://x@y/z" }, nil},
		{"no http", func(c *ServeConfig) { c.HTTPAddr = "" }, nil},
		{"both stores", func(c *ServeConfig) { c.Postgres = "postgres://x@y/z" }, []string{"exclusive"}},
		{"no store", func(c *ServeConfig) { c.DataDir = "" }, []string{"--postgres URL or --data-dir"}},
		{"everything wrong", func(c *ServeConfig) {
			c.Services = []string{"order", "billing", "order"}
			c.Kafka.Brokers = nil
			c.Kafka.SASL.Mechanism = "GSSAPI"
			c.Partitions, c.ReplicationFactor, c.PostgresMaxConns = 0, 0, 1
			c.HTTPAddr, c.Saga, c.SMTPAddr, c.InstanceID, c.ShutdownTimeout, c.SagaStepTimeout = "x", "chaos", "mail", "", 0, 0
		}, []string{"--saga-step-timeout", `"billing"`, "given twice", "brokers", "GSSAPI", "--partitions", "--replication-factor",
			"--postgres-max-conns", "--http-addr", "--saga", "--smtp-addr", "--instance-id", "--shutdown-timeout"}},
		{"no services", func(c *ServeConfig) { c.Services = nil }, []string{"--services"}},
		{"auth on without tokens", func(c *ServeConfig) { c.AuthTokens = "" }, []string{"--auth", "requires tokens"}},
		{"auth auto on loopback", func(c *ServeConfig) { c.AuthTokens, c.Auth = "", "auto" }, nil},
		{"no API, no tokens needed", func(c *ServeConfig) { c.AuthTokens, c.Services = "", []string{"payment"} }, nil},
		{"bad auth mode", func(c *ServeConfig) { c.Auth = "maybe" }, []string{"--auth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if (err == nil) != (tt.want == nil) {
				t.Fatalf("got %v, want errors %v", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestServeRunsHTTP(t *testing.T) {
	c := DefaultServeConfig()
	if !c.runsHTTP() {
		t.Error("all services: no HTTP")
	}
	c.Services = []string{"payment", "email", "analytics"}
	if c.runsHTTP() {
		t.Error("without the order service: HTTP")
	}
	c.Services, c.HTTPAddr = []string{"order"}, ""
	if c.runsHTTP() {
		t.Error("--http-addr empty: HTTP")
	}
}

func TestSplitList(t *testing.T) {
	got := splitList(" order, payment,,inventory ,")
	if want := []string{"order", "payment", "inventory"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
