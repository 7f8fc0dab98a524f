package projection_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
)

// orderCounts is a read model: orders per user. It writes only its own
// table, through the transaction and the names it is given.
type orderCounts struct{}

func (orderCounts) Name() string         { return "order_counts" }
func (orderCounts) Topics() []string     { return []string{"orders"} }
func (orderCounts) TableNames() []string { return []string{"user_orders"} }

func (orderCounts) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	_, err := tx.ExecContext(ctx, `CREATE TABLE `+t.Name("user_orders")+` (user_id TEXT PRIMARY KEY, n INTEGER NOT NULL)`)
	return err
}

func (orderCounts) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
	if m.Envelope.EventType != "order.placed" {
		return nil
	}
	var d struct {
		UserID string `json:"userId"`
	}
	if err := m.Envelope.UnmarshalData(&d); err != nil {
		return err
	}
	_, err := projection.Exec(ctx, tx, `INSERT INTO `+t.Name("user_orders")+` (user_id, n) VALUES ($1, 1)
		ON CONFLICT (user_id) DO UPDATE SET n = `+t.Name("user_orders")+`.n + 1`, d.UserID)
	return err
}

func Example() {
	ctx := context.Background()
	var db *sqldb.DB       // sqlite.Open or postgres.Open, migrated with projection.Migrations()
	var codec *event.Codec // the platform's codec
	if db == nil {
		fmt.Println("wire a database and a broker to run this")
		return
	}
	r, err := projection.New(db, codec, orderCounts{},
		projection.WithKafkaOpts(kgo.SeedBrokers("127.0.0.1:9092")))
	if err != nil {
		panic(err)
	}
	go func() { _ = r.Run(ctx) }() // applies events, exactly once, until ctx ends

	// Read-your-writes: wait until a position (a consistency token) is applied.
	pos, _ := projection.ParseOffsets("orders:3:1041")
	_ = r.WaitFor(ctx, pos)

	// Rebuild into user_orders__shadow and swap it in, with a progress bar.
	_, _ = r.Rebuild(ctx, projection.WithProgress(func(p projection.Progress) {
		fmt.Printf("\r%s %d/%d %.0f ev/s ETA %s", p.Phase, p.Done, p.Total, p.Rate, p.ETA)
	}))
	// Output: wire a database and a broker to run this
}
