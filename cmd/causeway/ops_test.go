package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/kafka"
)

// TestUpRefusesExposedAPIWithoutTokens: `up` on a non-loopback address
// with auth auto and no tokens refuses to start, before the broker does.
func TestUpRefusesExposedAPIWithoutTokens(t *testing.T) {
	t.Setenv(AuthTokensEnv, "")
	dir := t.TempDir()
	root := newRootCmd()
	root.SetArgs([]string{"up", "--data-dir", dir, "--http-addr", "0.0.0.0:0", "--kafka-addr", "127.0.0.1:0"})
	root.SetErr(io.Discard)
	root.SetOut(io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "requires tokens") {
		t.Fatalf("got %v, want a refusal naming the missing tokens", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "broker")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the broker started before the refusal (%s/broker: %v)", dir, err)
	}
}

// Secrets of the tokens file of TestUpAuthMetricsDLQ.
const (
	opsSecret    = "ops-secret-0123456789abcdef"
	readerSecret = "reader-secret-0123456789abc"
)

// TestUpAuthMetricsDLQ runs `up` on an exposed address with a tokens file
// and checks, in one run: authentication and scopes, /metrics after an
// order, and the /v1/dlq routes on a poisoned record, with the operator
// audited as the token's name.
func TestUpAuthMetricsDLQ(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end (skipped under -short)")
	}
	t.Setenv(AuthTokensEnv, "")
	dir := t.TempDir()
	tokens := filepath.Join(t.TempDir(), "tokens")
	spec := "ops admin,orders:read,orders:write " + opsSecret + "\nreader orders:read " + readerSecret + "\n"
	if err := os.WriteFile(tokens, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	up := startUp(t, dir, "--http-addr", "127.0.0.1:0", "--auth", "on", "--auth-tokens-file", tokens)
	_, port, err := net.SplitHostPort(up.rt.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + port
	ops := map[string]string{"Authorization": "Bearer " + opsSecret}
	reader := map[string]string{"Authorization": "Bearer " + readerSecret}

	// Auth.
	if got := call(t, "GET", base+"/v1/products", "", nil, nil); got != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", got)
	}
	if got := call(t, "GET", base+"/v1/products", "", reader, nil); got != http.StatusOK {
		t.Errorf("GET with orders:read: %d, want 200", got)
	}
	if got := call(t, "POST", base+"/v1/orders", orderBody, reader, nil); got != http.StatusForbidden {
		t.Errorf("POST with orders:read: %d, want 403", got)
	}
	if got := call(t, "GET", base+"/v1/dlq", "", reader, nil); got != http.StatusForbidden {
		t.Errorf("GET /v1/dlq with orders:read: %d, want 403", got)
	}

	// An order, followed to its end.
	var placed struct{ OrderID string }
	if got := call(t, "POST", base+"/v1/orders", orderBody, ops, &placed); got != http.StatusAccepted {
		t.Fatalf("place: %d", got)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var o struct{ Status string }
		call(t, "GET", base+"/v1/orders/"+placed.OrderID, "", reader, &o)
		if o.Status == "shipped" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s not shipped: %s", placed.OrderID, o.Status)
		}
	}

	// A poisoned record on orders: every group reading orders
	// dead-letters it.
	cl, err := kgo.NewClient(kgo.SeedBrokers(up.rt.KafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: kafka.TopicOrders, Key: []byte("u-poison"), Value: []byte("{not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for g, topics := range map[string][]string{ordersvc.SagaGroup: ordersvc.SagaTopics, payment.Group: payment.Topics,
		inventory.Group: inventory.Topics, shipping.Group: shipping.Topics, email.Group: email.Topics, analytics.Group: analytics.Topics} {
		if slices.Contains(topics, kafka.TopicOrders) {
			want = append(want, g)
		}
	}
	slices.Sort(want)
	type letter struct{ ID, Group, Key, Value, Kind string }
	var list struct {
		Letters []letter
		Count   int
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if got := call(t, "GET", base+"/v1/dlq?topic=orders&key=u-poison", "", ops, &list); got != http.StatusOK {
			t.Fatalf("GET /v1/dlq: %d", got)
		}
		var groups []string
		for _, l := range list.Letters {
			groups = append(groups, l.Group)
		}
		slices.Sort(groups)
		if slices.Equal(groups, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters of %v, want one for each of %v", groups, want)
		}
	}
	id := list.Letters[0].ID
	var detail struct {
		letter
		History []struct{ Error string }
		Audit   []struct{ Operator, Action, Reason string }
	}
	if got := call(t, "GET", base+"/v1/dlq/"+url.PathEscape(id), "", ops, &detail); got != http.StatusOK ||
		detail.ID != id || detail.Value != "{not json" || len(detail.History) == 0 {
		t.Errorf("GET /v1/dlq/{id}: %d %+v", got, detail)
	}
	if got := call(t, "GET", base+"/v1/dlq/"+url.PathEscape("nope/orders/0/1"), "", ops, nil); got != http.StatusNotFound {
		t.Errorf("GET an unknown letter: %d, want 404", got)
	}
	var dry struct {
		WouldReplay, Replayed int
		Outcomes              []struct{ LetterID, Result string }
	}
	if got := call(t, "POST", base+"/v1/dlq/replay", `{"filter": {"topic": "orders", "key": "u-poison"}, "dryRun": true}`, ops, &dry); got != http.StatusOK ||
		dry.WouldReplay != len(want) || dry.Replayed != 0 {
		t.Errorf("dry-run replay: %d %+v, want %d would-replay", got, dry, len(want))
	}
	if got := call(t, "POST", base+"/v1/dlq/"+url.PathEscape(id)+"/discard", `{}`, ops, nil); got != http.StatusUnprocessableEntity {
		t.Errorf("discard without a reason: %d, want 422", got)
	}
	if got := call(t, "POST", base+"/v1/dlq/"+url.PathEscape(id)+"/discard", `{"reason": "poison test"}`, ops, nil); got != http.StatusOK {
		t.Errorf("discard: %d", got)
	}
	call(t, "GET", base+"/v1/dlq/"+url.PathEscape(id), "", ops, &detail)
	if !slices.ContainsFunc(detail.Audit, func(e struct{ Operator, Action, Reason string }) bool {
		return e.Operator == "ops" && e.Action == "discard" && e.Reason == "poison test"
	}) {
		t.Errorf("audit of %s: %+v, want a discard by ops", id, detail.Audit)
	}

	// /metrics, without a token.
	var problems []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		problems = metricsProblems(t, base, want)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// metricsProblems scrapes /metrics and lists what is missing.
func metricsProblems(t *testing.T, base string, groups []string) []string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		return []string{fmt.Sprintf("/metrics: %d", res.StatusCode)}
	}
	body := string(b)
	var problems []string
	positive := func(re string) {
		m := regexp.MustCompile(`(?m)^` + re + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			problems = append(problems, "no series "+re)
			return
		}
		if v, err := strconv.ParseFloat(m[1], 64); err != nil || v <= 0 {
			problems = append(problems, fmt.Sprintf("%s = %s, want > 0", re, m[1]))
		}
	}
	positive(`causeway_http_requests_total\{code="202",method="POST",route="POST /v1/orders"\}`)
	positive(`causeway_consumer_events_handled_total\{group="payment-service"\}`)
	positive(`causeway_outbox_published_total\{service="order",topic="orders"\}`)
	positive(`causeway_kafka_produced_records_total\{topic="orders"\}`)
	positive(`causeway_consumer_events_dead_lettered_total\{group="payment-service"\}`)
	positive(`causeway_consumer_assigned_partitions\{group="payment-service"\}`)
	positive(`causeway_consumer_partitions_assigned_total\{group="payment-service"\}`)
	positive(`causeway_consumer_rebalance_duration_seconds_count\{group="payment-service"\}`)
	// Settled: no early saga event is left waiting.
	if m := regexp.MustCompile(`(?m)^causeway_order_saga_early_events (\S+)$`).FindStringSubmatch(body); m == nil {
		problems = append(problems, "no series causeway_order_saga_early_events")
	} else if m[1] != "0" {
		problems = append(problems, "causeway_order_saga_early_events = "+m[1]+", want 0 once settled")
	}
	for _, g := range groups {
		if !regexp.MustCompile(`(?m)^causeway_consumer_lag_records\{group="` + g + `",`).MatchString(body) {
			problems = append(problems, "no lag gauge of group "+g)
		}
	}
	return problems
}

// TestServeOpsHTTP: a serve process without the order service, given
// --http-addr, serves /healthz, /readyz and /metrics (no token) and no API.
func TestServeOpsHTTP(t *testing.T) {
	broker, err := kafka.StartBroker(context.Background(), kafka.WithAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	logs := &syncBuffer{}
	root := newRootCmd()
	root.SetArgs([]string{"serve", "--brokers", broker.Addr(), "--data-dir", t.TempDir(), "--services", "payment",
		"--http-addr", "127.0.0.1:0", "--instance-id", "ops-test"})
	root.SetErr(logs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	re := regexp.MustCompile(`http=(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(time.Minute); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
	}
	for path, want := range map[string]int{"/healthz": 200, "/metrics": 200, "/v1/products": 404, "/v1/dlq": 404} {
		if got := call(t, "GET", base+path, "", nil, nil); got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
	waitReady(t, strings.TrimPrefix(base, "http://"))
}
