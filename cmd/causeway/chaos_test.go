package main

// TestChaos is `make chaos` (and the short run of `make test`): a standalone
// broker, a PostgreSQL cluster with fsync on, two API processes (the order
// service) and two worker processes (payment, inventory, shipping, email,
// analytics) of `causeway serve`, under load from `causeway loadgen`,
// while a nemesis kills and restarts them, restarts the broker and
// PostgreSQL, forces rebalances, re-produces records, rewinds a group's
// offsets and injects poison records with kcat. Afterwards the groups must
// reach lag 0, `causeway check` must pass and the dead letters must be
// exactly the poison injected. scripts/chaos.sh starts the cluster and
// runs it.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
)

// chaosGroups are the consumer groups of a run and their topics, by saga
// style.
func chaosGroups(saga string) map[string][]string {
	if saga == SagaOrchestration {
		return map[string][]string{
			ordersvc.OrchestratorGroup: {kafka.TopicSagaReplies},
			payment.Group:              payment.CommandTopics,
			inventory.Group:            inventory.CommandTopics,
			shipping.Group:             shipping.CommandTopics,
			email.Group:                email.Topics,
			analytics.Group:            analytics.Topics,
		}
	}
	return map[string][]string{
		ordersvc.SagaGroup: ordersvc.SagaTopics,
		payment.Group:      payment.Topics,
		inventory.Group:    inventory.Topics,
		shipping.Group:     shipping.Topics,
		email.Group:        email.Topics,
		analytics.Group:    analytics.Topics,
	}
}

// chaosRun is the state of one run.
type chaosRun struct {
	t                   *testing.T
	dir, brokerAddr, pg string
	pgDir               string
	procs               map[string]*proc
	args                map[string][]string
	addrs               map[string]string
	faults              map[string]int
	unexpected          []string
	poison              map[string]int // "group kind" → letters expected
	poisonKeys          map[string]bool
	seq                 int
	saga                string              // SagaChoreography or SagaOrchestration (CAUSEWAY_CHAOS_SAGA)
	groups              map[string][]string // chaosGroups(saga)
}

func TestChaos(t *testing.T) {
	dur, _ := time.ParseDuration(os.Getenv("CAUSEWAY_CHAOS_DURATION"))
	pgURL, pgDir := os.Getenv("CAUSEWAY_CHAOS_POSTGRES_URL"), os.Getenv("CAUSEWAY_CHAOS_PG_DIR")
	if dur <= 0 || pgURL == "" || pgDir == "" {
		t.Skip("run by scripts/chaos.sh (make chaos; make test runs a short one): needs CAUSEWAY_CHAOS_DURATION, CAUSEWAY_CHAOS_POSTGRES_URL, CAUSEWAY_CHAOS_PG_DIR")
	}
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatal("kcat not found: the poison records are produced with it (apt-get install -y kcat)")
	}
	rate := 40
	if r := os.Getenv("CAUSEWAY_CHAOS_RATE"); r != "" {
		fmt.Sscan(r, &rate)
	}
	c := &chaosRun{t: t, dir: t.TempDir(), pg: pgURL, pgDir: pgDir, procs: map[string]*proc{}, args: map[string][]string{},
		addrs: map[string]string{}, faults: map[string]int{}, poison: map[string]int{}, poisonKeys: map[string]bool{},
		saga: SagaChoreography}
	if s := os.Getenv("CAUSEWAY_CHAOS_SAGA"); s != "" {
		c.saga = s
	}
	if c.saga != SagaChoreography && c.saga != SagaOrchestration {
		t.Fatalf("CAUSEWAY_CHAOS_SAGA=%q: want %s or %s", c.saga, SagaChoreography, SagaOrchestration)
	}
	c.groups = chaosGroups(c.saga)
	c.brokerAddr = freeAddr(t)
	c.args["broker"] = []string{"broker", "--data-dir", filepath.Join(c.dir, "broker"), "--kafka-addr", c.brokerAddr}
	c.start("broker")
	c.waitBroker()
	for _, n := range []string{"api-a", "api-b"} {
		c.addrs[n] = freeAddr(t)
		c.args[n] = c.serveArgs(n, "order")
	}
	for _, n := range []string{"work-1", "work-2", "work-3"} {
		c.addrs[n] = freeAddr(t)
		c.args[n] = c.serveArgs(n, "payment,inventory,shipping,email,analytics")
	}
	for _, n := range []string{"api-a", "api-b", "work-1", "work-2"} {
		c.start(n)
	}
	for _, n := range []string{"api-a", "api-b", "work-1", "work-2"} {
		c.procs[n].waitHTTPReady(c.addrs[n])
	}

	ordersFile := filepath.Join(c.dir, "orders.jsonl")
	began := time.Now()
	lg := startProc(t, "loadgen", "loadgen", "--target", "http://"+c.addrs["api-a"], "--brokers", c.brokerAddr,
		"--rate", fmt.Sprint(rate), "--duration", dur.String(), "--drain", "5m", "--orders-out", ordersFile,
		"--data-dir", c.dir, "--output", "json", "--progress", "none", "--read-sample", "0")

	time.Sleep(3 * time.Second) // the load is under way (loadgen listed the end offsets)
	// The nemesis: one fault at a time, in shuffled cycles, until the
	// load's duration is nearly over; the first cycle runs to its end
	// (every kind of fault at least once, in a short run after the load).
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	nemeses := []func(){c.killService, c.restartBroker, c.restartPostgres, c.rebalance, c.reproduce, c.rewind, c.injectPoison}
	var lastFault time.Time
	for round := 0; round == 0 || time.Since(began) < dur-3*time.Second; round++ {
		order := rng.Perm(len(nemeses))
		for _, i := range order {
			if round > 0 && time.Since(began) >= dur-3*time.Second {
				break
			}
			nemeses[i]()
			lastFault = time.Now()
			c.t.Logf("%s: %s", lastFault.Format("15:04:05"), c.faultList())
			c.reap()
			time.Sleep(time.Duration(1000+rng.IntN(1500)) * time.Millisecond)
		}
	}
	c.reap()

	// Afterwards: the load drains, the groups reach lag 0, check passes.
	if err := lg.wait(6 * time.Minute); err != nil {
		t.Errorf("loadgen: %v\n%s", err, tail(lg.logs.String(), 4000))
	}
	var rep struct {
		Accepted    int            `json:"accepted"`
		Rejected    map[string]int `json:"rejected"`
		Errors      int            `json:"errors"`
		Terminal    map[string]int `json:"terminal"`
		NotTerminal int            `json:"notTerminal"`
		Unexpected  int            `json:"unexpected"`
		Drain       float64        `json:"drainSeconds"`
	}
	out := lg.logs.String()
	if i := strings.Index(out, "{\n"); i < 0 || json.Unmarshal([]byte(out[i:]), &rep) != nil {
		t.Fatalf("loadgen report not found in its output:\n%s", tail(out, 4000))
	}
	c.t.Logf("%s: loadgen done (drain %.1fs)", time.Now().Format("15:04:05"), rep.Drain)
	lagAt := c.waitLag0(3 * time.Minute)
	recovery := lagAt.Sub(lastFault)

	checkOut, checkErr := c.run("check", "--postgres", c.pg, "--orders", ordersFile, "--brokers", c.brokerAddr,
		"--expect-dlq", fmt.Sprint(c.expectedLetters()), "--wait", "60s")
	if checkErr != nil {
		t.Errorf("causeway check: %v", checkErr)
	}
	dlqOut, dlqErr := c.run("dlq", "list", "--brokers", c.brokerAddr, "--data-dir", c.dir, "-o", "json")
	if dlqErr != nil {
		t.Errorf("causeway dlq list: %v\n%s", dlqErr, dlqOut)
	}
	var letters []struct {
		Group, Key, Kind, Topic string
	}
	if err := json.Unmarshal([]byte(dlqOut), &letters); err != nil {
		t.Errorf("dlq list output: %v\n%s", err, dlqOut)
	}
	got := map[string]int{}
	for _, l := range letters {
		if !c.poisonKeys[l.Key] {
			t.Errorf("dead letter not injected: %s %s key %s (%s)", l.Group, l.Topic, l.Key, l.Kind)
		}
		got[l.Group+" "+l.Kind]++
	}
	dlqMatch := fmt.Sprint(got) == fmt.Sprint(c.poison)
	if !dlqMatch {
		t.Errorf("dead letters by group and kind: got %v, want the poison injected %v", got, c.poison)
	}
	for _, u := range c.unexpected {
		t.Errorf("unexpected exit: %s", u)
	}

	terminal := 0
	for _, n := range rep.Terminal {
		terminal += n
	}
	var b strings.Builder
	fmt.Fprintf(&b, "chaos run: %s of load at %d orders/s, saga %s, 2 API + 2 worker serve processes, broker, PostgreSQL (fsync on)\n", dur, rate, c.saga)
	fmt.Fprintf(&b, "orders      accepted %d, terminal %d %v, not terminal %d, unexpected outcome %d; rejected %v, transport errors %d\n",
		rep.Accepted, terminal, rep.Terminal, rep.NotTerminal, rep.Unexpected, rep.Rejected, rep.Errors)
	lost := rep.Accepted - terminal
	fmt.Fprintf(&b, "lost        %d (accepted, not terminal)\n", lost)
	fmt.Fprintf(&b, "duplicates  effects-once %s (duplicate effects = 0 when PASS)\n", passFail(checkOut, "effects-once"))
	fmt.Fprintf(&b, "faults      %s\n", c.faultList())
	fmt.Fprintf(&b, "recovery    lag 0 in every group %.1fs after the last fault\n", recovery.Seconds())
	fmt.Fprintf(&b, "dead letters %d, injected %d: %v (match: %v)\n", len(letters), c.expectedLetters(), got, dlqMatch)
	fmt.Fprintf(&b, "unexpected exits %d\n", len(c.unexpected))
	fmt.Fprintf(&b, "causeway check:\n%s", checkOut)
	report := b.String()
	t.Log("\n" + report)
	fmt.Println(report)
	c.writeLogs() // e.g. why an API answered 500 or 503
	if p := os.Getenv("CAUSEWAY_CHAOS_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
	if lost != 0 || rep.NotTerminal != 0 || rep.Unexpected != 0 {
		t.Errorf("lost %d, not terminal %d, unexpected outcome %d: want 0", lost, rep.NotTerminal, rep.Unexpected)
	}
}

// passFail finds an invariant's verdict in check's text output.
func passFail(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, name) {
			for _, v := range []string{"PASS", "FAIL", "SKIP"} {
				if strings.Contains(l, v) {
					return v
				}
			}
		}
	}
	return "?"
}

func (c *chaosRun) serveArgs(name, services string) []string {
	return []string{"serve", "--services", services, "--brokers", c.brokerAddr, "--postgres", c.pg,
		"--http-addr", c.addrs[name], "--instance-id", name, "--auth", "auto", "--postgres-max-conns", "4",
		"--kafka-session-timeout", "6s", "--kafka-rebalance-timeout", "10s", "--shutdown-timeout", "5s", "--saga", c.saga}
}

func (c *chaosRun) start(name string) {
	c.procs[name] = startProc(c.t, name, c.args[name]...)
}

// reap restarts a process that exited without being told to (and records
// it: the run fails).
func (c *chaosRun) reap() {
	for name, p := range c.procs {
		if p.exited() {
			c.unexpected = append(c.unexpected, fmt.Sprintf("%s: %v\n%s", name, p.err, tail(p.logs.String(), 3000)))
			c.restart(name)
		}
	}
}

func (c *chaosRun) restart(name string) {
	c.start(name)
	if name == "broker" {
		c.waitBroker()
		return
	}
	c.procs[name].waitHTTPReady(c.addrs[name])
}

func (c *chaosRun) kill9(name string) {
	c.procs[name].kill()
	delete(c.procs, name)
}

// killService kill -9s a random service process and starts it again.
func (c *chaosRun) killService() {
	name := []string{"api-b", "work-1", "work-2"}[c.seq%3]
	c.seq++
	c.kill9(name)
	time.Sleep(500 * time.Millisecond)
	c.restart(name)
	c.faults["kill -9 service"]++
}

// restartBroker kill -9s the broker and starts it from its data dir on the
// same port.
func (c *chaosRun) restartBroker() {
	c.kill9("broker")
	time.Sleep(300 * time.Millisecond)
	c.restart("broker")
	c.faults["broker kill -9 + restart"]++
}

// restartPostgres stops PostgreSQL with -m immediate and starts it again.
func (c *chaosRun) restartPostgres() {
	if out, err := exec.Command("../../scripts/pg.sh", "crash", c.pgDir).CombinedOutput(); err != nil {
		c.t.Fatalf("pg.sh crash: %v\n%s", err, out)
	}
	time.Sleep(time.Second)
	if out, err := exec.Command("../../scripts/pg.sh", "restart", c.pgDir).CombinedOutput(); err != nil {
		c.t.Fatalf("pg.sh restart: %v\n%s", err, out)
	}
	c.faults["postgres stop -m immediate + start"]++
}

// rebalance adds a third worker, then kill -9s it: two rebalances of
// every worker group.
func (c *chaosRun) rebalance() {
	c.restart("work-3")
	time.Sleep(2 * time.Second)
	c.kill9("work-3")
	c.faults["rebalance (member joins, then is killed)"]++
}

func (c *chaosRun) client(opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.brokerAddr)}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// reproduce re-produces up to 300 records already on the event topics
// (and, under orchestration, the command and reply topics), as they were
// (key, value, headers): duplicate deliveries.
func (c *chaosRun) reproduce() {
	topics := []string{kafka.TopicOrders, kafka.TopicPayments, kafka.TopicInventory, kafka.TopicShipping}
	if c.saga == SagaOrchestration {
		topics = append(topics, kafka.TopicCommandsPayment, kafka.TopicCommandsInventory, kafka.TopicCommandsShipping, kafka.TopicSagaReplies)
	}
	cl := c.client(kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < 300 && ctx.Err() == nil {
		fs := cl.PollRecords(ctx, 300-len(recs))
		fs.EachRecord(func(r *kgo.Record) {
			if !c.poisonKeys[string(r.Key)] {
				recs = append(recs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers})
			}
		})
	}
	if len(recs) == 0 {
		return
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		c.t.Logf("re-produce: %v (broker restarting?)", err)
		return
	}
	c.faults["duplicate: records re-produced"] += len(recs)
}

// rewind stops both workers (Ctrl-C: they leave their groups), moves the
// committed offsets of the payment and inventory groups back by up to 100
// per partition, and starts the workers again: redelivery of handled
// events.
func (c *chaosRun) rewind() {
	for _, n := range []string{"work-1", "work-2"} {
		c.procs[n].interrupt()
		delete(c.procs, n)
	}
	if p := c.procs["work-3"]; p != nil {
		c.kill9("work-3")
	}
	cl := c.client()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	for _, g := range []string{payment.Group, inventory.Group} {
		// The members left; the group is empty once the broker processed it.
		var err error
		for try := 0; try < 50; try++ {
			var fetched kadm.OffsetResponses
			if fetched, err = adm.FetchOffsets(ctx, g); err != nil {
				break
			}
			back := kadm.Offsets{}
			fetched.Each(func(o kadm.OffsetResponse) {
				at := max(0, o.At-100)
				back.AddOffset(o.Topic, o.Partition, at, -1)
			})
			var res kadm.OffsetResponses
			if res, err = adm.CommitOffsets(ctx, g, back); err == nil {
				err = res.Error()
			}
			if err == nil {
				c.faults["duplicate: group offsets rewound"]++
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			c.t.Logf("rewind %s: %v", g, err)
		}
	}
	cancel()
	cl.Close()
	for _, n := range []string{"work-1", "work-2"} {
		c.restart(n)
	}
}

// injectPoison produces with kcat, each under a key of its own (so no real
// order is parked behind it), to the inventory topic (groups
// payment-service, shipping-service, order-service): malformed JSON, an
// envelope of an unknown version, and a stock.released whose orderId is
// the payment service's panic trigger.
func (c *chaosRun) injectPoison() {
	if c.saga == SagaOrchestration {
		c.injectOrchestrationPoison()
		return
	}
	groups := []string{payment.Group, shipping.Group, ordersvc.SagaGroup}
	n := c.faults["poison"]
	kcat := func(key, value string) { c.kcat(kafka.TopicInventory, key, value) }
	kcat(fmt.Sprintf("poison-malformed-%d", n), `{"eventId": "not json`)

	for _, g := range groups {
		c.poison[g+" malformed"]++
	}
	env, err := event.New(schema.TypeStockReleased, 1, schema.StockReleased{OrderID: fmt.Sprintf("poison-version-%d", n),
		Cause: schema.CauseShippingFailed}, event.Metadata{CorrelationID: "chaos", Source: inventory.Source})
	if err != nil {
		c.t.Fatal(err)
	}
	env.Version = 99
	b, _ := json.Marshal(env)
	kcat(fmt.Sprintf("poison-version-%d", n), string(b))
	for _, g := range groups {
		c.poison[g+" unknown-version"]++
	}
	id := fmt.Sprintf("%schaos-%d", payment.PanicTriggerPrefix, n)
	env, err = event.New(schema.TypeStockReleased, 1, schema.StockReleased{OrderID: id, Cause: schema.CauseShippingFailed},
		event.Metadata{CorrelationID: "chaos", Source: inventory.Source})
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ = json.Marshal(env)
	kcat(id, string(b))
	c.poison[payment.Group+" panic"]++
	c.faults["poison"]++
	c.faults["poison records (kcat)"] += 3
}

// kcat produces value under key on topic with kcat, and remembers the key
// as poisoned (reproduce skips it).
func (c *chaosRun) kcat(topic, key, value string) {
	kcatProduce(c.t, c.brokerAddr, topic, key, []byte(value))
	c.poisonKeys[key] = true
}

// injectOrchestrationPoison is injectPoison under orchestration, where the
// participants read command topics and the orchestrator the replies: to
// commands.payment (group payment-service) malformed JSON, a
// payment.process of an unknown version and one whose orderId is the
// payment service's panic trigger; to saga.replies (group
// saga-orchestrator) malformed JSON and a reply of an unknown version.
// None carries the orchestrator's saga headers or answers a command it
// sent, so no saga becomes stuck: the stuck-saga watcher skips them.
func (c *chaosRun) injectOrchestrationPoison() {
	n := c.faults["poison"]
	c.kcat(kafka.TopicCommandsPayment, fmt.Sprintf("poison-cmd-malformed-%d", n), `{"eventId": "not json`)
	c.poison[payment.Group+" malformed"]++
	cmd := func(orderID string) event.Envelope {
		env, err := event.New(schema.TypePaymentProcess, schema.CommandVersion, schema.ProcessPayment{OrderID: orderID, UserID: "u-chaos",
			AmountMinor: 100, Currency: "USD", Method: "card_ok"}, event.Metadata{CorrelationID: "chaos", Source: schema.SourceOrchestrator})
		if err != nil {
			c.t.Fatal(err)
		}
		return env
	}
	v99 := cmd(fmt.Sprintf("poison-cmd-version-%d", n))
	v99.Version = 99
	b, _ := json.Marshal(v99)
	c.kcat(kafka.TopicCommandsPayment, fmt.Sprintf("poison-cmd-version-%d", n), string(b))
	c.poison[payment.Group+" unknown-version"]++
	trigger := cmd(fmt.Sprintf("%schaos-cmd-%d", payment.PanicTriggerPrefix, n))
	b, _ = json.Marshal(trigger)
	c.kcat(kafka.TopicCommandsPayment, fmt.Sprintf("poison-cmd-panic-%d", n), string(b))
	c.poison[payment.Group+" panic"]++

	c.kcat(kafka.TopicSagaReplies, fmt.Sprintf("poison-reply-malformed-%d", n), `{"eventId": "not json`)
	c.poison[ordersvc.OrchestratorGroup+" malformed"]++
	reply, err := event.New(saga.ReplyType, 1, map[string]any{"outcome": "succeeded"},
		event.Metadata{CorrelationID: "chaos", CausationID: "no-such-command", Source: schema.SourcePayment})
	if err != nil {
		c.t.Fatal(err)
	}
	reply.Version = 99
	b, _ = json.Marshal(reply)
	c.kcat(kafka.TopicSagaReplies, fmt.Sprintf("poison-reply-version-%d", n), string(b))
	c.poison[ordersvc.OrchestratorGroup+" unknown-version"]++
	c.faults["poison"]++
	c.faults["poison records (kcat)"] += 5
}

func (c *chaosRun) expectedLetters() int {
	n := 0
	for _, v := range c.poison {
		n += v
	}
	return n
}

func (c *chaosRun) faultList() string {
	var ks []string
	for k := range c.faults {
		if k != "poison" {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s: %d", k, c.faults[k]))
	}
	return strings.Join(parts, "; ")
}

// waitBroker waits until the broker answers a metadata request.
func (c *chaosRun) waitBroker() {
	cl := c.client()
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := adm.ListTopics(ctx)
		cancel()
		if err == nil {
			return
		}
	}
	c.t.Fatal("broker not up within a minute")
}

// waitLag0 waits until every group has committed every partition of its
// topics up to the end, and returns when.
func (c *chaosRun) waitLag0(limit time.Duration) time.Time {
	cl := c.client()
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var last string
	var logged time.Time
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		lag, desc, err := c.lag(adm)
		if err == nil && lag == 0 {
			return time.Now()
		}
		if s := fmt.Sprintf("lag %d (%s) %v", lag, desc, err); s != last && time.Since(logged) > 5*time.Second {
			c.t.Logf("%s: %s", time.Now().Format("15:04:05"), s)
			logged = time.Now()
		}
		last = fmt.Sprintf("lag %d (%s) %v", lag, desc, err)
	}
	c.dumpLogs()
	c.t.Fatalf("lag not 0 within %v: %s (goroutine dumps and logs in %s)", limit, last, chaosLogDir)
	return time.Time{}
}

func (c *chaosRun) lag(adm *kadm.Client) (int64, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var total int64
	var desc []string
	groups := slices.Sorted(maps.Keys(c.groups))
	for _, g := range groups {
		ends, err := adm.ListEndOffsets(ctx, c.groups[g]...)
		if err != nil {
			return 0, "", err
		}
		committed, err := adm.FetchOffsets(ctx, g)
		if err != nil {
			return 0, "", err
		}
		var gl int64
		ends.Each(func(o kadm.ListedOffset) {
			at := int64(0)
			if r, ok := committed.Lookup(o.Topic, o.Partition); ok && r.At > 0 {
				at = r.At
			}
			gl += max(0, o.Offset-at)
		})
		if gl > 0 {
			desc = append(desc, fmt.Sprintf("%s %d", g, gl))
		}
		total += gl
	}
	return total, strings.Join(desc, ", "), nil
}

// chaosLogDir keeps the processes' logs of the last run (with goroutine
// dumps when it failed).
const chaosLogDir = "/tmp/causeway-chaos-logs"

// dumpLogs makes every service process print its goroutines (SIGQUIT) and
// writes each process's whole output to chaosLogDir.
func (c *chaosRun) dumpLogs() {
	for name, p := range c.procs {
		if strings.HasPrefix(name, "work") || strings.HasPrefix(name, "api") {
			_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		}
	}
	time.Sleep(2 * time.Second)
	c.writeLogs()
}

// writeLogs writes each process's whole output to chaosLogDir.
func (c *chaosRun) writeLogs() {
	_ = os.MkdirAll(chaosLogDir, 0o755)
	for name, p := range c.procs {
		_ = os.WriteFile(filepath.Join(chaosLogDir, name+".log"), []byte(p.logs.String()), 0o644)
	}
}

// run runs a causeway command to the end and returns its output.
func (c *chaosRun) run(args ...string) (string, error) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), fmt.Errorf("%w\n%s", err, ee.Stderr)
	}
	return string(out), err
}
