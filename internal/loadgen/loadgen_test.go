package loadgen_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/loadgen"
)

func TestMixDealsWeights(t *testing.T) {
	m, err := loadgen.ParseMix(loadgen.DefaultMix)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range 200 {
		got[m.Next().Name]++
	}
	want := map[string]int{"ok": 180, "declined": 6, "soldout": 4, "xx": 4, "flaky": 6}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d of 200, want %d", k, got[k], n)
		}
	}
	if m.String() != loadgen.DefaultMix {
		t.Errorf("String() = %q, want %q", m.String(), loadgen.DefaultMix)
	}
}

func TestParseMixErrors(t *testing.T) {
	for _, s := range []string{"", "ok=0", "ok", "nope=1", "ok=-1", "ok=1,ok=2", "ok=x"} {
		if _, err := loadgen.ParseMix(s); err == nil {
			t.Errorf("ParseMix(%q): no error", s)
		}
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := loadgen.Summarize(ds)
	if s.Count != 100 || s.P50 != 50 || s.P95 != 95 || s.P99 != 99 || s.Max != 100 {
		t.Errorf("got %+v, want p50 50, p95 95, p99 99, max 100", s)
	}
	if got := loadgen.Summarize(nil); got.Count != 0 {
		t.Errorf("empty: %+v", got)
	}
}

func TestOrdersFileRoundTrip(t *testing.T) {
	recs := []loadgen.OrderRecord{{OrderID: "a", Path: "ok", Status: "shipped"}, {OrderID: "b", Path: "xx", Status: "cancelled", Reason: "shipping_failed"}}
	var b bytes.Buffer
	if err := loadgen.WriteOrders(&b, recs); err != nil {
		t.Fatal(err)
	}
	got, err := loadgen.ReadOrders(&b)
	if err != nil || len(got) != 2 || got[1] != recs[1] {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := loadgen.ReadOrders(bytes.NewBufferString("{\"path\":\"ok\"}\n")); err == nil {
		t.Error("a line without orderId: no error")
	}
}
