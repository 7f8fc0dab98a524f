# Causeway — the two set-up commands are `make run` and `make test`.
GO ?= go
BIN := bin/causeway

.PHONY: run test build bench fuzz chaos vet clean

## run: build and start the whole platform on the embedded default (causeway up)
run: build
	./$(BIN) up

## test: the whole suite (installs PostgreSQL and kcat when root, starts a throwaway cluster)
test:
	./scripts/test.sh

## build: the causeway binary in bin/
build:
	$(GO) build -o $(BIN) ./cmd/causeway

## bench: the benchmarks recorded in BENCHMARKS.md
bench:
	./scripts/bench.sh

## fuzz: every fuzz target for FUZZTIME (default 60s)
fuzz:
	./scripts/fuzz.sh

## chaos: the chaos run, 150 s of load under faults (CHAOS_DURATION, CHAOS_RATE); report in /tmp/causeway-chaos-report.txt
chaos:
	./scripts/chaos.sh

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
