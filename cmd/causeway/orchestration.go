package main

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
)

// orchestrate rewires the platform for --saga=orchestration, after
// openPlatform wired the choreography: the order service gets the order
// saga's orchestrator (ordersvc.Orchestrate), and its unit consumes
// saga.replies as group saga-orchestrator; payment, inventory and shipping
// consume their command topics with their command handlers, in their own
// groups, and no longer follow the choreography's events. Email and
// analytics are unchanged: the events they read are the same in both
// modes. The orchestrator's commands go through the order database's
// outbox, so the order unit's relay publishes them.
func (p *platform) orchestrate(cfg UpConfig, codec *event.Codec, kopts []kgo.Opt, instance string) error {
	type wire struct {
		group    string
		topics   []string
		handler  consumer.Handler
		attempts int
	}
	wires := map[string]wire{
		"payment":   {payment.Group, payment.CommandTopics, payment.NewCommandHandler(codec, nil), serviceMaxAttempts},
		"inventory": {inventory.Group, inventory.CommandTopics, inventory.NewCommandHandler(codec, nil), serviceMaxAttempts},
		"shipping":  {shipping.Group, shipping.CommandTopics, shipping.NewCommandHandler(codec, nil), serviceMaxAttempts},
	}
	if p.orders != nil {
		o, err := p.orders.Orchestrate(ordersaga.Config{StepTimeout: cfg.SagaStepTimeout},
			saga.WithLogger(p.log.With("component", ordersvc.OrchestratorGroup)))
		if err != nil {
			return err
		}
		wires["order"] = wire{ordersvc.OrchestratorGroup, []string{kafka.TopicSagaReplies}, o.Handler(), sagaMaxAttempts}
		for _, u := range p.units {
			if u.name == "order" {
				p.stuckWatch = newStuckWatcher(u.db, o, kopts, instance, p.log.With("component", sagaDLQWatcherGroup))
			}
		}
	}
	for _, u := range p.units {
		w, ok := wires[u.name]
		if !ok {
			continue
		}
		r, err := consumer.New(u.db, codec, w.group, w.topics, w.handler,
			p.consumerOpts(cfg, kopts, instance, u.name, w.group, w.attempts)...)
		if err != nil {
			return fmt.Errorf("%s consumer: %w", u.name, err)
		}
		u.runner = r
	}
	return nil
}

// runOrchestrator runs the orchestrator's step-timeout loop (saga.Run)
// and the dead-letter watcher that marks sagas stuck (stuckwatch.go)
// until ctx is done, when the platform orchestrates. Sagas in flight
// continue after a restart: their state and deadlines are in the order
// database.
func (p *platform) runOrchestrator(ctx context.Context) {
	if p.orders == nil || p.orders.Orchestrator() == nil {
		return
	}
	o := p.orders.Orchestrator()
	p.runnersWG.Go(func() { _ = o.Run(ctx) })
	if p.stuckWatch != nil {
		p.runnersWG.Go(func() { p.stuckWatch.run(ctx) })
	}
}
