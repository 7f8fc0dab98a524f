package readmodel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// goldenViews is the file TestViewsGolden compares with; it was written
// by the views of db64693, before they were optimised.
var goldenViews = filepath.Join("testdata", "views.golden")

// TestViewsGolden applies a fixed stream to every view, on SQLite and
// PostgreSQL, and compares the tables (every row) and the errors Apply
// returned with testdata/views.golden: the flows of platformStream, each
// view's topics in reverse order (so the saga's events come before their
// order.placed), with awkward events among them (bad data, missing or
// mistyped orderIds, unknown fields, duplicate lines, late events after a
// terminal status, …), and the first events again (a view applies what
// the runner gives it, duplicates included). Each event is applied in a
// transaction of its own, so a failing one changes nothing.
//
// READMODEL_UPDATE_GOLDEN=1 rewrites the file from SQLite (only for a
// change of the views' results that is meant); PostgreSQL must agree.
func TestViewsGolden(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		db := open(t)
		if err := readmodel.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		codec, err := schema.NewCodec()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readmodel.New(ctx, db, codec); err != nil { // sets the tables up
			t.Fatal(err)
		}
		var msgs []projection.Message
		for i, r := range platformStream(t, 20) {
			env, err := codec.Decode(r.value)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, projection.Message{Envelope: env, Topic: r.topic, Key: []byte(r.key), Offset: int64(i), Timestamp: env.Timestamp})
		}
		msgs = append(msgs, awkwardEvents()...)

		var got strings.Builder
		for _, p := range readmodel.All() {
			var mine []projection.Message
			topics := p.Topics()
			for i := len(topics) - 1; i >= 0; i-- {
				for _, m := range msgs {
					if m.Topic == topics[i] {
						mine = append(mine, m)
					}
				}
			}
			mine = append(mine, mine[:30]...)
			for _, m := range mine {
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return p.Apply(ctx, tx, projection.Tables{}, m) }); err != nil {
					fmt.Fprintf(&got, "%s %s %s: %v\n", p.Name(), m.Envelope.EventID, m.Envelope.EventType, err)
				}
			}
			for _, table := range p.(projection.Schema).TableNames() {
				fmt.Fprintf(&got, "== %s\n", table)
				dumpRows(t, &got, db, table)
			}
		}
		if os.Getenv("READMODEL_UPDATE_GOLDEN") != "" && strings.HasSuffix(t.Name(), "/sqlite") { // PostgreSQL must then agree
			if err := os.MkdirAll(filepath.Dir(goldenViews), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(goldenViews, []byte(got.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(goldenViews)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
			for i := range max(len(gl), len(wl)) {
				g, w := "", ""
				if i < len(gl) {
					g = gl[i]
				}
				if i < len(wl) {
					w = wl[i]
				}
				if g != w {
					t.Fatalf("views differ from %s at line %d:\ngot  %s\nwant %s", goldenViews, i+1, g, w)
				}
			}
		}
	})
}

// awkwardEvents returns events a view must handle exactly as it always
// did: malformed or unusual data, late and repeated events.
func awkwardEvents() []projection.Message {
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	const ts = `"2026-12-02T09:00:00Z"`
	placed := func(id, items string) string {
		return `{"orderId":"` + id + `","userId":"u-e","items":` + items + `,"totalMinor":100,"currency":"EUR","paymentMethod":"card_ok",` +
			`"shippingAddress":{"name":"A","line1":"l","city":"c","country":"FR"},"placedAt":` + ts + `}`
	}
	one := `[{"productId":"p-x","quantity":1,"unitPriceMinor":100}]`
	o, p, i, s := kafka.TopicOrders, kafka.TopicPayments, kafka.TopicInventory, kafka.TopicShipping
	events := []struct {
		topic, typ string
		version    int
		data       string
	}{
		{o, order.TypePlaced, 2, placed("", one)}, // no orderId
		{o, order.TypePlaced, 2, placed("e-dup", `[{"productId":"p-x","quantity":1,"unitPriceMinor":100},{"productId":"p-x","quantity":2,"unitPriceMinor":50},{"productId":"p-y","quantity":3,"unitPriceMinor":7}]`)},
		{o, order.TypePlaced, 2, strings.Replace(placed("e-unk", one), `"userId"`, `"extra":1,"userId"`, 1)}, // unknown field
		{o, order.TypePlaced, 2, placed("e-bad", `[{"productId":"p-x","quantity":0,"unitPriceMinor":100}]`)},
		{o, order.TypePlaced, 2, strings.Replace(placed("e-case", `[{"productId":"p-z","quantity":1,"unitPriceMinor":100}]`), `"userId"`, `"USERID"`, 1)},
		{o, order.TypePlaced, 3, placed("e-ver", one)}, // not the current version
		{o, order.TypeShipped, 1, `{"orderId":"e-dup","carrier":"C","trackingNumber":"T","shippedAt":` + ts + `}`},
		{o, order.TypePaid, 1, `{"orderId":"e-dup","paidAt":` + ts + `}`}, // after shipped
		{o, order.TypeCancelled, 1, `{"orderId":"e-dup","reason":"payment_failed","cancelledAt":` + ts + `}`},
		{o, order.TypeCancelled, 1, `{"orderId":"e-dup","reason":"nope","cancelledAt":` + ts + `}`},
		{o, order.TypePaid, 1, `{"orderId":"","paidAt":` + ts + `}`},
		{o, order.TypePaid, 1, `{"orderId":7,"paidAt":` + ts + `}`},
		{o, order.TypePaid, 1, `{"orderId":"e-new","paidAt":"bad"}`},
		{o, order.TypeReserved, 1, `{"orderId":"e-new","reservedAt":` + ts + `}`}, // before its order.placed
		{o, order.TypeCancelled, 1, `{"orderId":"e-new","reason":"out_of_stock","cancelledAt":` + ts + `}`},
		{o, order.TypeReserved, 1, `{"orderId":"e-new","reservedAt":` + ts + `}`}, // after cancelled
		{o, order.TypePlaced, 2, placed("e-new", one)},
		{o, order.TypePlaced, 2, placed("e-new", one)},
		{p, schema.TypePaymentSucceeded, 1, `{"orderId":"e-p","paymentId":"pp","amountMinor":"x"}`},
		{p, schema.TypePaymentSucceeded, 1, `{"orderId":"","paymentId":"pp"}`},
		{p, schema.TypePaymentSucceeded, 1, `{"orderId":3,"paymentId":"pp"}`},
		{p, schema.TypePaymentSucceeded, 1, `{"orderId":"e-p","paymentId":"pp1","ORDERID":"e-p2"}`},
		{p, schema.TypePaymentSucceeded, 1, `{"orderId":"e-p","orderId":"e-p3","paymentId":"pp2"}`},
		{p, schema.TypePaymentRefunded, 1, `{"orderId":"e-p"}`},
		{p, schema.TypePaymentFailed, 1, `{"orderId":"e-p"}`},
		{p, schema.TypePaymentFailed, 1, `{"orderId":"e-q","amountMinor":"zz"}`},
		{p, "payment.process", 1, `{"orderId":"e-cmd"}`}, // not a type of the view
		{p, "payment.process", 1, `{"orderId":5}`},
		{i, schema.TypeStockReserved, 1, `{"orderId":"e-s","items":[{"productId":"p-s","quantity":2},{"productId":"p-s","quantity":3},{"productId":"p-t","quantity":1}]}`},
		{i, schema.TypeStockReserved, 1, `{"orderId":"e-s","items":[{"productId":"p-s","quantity":"2"}]}`},
		{i, schema.TypeStockReserved, 1, `{"orderId":"e-s","items":[]}`},
		{i, schema.TypeStockReserved, 1, `{"orderId":"","items":[{"productId":"p-u","quantity":1}]}`},
		{i, schema.TypeStockReleased, 1, `{"orderId":"e-s","items":[{"productId":"p-s","quantity":4}]}`},
		{i, schema.TypeStockReleased, 1, `{"orderId":"e-s","items":null}`},
		{i, schema.TypeStockReservationFailed, 1, `{"orderId":"e-s2"}`},
		{s, schema.TypeShipmentCreated, 1, `{"orderId":"e-sh","carrier":"c1","trackingNumber":"t1"}`},
		{s, schema.TypeShipmentCreated, 1, `{"orderId":"e-sh","carrier":5}`},
		{s, schema.TypeShipmentFailed, 1, `{"orderId":"e-sh"}`},
		{s, schema.TypeShipmentCancelled, 1, `{"orderId":"e-sh"}`},
		{o, order.TypePlaced, 2, placed("e-sh", one)},
		{o, order.TypeShipped, 1, `{"orderId":"e-sh","carrier":"C2","trackingNumber":"T2","shippedAt":` + ts + `}`},
		{o, order.TypeShipped, 1, `{"orderId":"e-sh","carrier":"C3","trackingNumber":"T3","shippedAt":` + ts + `}`},
		{s, schema.TypeShipmentCreated, 1, `{"orderId":"e-sh","carrier":"c4","trackingNumber":"t4"}`},
	}
	out := make([]projection.Message, len(events))
	for k, e := range events {
		env := event.Envelope{EventID: fmt.Sprintf("edge-%03d", k), EventType: e.typ, Version: e.version, Timestamp: at.Add(time.Duration(k) * time.Second),
			Data: json.RawMessage(e.data), Metadata: event.Metadata{CorrelationID: fmt.Sprintf("c-%d", k), Source: "test"}}
		out[k] = projection.Message{Envelope: env, Topic: e.topic, Key: []byte("edge"), Offset: int64(100_000 + k), Timestamp: env.Timestamp}
	}
	return out
}

// dumpRows writes every row of table, as "column=value" text, sorted.
func dumpRows(t *testing.T, w *strings.Builder, db *sqldb.DB, table string) {
	t.Helper()
	cols, rows := sqltest.Rows(t, db, `SELECT * FROM `+table)
	var lines []string
	for _, vals := range rows {
		var b strings.Builder
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%v ", cols[i], v)
		}
		lines = append(lines, b.String())
	}
	slices.Sort(lines)
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
}
