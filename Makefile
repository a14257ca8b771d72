# sealnet: `make demo` runs the scripted demo; `make test` runs every check CI runs.

CARGO ?= cargo
# Wherever cargo builds (CARGO_TARGET_DIR is honoured); exported so every script uses the same place.
export SEALNET_TARGET_DIR := $(shell scripts/target-dir.sh)
DEBUG_DIR := $(SEALNET_TARGET_DIR)/debug
C_OUT := $(SEALNET_TARGET_DIR)/c
C_STRICT := -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer
LINK := -L$(DEBUG_DIR) -lsealnet -Wl,-rpath,$(DEBUG_DIR) -pthread
# Teardown stress cycles: a quick run in `make test`, the full run in `make stress`.
STRESS_CYCLES ?= 10000

.PHONY: all build header examples demo demo-cluster cluster-test bench-directory install install-test unity-package godot-addon test lint rust-test abi-check c-test bindings-test cross-test bench bench-relay stress capture-check fuzz fuzz-smoke backend-test bench-backend web-test

all: build

# The shared library carries a SONAME (libsealnet.so.0.MINOR): programs linked against it in the build
# tree find it under that name.
build:
	$(CARGO) build --workspace
	ln -sf libsealnet.so $(DEBUG_DIR)/$(shell scripts/soname.sh)

# Rewrites the committed C header from src/ffi (the header drift test fails until this is run).
header:
	SEALNET_UPDATE_HEADER=1 $(CARGO) build --lib

examples: build
	mkdir -p $(C_OUT)
	gcc $(C_STRICT) $(SANITIZE) examples/chat.c $(LINK) -o $(C_OUT)/chat
	gcc $(C_STRICT) $(SANITIZE) tests/c/peer_test.c $(LINK) -o $(C_OUT)/peer_test
	gcc $(C_STRICT) $(SANITIZE) -g tests/c/destroy_stress.c $(LINK) -o $(C_OUT)/destroy_stress
	gcc $(C_STRICT) $(SANITIZE) -g tests/c/abi_test.c tests/c/all_types_data.c $(LINK) -o $(C_OUT)/abi_test
	gcc $(C_STRICT) $(SANITIZE) -g tests/c/auth_test.c $(LINK) -o $(C_OUT)/auth_test
	gcc $(C_STRICT) $(SANITIZE) -g tests/c/client_test.c $(LINK) -o $(C_OUT)/client_test
	gcc $(C_STRICT) $(SANITIZE) -g tests/c/all_types.c tests/c/all_types_data.c $(LINK) -o $(C_OUT)/all_types
	gcc $(C_STRICT) -g -O1 tests/c/peer_test.c $(LINK) -o $(C_OUT)/peer_test_valgrind

demo: examples
	@scripts/with-server.sh --backend -- examples/demo/run.sh

# A master, two game servers and Redis (scripts/redis.sh installs it when missing), and two players
# who switch to their room's game server by themselves (docs/cluster.md).
demo-cluster: build
	$(CARGO) build --example realtime
	@scripts/redis.sh examples/demo/cluster.sh

test: lint rust-test abi-check c-test bindings-test cross-test web-test fuzz-smoke backend-test cluster-test install-test
	@echo "make test: all checks passed"

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --no-default-features --all-targets \
		--target-dir $(SEALNET_TARGET_DIR)/fuzz/smoke-build -- -D warnings

rust-test:
	$(CARGO) test --workspace

abi-check: build
	scripts/check-header.sh
	scripts/check-symbols.sh $(DEBUG_DIR)/libsealnet.so

# auth_test twice: against a server without a backend (custom authentication refused by the server
# itself), then with a real sealnet-backend behind its webhook (custom authentication of a guest).
c-test: examples
	scripts/with-server.sh -- $(C_OUT)/peer_test
	scripts/with-server.sh -- $(C_OUT)/abi_test
	scripts/with-server.sh -- $(C_OUT)/auth_test
	scripts/with-server.sh --backend --allow-anonymous -- $(C_OUT)/auth_test
	scripts/with-server.sh -- $(C_OUT)/client_test
	scripts/with-server.sh -- $(C_OUT)/destroy_stress $(STRESS_CYCLES)
	scripts/ensure-tool.sh valgrind valgrind
	scripts/with-server.sh -- valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
		$(C_OUT)/peer_test_valgrind

# With a real sealnet-backend behind the server's webhook, anonymous players still allowed; the test.sh
# scripts start their own servers with the same options (SEALNET_WITH_SERVER_OPTIONS).
bindings-test: build
	scripts/with-server.sh --backend --allow-anonymous -- bash bindings/cpp/test.sh
	scripts/with-server.sh --backend --allow-anonymous -- bash bindings/csharp/test.sh
	scripts/with-server.sh --backend --allow-anonymous -- bash bindings/csharp/package-test.sh
	scripts/with-server.sh --backend --allow-anonymous -- bash bindings/godot/test.sh --lint
	bash bindings/godot/addon-test.sh

# Every value type from each binding to every other (tests/cross/README.md).
cross-test: examples bindings-test
	tests/cross/run.sh

# The browser client (bindings/web/README.md): its unit tests under Node, then Debian's Chromium
# (installed when missing) against a real server over WSS, in a room with a native C player.
web-test: build
	scripts/with-server.sh --backend --allow-anonymous -- scripts/web-test.sh

# The long teardown runs: 100,000 C cycles under AddressSanitizer and 20,000 C# Dispose cycles.
stress: examples
	scripts/with-server.sh -- $(C_OUT)/destroy_stress 100000
	SEALNET_STRESS_CYCLES=20000 bash bindings/csharp/test.sh

# Every fuzz target on its seeds and a few thousand mutations (uninstrumented, seconds when warm).
fuzz-smoke:
	scripts/fuzz.sh test

# The long coverage-guided runs: FUZZ_EXECS executions of each target, two at a time, then the grown
# corpora once more under AddressSanitizer (about 2.5 hours on two cores).
FUZZ_EXECS ?= 10000000
fuzz:
	scripts/fuzz.sh run -j 2 $(FUZZ_EXECS)
	scripts/fuzz.sh replay

# The authentication backend's tests on SQLite, then the same tests on a throwaway PostgreSQL server
# (scripts/postgres.sh installs PostgreSQL when missing).
# The backend's tests against a real PostgreSQL (`cargo test --workspace` runs them on SQLite).
backend-test:
	scripts/postgres.sh sh -c 'SEALNET_TEST_POSTGRES_URL="$$DATABASE_URL" SEALNET_TEST_SKIP_SQLITE=1 \
		$(CARGO) test -p sealnet-backend --test backend'

# The Unity package tarball with the host's (Linux x86_64) release library (bindings/csharp/README.md).
unity-package:
	scripts/unity-package.sh

# The Godot addon to ship: the stripped release library and the editor's debug library in
# bindings/godot/addons/sealnet/bin/ (bindings/godot/README.md, "The release addon").
godot-addon:
	bindings/godot/package.sh --release

# Installs for C and C++ users (scripts/install.sh): PREFIX=/usr/local and DESTDIR= by default;
# PROFILE=debug installs the debug build instead of an optimised one.
PREFIX ?= /usr/local
DESTDIR ?=
PROFILE ?= release
install:
	PROFILE=$(PROFILE) scripts/install.sh $(PREFIX) $(DESTDIR)

# An installed sealnet consumed outside the tree: the C and C++ chats through pkg-config and CMake,
# shared and static, against a server; the SONAME; peer_* alone global in the static library, which
# links beside a second Rust static library (tests/install/run.sh).
install-test: build
	scripts/with-server.sh -- tests/install/run.sh

# Masters, game servers and Redis as separate processes (tests/cluster.rs starts its own Redis servers,
# so that it can stop one), the directory on a real Redis (tests/directory.rs), and the cluster demo.
cluster-test: build
	scripts/redis.sh sh -c 'SEALNET_TEST_REDIS_URL="$$REDIS_URL" $(CARGO) test -p sealnet-server --test directory'
	scripts/redis.sh $(CARGO) test -p sealnet-server --test cluster -- --include-ignored
	$(MAKE) --no-print-directory demo-cluster

# The webhook's latency at 1,000 req/s and its ceiling, on SQLite and on PostgreSQL (backend/README.md).
bench-backend:
	$(CARGO) build --release -p sealnet-backend --bin sealnet-backend-load
	$(SEALNET_TARGET_DIR)/release/sealnet-backend-load
	scripts/postgres.sh sh -c '$(SEALNET_TARGET_DIR)/release/sealnet-backend-load --database-url "$$DATABASE_URL"'
	$(CARGO) bench -p sealnet-backend --bench through_server

# The relay engine over TCP and UDP (encrypted and plain) beside an ENet relay (Debian's libenet-dev,
# installed when missing), alternating runs in one invocation; one table with all and their ratios
# (server/README.md, "Relay engine"); then UDP beside ENet across a lossy link between two network
# namespaces (5% loss, 20 ms each way; needs root, otherwise skipped with the reason printed).
ENET_REFERENCE := $(SEALNET_TARGET_DIR)/bench/enet_reference
bench-relay:
	scripts/ensure-tool.sh /usr/include/enet/enet.h libenet-dev
	mkdir -p $(dir $(ENET_REFERENCE))
	cc -O2 -std=c11 -Wall -Wextra -Werror -o $(ENET_REFERENCE) server/benches/relay/enet_reference.c -lenet
	SEALNET_ENET_REFERENCE=$(ENET_REFERENCE) $(CARGO) bench -p sealnet-server --bench relay

# The room directory on a throwaway Redis beside one Redis round trip, and matchmaking through it
# (docs/cluster.md, "Figures").
bench-directory:
	scripts/redis.sh $(CARGO) bench -p sealnet-server --bench directory

bench:
	$(CARGO) bench --bench protocol
	$(CARGO) bench -p sealnet-server --bench client
	$(CARGO) bench -p sealnet-server --bench idle_memory
	$(CARGO) bench -p sealnet-server --bench relay_allocations

# Needs root and tcpdump: records loopback traffic of the demo and checks no encrypted message leaks.
capture-check: examples
	scripts/capture-check.sh
