# byok: `make run` starts the product, `make test` runs every test. Both install what they need
# first and skip what is already there. See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

TRUNK_VERSION    := 0.21.14
BINARYEN_VERSION := 132.0.0
OPENAI_SDK_VERSION := 2.54.0
PYHPKE_VERSION := 0.6.5
CARGO_FUZZ_VERSION := 0.13.2
TWIGGY_VERSION := 0.8.0
# wasm-bindgen-cli MUST match the wasm-bindgen library in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3; exit }' Cargo.lock)
TOOLS  := $(CURDIR)/.tools
export PATH := $(TOOLS)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WASM := --target wasm32-unknown-unknown

.PHONY: help run test lint tools build-tools test-tools ui pkg bench bench-vault bench-proxy bench-isolated bench-weight test-native test-browser proxy fuzz

help:
	@echo "make run    build the UI and start byok-proxy at http://127.0.0.1:8787/"
	@echo "make test   run every test (native, end-to-end, headless Chromium)"
	@echo "make lint   rustfmt, clippy (native and wasm32), and each crate's import layers"
	@echo "make bench  benchmarks: vault unlock in Chromium, proxy vs nginx, isolated mode vs in-page (figures printed)"
	@echo "make fuzz   every cargo-fuzz target for FUZZ_SECONDS (60) each, on nightly"
	@echo "make pkg    the vault's JavaScript package (vault-wasm/pkg/) and the client library (vault-wasm/pkg-client/)"

## ---- tools: each step skips itself when the right version is installed --------------------

tools: build-tools test-tools

# What building needs: the wasm target, Trunk, wasm-bindgen-cli, wasm-opt, and a C++ compiler
# (libFuzzer, which `make lint` builds into the fuzz targets).
build-tools:
	@command -v c++ >/dev/null \
	  || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	       apt-get install -y -qq g++; }
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown
	@[ "$$(trunk --version 2>/dev/null)" = "trunk $(TRUNK_VERSION)" ] \
	  || cargo install --locked trunk --version $(TRUNK_VERSION)
	@# Without --locked: its own lock file pins a crate version the registry no longer has.
	@[ "$$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ] \
	  || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@# wasm-opt from npm: Debian's binaryen (108) silently produces broken wasm.
	@wasm-opt --version 2>/dev/null | grep -q "version_$(firstword $(subst ., ,$(BINARYEN_VERSION)))" \
	  || npm install --silent --no-audit --no-fund --prefix $(TOOLS) binaryen@$(BINARYEN_VERSION)

# What testing adds: Chromium with chromedriver, redis-server (the shared-store tests start their
# own servers and a cluster; the packaged service is not used), the official OpenAI SDK, and
# pyhpke (an HPKE implementation of its own, which seals keys to the proxy in the sealed tests).
test-tools:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  && command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
	  || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	       apt-get install -y -qq chromium chromium-driver redis-server redis-tools; }
	@$(TOOLS)/venv/bin/python -c 'import openai, pyhpke, sys; sys.exit(openai.__version__ != "$(OPENAI_SDK_VERSION)" or pyhpke.__version__ != "$(PYHPKE_VERSION)")' 2>/dev/null \
	  || { python3 -m venv $(TOOLS)/venv && $(TOOLS)/venv/bin/pip install -q "openai==$(OPENAI_SDK_VERSION)" "pyhpke==$(PYHPKE_VERSION)"; }

## ---- run -----------------------------------------------------------------------------------

# The settings page (Trunk), then what the isolated mode serves beside it: the embed document
# with the vault's own package (not the page's larger bundle), and the client library.
ui: build-tools pkg
	trunk build --release
	mkdir -p dist/vault dist/embed
	cp vault-wasm/pkg/byok_vault.js vault-wasm/pkg/byok_vault_bg.wasm dist/vault/
	cp vault-wasm/pkg-embed/byok_embed.js vault-wasm/pkg-embed/byok_embed_bg.wasm dist/embed/
	cp vault-wasm/embed/embed.html vault-wasm/embed/embed.js vault-wasm/client/byok-client.js dist/

run: ui
	cargo run --release -p byok-proxy -- --static-dir dist

# The proxy alone, for `trunk serve` in a second terminal.
proxy:
	cargo run --release -p byok-proxy

## ---- tests ---------------------------------------------------------------------------------

test: tools test-native test-browser

# Native unit and behaviour tests, the proxy end-to-end suite, and the settings page driven
# through WebDriver (tests/ui), which runs against the release build in dist/.
test-native: ui
	cargo test --workspace

# The vault in headless Chromium; tests/support/echo_server.py answers its fetch tests.
test-browser:
	port_file=$$(mktemp); \
	python3 tests/support/echo_server.py 0 > "$$port_file" & echo_pid=$$!; \
	trap 'kill '"$$echo_pid"' 2>/dev/null || true; rm -f '"$$port_file" EXIT; \
	for _ in $$(seq 100); do [ -s "$$port_file" ] && break; sleep 0.1; done; \
	BYOK_ECHO_URL="http://127.0.0.1:$$(head -n1 "$$port_file")" \
	  cargo test -p byok-vault $(WASM) --test browser
	cargo test -p byok-seal $(WASM)

# The release UI build must succeed (it is what `make run` serves).

# Each crate's top-level modules from the bottom up: a module imports only those before it (the
# crate root's docs say what each layer is), and no modules import each other in a circle.
PROXY_LAYERS := core scrub metrics store limits seal grants alerts usage tiers server_keys http config state pipeline api serve
VAULT_LAYERS := error usd autolock usage store secret crypto kdf entry envelope backup passkey grant apps embed vault wasm
UI_LAYERS    := words opened timefmt throttle strength sse spend ui

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p byok-vault -p byok-seal -p byok-web-ui --all-targets $(WASM) -- -D warnings
	@# The vault as the settings page builds it (no JavaScript API) and as the embed document does.
	cargo clippy -p byok-vault --lib --no-default-features $(WASM) -- -D warnings
	cargo clippy -p byok-vault --lib --no-default-features --features embed $(WASM) -- -D warnings
	@# The fuzz targets are built (not run) on stable, so one that no longer builds is caught.
	cargo build -p byok-fuzz --bins
	python3 tools/layers.py proxy/src $(PROXY_LAYERS)
	python3 tools/layers.py vault-wasm/src $(VAULT_LAYERS)
	python3 tools/layers.py web-ui/src $(UI_LAYERS)
	python3 tools/layers.py web-ui/src/ui
	python3 tools/layers.py seal/src error request key header cipher

## ---- extras --------------------------------------------------------------------------------

bench: bench-vault bench-proxy bench-isolated bench-weight

# Unlock time (WebCrypto vs the pbkdf2 crate) and per-entry crypto, in headless Chromium.
bench-vault: tools
	WASM_BINDGEN_TEST_TIMEOUT=300 cargo test --profile wasm-release -p byok-vault $(WASM) \
	  --test bench -- --nocapture

# Throughput and latency direct / via nginx / via byok-proxy, memory per open stream against nginx,
# instructions per request under callgrind (the steady figure on a shared machine), and grants
# and rate limits on a real redis-server against plain requests.
bench-proxy:
	@command -v wrk >/dev/null && command -v nginx >/dev/null && command -v valgrind >/dev/null \
	  || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	       apt-get install -y -qq wrk nginx-light valgrind; }
	cargo build --release -p byok-proxy
	cargo build --release -p byok-seal --examples
	bench/run.sh
	bench/streams.sh
	bench/instructions.sh
	bench/grants.sh
	bench/sealed.sh

# The isolated mode's added time against the in-page vault (byok.fetch vs vault.fetch in one
# page, to one proxy), in headless Chromium.
bench-isolated: tools ui
	cargo test -p byok-e2e --test ui bench_the_isolated_mode -- --ignored --nocapture

# What a page costs to load: gzip bytes of the settings page, the vault package and the embed
# document's vault, and their ten largest contributors by crate and by function (twiggy).
bench-weight: ui
	@twiggy --version 2>/dev/null | grep -q "$(TWIGGY_VERSION)" \
	  || cargo install --locked twiggy --version $(TWIGGY_VERSION)
	python3 bench/weight.py

# Fuzzing, not part of `make test`: nightly and cargo-fuzz, then fuzz/run.sh (executions and
# crashes per target; crash inputs in target/fuzz/artifacts/).
fuzz:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@[ "$$(cargo fuzz --version 2>/dev/null)" = "cargo-fuzz $(CARGO_FUZZ_VERSION)" ] \
	  || cargo install --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION)
	fuzz/run.sh

pkg: build-tools
	cargo build --profile wasm-release -p byok-vault --lib $(WASM)
	wasm-bindgen --target web --out-dir vault-wasm/pkg \
	  target/wasm32-unknown-unknown/wasm-release/byok_vault.wasm
	wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
	  vault-wasm/pkg/byok_vault_bg.wasm -o vault-wasm/pkg/byok_vault_bg.wasm
	cp vault-wasm/package.json vault-wasm/pkg/package.json
	@# The embed document's vault (the isolated mode): `serveEmbed` without the JavaScript API,
	@# what an app's users load (178 KB gzip against the whole package's 302 KB).
	cargo build --profile wasm-release -p byok-vault --lib --no-default-features --features embed $(WASM)
	wasm-bindgen --target web --out-name byok_embed --out-dir vault-wasm/pkg-embed \
	  target/wasm32-unknown-unknown/wasm-release/byok_vault.wasm
	wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
	  vault-wasm/pkg-embed/byok_embed_bg.wasm -o vault-wasm/pkg-embed/byok_embed_bg.wasm
	@# The client library apps use in the isolated mode: plain JavaScript, its own package.
	mkdir -p vault-wasm/pkg-client
	cp vault-wasm/client/byok-client.js vault-wasm/client/byok-client.d.ts vault-wasm/client/package.json vault-wasm/pkg-client/
	@ls -l vault-wasm/pkg vault-wasm/pkg-embed vault-wasm/pkg-client
