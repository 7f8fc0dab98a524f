package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// placeAndFinish places orderBody (with paymentMethod method) on the
// running API and waits, bounded, until the order reaches a terminal
// status; it returns the order id and that status.
func placeAndFinish(t *testing.T, base, userID, method string) (id, status string) {
	t.Helper()
	body := strings.Replace(orderBody, `"u-42"`, fmt.Sprintf("%q, \"paymentMethod\": %q", userID, method), 1)
	var placed struct{ OrderID string }
	if got := call(t, "POST", base+"/v1/orders", body, nil, &placed); got != http.StatusAccepted || placed.OrderID == "" {
		t.Fatalf("place: %d %+v", got, placed)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var o struct{ Status string }
		call(t, "GET", base+"/v1/orders/"+placed.OrderID, "", nil, &o)
		if o.Status == "shipped" || o.Status == "cancelled" {
			return placed.OrderID, o.Status
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s still %q after 30 s", placed.OrderID, o.Status)
		}
	}
}

// TestDashboardState checks the dashboard's JSON against a running `up`:
// the page is served, the state shows the topology with the orders topic
// produced to and consumed by the groups, and the recent orders list the
// placed order with its status.
func TestDashboardState(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts causeway up (skipped under -short)")
	}
	r := startUp(t, t.TempDir())
	base := "http://" + r.rt.HTTPAddr
	id, status := placeAndFinish(t, base, "u-dash-1", "card_ok")

	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	var st struct {
		Topics []struct {
			Name     string `json:"name"`
			Produced int64  `json:"produced"`
		} `json:"topics"`
		Edges  []struct{ From, To, Kind string } `json:"edges"`
		Groups []struct {
			Group string `json:"group"`
		} `json:"groups"`
		Latency []struct{ Name string } `json:"latency"`
	}
	if got := call(t, "GET", base+"/v1/dashboard/state", "", nil, &st); got != http.StatusOK {
		t.Fatalf("state: %d", got)
	}
	produced := map[string]int64{}
	for _, tp := range st.Topics {
		produced[tp.Name] = tp.Produced
	}
	if produced["orders"] < 1 || produced["payments"] < 1 {
		t.Errorf("produced per topic = %v, want orders and payments > 0", produced)
	}
	consumesOrders := false
	for _, e := range st.Edges {
		consumesOrders = consumesOrders || (e.Kind == "consumes" && e.From == "orders")
	}
	if !consumesOrders || len(st.Groups) == 0 || len(st.Latency) == 0 {
		t.Errorf("state: edges %+v, groups %+v, latency %+v: want a group consuming orders and latencies", st.Edges, st.Groups, st.Latency)
	}

	var recent struct {
		Orders []struct{ OrderID, Status, CorrelationID string } `json:"orders"`
	}
	if got := call(t, "GET", base+"/v1/dashboard/orders", "", nil, &recent); got != http.StatusOK {
		t.Fatalf("orders: %d", got)
	}
	if len(recent.Orders) == 0 || recent.Orders[0].OrderID != id || recent.Orders[0].Status != status || recent.Orders[0].CorrelationID == "" {
		t.Errorf("recent orders = %+v, want %s (%s) first", recent.Orders, id, status)
	}
}

// chromium returns the path of the Chromium binary: $CAUSEWAY_CHROMIUM,
// or chromium / chromium-browser on PATH, or Debian's /usr/bin/chromium.
func chromium() string {
	if p := os.Getenv("CAUSEWAY_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// runChromium runs headless Chromium with args (bounded) and returns its
// standard output.
func runChromium(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=1400,2800", "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %w\n%s", args, err, stderr.String())
	}
	return string(out), nil
}

// TestDashboardInChromium loads the dashboard of a running `up` in
// headless Chromium after placing orders through the API, and checks
// that the rendered page lists them with their status; it keeps a
// screenshot in $CAUSEWAY_ARTIFACTS (or the test's temporary directory).
// Without Chromium it fails under CI=true and is skipped otherwise.
func TestDashboardInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found (apt-get install -y chromium; scripts/test.sh installs it): the dashboard test cannot run")
		}
		t.Skip("chromium not found: apt-get install -y chromium (or set CAUSEWAY_CHROMIUM) to run the dashboard test")
	}
	if testing.Short() {
		t.Skip("end-to-end: starts causeway up and Chromium")
	}
	r := startUp(t, t.TempDir())
	base := "http://" + r.rt.HTTPAddr
	okID, okStatus := placeAndFinish(t, base, "u-dash-ok", "card_ok")
	declinedID, declinedStatus := placeAndFinish(t, base, "u-dash-declined", "card_declined")
	if okStatus != "shipped" || declinedStatus != "cancelled" {
		t.Fatalf("statuses %q and %q, want shipped and cancelled", okStatus, declinedStatus)
	}
	// A dead letter: an order.placed of a version no reader knows.
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.rt.KafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	bad := &kgo.Record{Topic: "orders", Key: []byte("u-dash-bad"),
		Value: []byte(`{"eventId":"e-dash-bad","eventType":"order.placed","timestamp":"2026-01-01T00:00:00.000Z","version":9,"data":{},"metadata":{"correlationId":"c-dash-bad","source":"test"}}`)}
	err = cl.ProduceSync(context.Background(), bad).FirstErr()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var l struct{ Count int }
		call(t, "GET", base+"/v1/dlq", "", nil, &l)
		if l.Count > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter 30 s after producing an unknown version")
		}
	}
	page := base + "/#order=" + okID // opens the shipped order's causation timeline

	// The page polls; re-dump (bounded) until both rows are rendered.
	rowRE := func(id string) *regexp.Regexp {
		return regexp.MustCompile(`<tr[^>]*data-order-id="` + regexp.QuoteMeta(id) + `"[^>]*data-status="([a-z]+)"[^>]*>(.*?)</tr>`)
	}
	var dom string
	for attempt := 1; ; attempt++ {
		var err error
		if dom, err = runChromium(t, bin, "--dump-dom", page); err != nil {
			t.Fatalf("chromium --dump-dom: %v", err)
		}
		if rowRE(okID).MatchString(dom) && rowRE(declinedID).MatchString(dom) &&
			strings.Contains(dom, `data-event-type="order.shipped"`) && strings.Contains(dom, "unknown event version") {
			break
		}
		if attempt == 3 {
			t.Fatalf("the dashboard does not show orders %s and %s, the timeline of the first and the dead letter after %d loads; DOM:\n%s", okID, declinedID, attempt, dom)
		}
	}
	for id, want := range map[string]string{okID: "shipped", declinedID: "cancelled (payment_failed)"} {
		m := rowRE(id).FindStringSubmatch(dom)
		if !strings.HasPrefix(want, m[1]) || !strings.Contains(m[2], ">"+want+"<") {
			t.Errorf("order %s: row status %q, cells %s; want %q", id, m[1], m[2], want)
		}
	}
	// The other panels rendered from live data too.
	for _, want := range []string{`id="topologyBody" class=""`, "orders", "payment-service", "<polyline", "event latency",
		`data-event-type="order.placed"`, `data-event-type="order.paid"`, ">replay<", ">discard<", "order_shipped",
		"live (stream)"} { // the state and orders came over GET /v1/dashboard/stream
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, `class="err"`) {
		t.Errorf("the page shows an error:\n%s", dom)
	}

	dir := os.Getenv("CAUSEWAY_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "dashboard.png")
	if _, err := runChromium(t, bin, "--screenshot="+shot, page); err != nil {
		t.Fatalf("chromium --screenshot: %v", err)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v (size %v)", shot, err, fi)
	}
	t.Logf("dashboard screenshot: %s", shot)
}
