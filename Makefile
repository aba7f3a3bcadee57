# weft's checks. `make test` is what CI runs (.ci/run); it needs only Go.
# Tools beyond the toolchain are fetched with `go run pkg@version`.

GO         ?= go
FUZZTIME   ?= 5s
BENCH      ?= .
BENCHTIME  ?= 1s
COUNT      ?= 1
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
COMPARE     = internal/compare

.PHONY: test test-otel test-grpc fmt-check vet test-root test-compare bench compare fuzz lint cover examples test-redis compare-redis

test: fmt-check vet test-root test-compare test-redis test-otel test-grpc

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test-root:
	$(GO) test -race -shuffle=on -count=1 ./...

# Compile the comparison benchmarks and run their correctness checks only.
test-compare:
	cd $(COMPARE) && $(GO) test -count=1 -run . ./...

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count $(COUNT) ./...

# One run of every paired benchmark in internal/compare, printed as a table
# of ratios (other/weft: above 1x means weft is faster).
compare:
	cd $(COMPARE) && $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count $(COUNT) . | tee bench.txt | $(GO) run ./cmd/table

# The nested module limiter/redisrate, against a throwaway redis-server that
# testdata/with-redis.sh starts (installing it when root) and stops.
REDIS = limiter/redisrate

test-redis:
	cd $(REDIS) && ./testdata/with-redis.sh $(GO) test -race -count=1 ./...

# Its benchmarks against go-redis/redis_rate on one throwaway server, as a table.
compare-redis:
	cd $(REDIS) && ./testdata/with-redis.sh $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) -count $(COUNT) . | (cd $(CURDIR)/$(COMPARE) && $(GO) run ./cmd/table)

# The nested module weftotel (OpenTelemetry metrics), against the OTel SDK's
# ManualReader and a Prometheus exporter on 127.0.0.1.
OTEL = weftotel

# go vet for this module runs in lint, to keep make test fast on a cold cache.
test-otel:
	cd $(OTEL) && $(GO) test -race -count=1 ./...

# The nested module weftgrpc (gRPC interceptors), against real gRPC servers
# its tests start on 127.0.0.1.
GRPC = weftgrpc

# go vet for this module runs in lint: a cold vet of grpc costs about a minute.
test-grpc:
	cd $(GRPC) && $(GO) test -race -count=1 ./...

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd $(COMPARE) && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd $(REDIS) && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd $(OTEL) && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd $(GRPC) && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

cover:
	$(GO) test -count=1 -coverprofile=cover.out ./...
	$(GO) tool cover -func=cover.out | tail -n 1

# Build and run every program under examples/; each must exit 0 by itself.
examples:
	@set -e; for d in $$(ls -d examples/*/ 2>/dev/null); do \
		echo "== $$d"; timeout 60 $(GO) run ./$$d; \
	done
