# The verbs. `make test` and `make run` install what they need on a fresh clone.
SHELL := /bin/bash
BOARD ?= esp32
NPM_STAMP := node_modules/.stamp-install


.PHONY: sysdeps
.PHONY: all test typecheck unit run bundle bundles size compat flash flash-port flash-dry update bench bench-device emulator memory clean

all: test

# npm dependencies, reinstalled whenever the lock file changes. `npm install`, not `npm ci`:
# the registry here lacks some optional platform binaries (@swc/core-darwin-*, …) that
# `npm ci` insists on finding in the lock; `npm install` skips them and keeps the lock as is.
$(NPM_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund
	touch $@

deps: $(NPM_STAMP)

typecheck: $(NPM_STAMP)
	npx tsc -p tsconfig.json
	npx tsc -p tsconfig.node.json
	npx tsc -p emulator/tsconfig.json

# System tools the end-to-end tests use (curl as a real client, Debian's Chromium for the browser tests, Mosquitto as the
# MQTT broker), installed when missing.
sysdeps:
	@command -v curl >/dev/null && command -v chromium >/dev/null && command -v mosquitto_passwd >/dev/null && { command -v mosquitto || test -x /usr/sbin/mosquitto; } >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq curl chromium mosquitto mosquitto-clients)

unit: $(NPM_STAMP) sysdeps
	npx jest $(JEST_ARGS)

## bundle: one board's bundle, dist/$(BOARD)/app.js (+ app.js.map): tsc ES5 -> esbuild -> terser (tools/build.mjs).
bundle: $(NPM_STAMP)
	node tools/build.mjs --board $(BOARD)

## bundles: every board profile in boards/.
bundles: $(NPM_STAMP)
	node tools/build.mjs --all

## compat: every board bundle parses and runs under what Espruino 2v29 supports (tools/compat.mjs).
compat: bundles
	node tools/compat.mjs --boards

## size: minified size of the core (20 KB budget) and of each board bundle (tools/size.mjs).
size: bundles
	node tools/size.mjs

## test: everything CI runs.
test: typecheck compat size unit

## flash: write the build's flash image to the board's Storage (the boot loader as .bootcde, the app in slot app.0, the UI;
##   the other slot and the loader's record erased) and start it (tools/flash.mjs).
##   PORT=/dev/ttyUSB0 (serial) or PORT=tcp://192.168.4.1:23 (telnet console); PORT is checked before building.
flash: flash-port bundle
	@node tools/flash.mjs --board $(BOARD) --port '$(PORT)'

flash-port: $(NPM_STAMP)
	@node tools/flash.mjs --board $(BOARD) --port '$(PORT)' --check

## update: build the app and send it to a board over HTTP, then follow it until it confirms itself or the board goes back
##   (tools/update.mjs). HOST=192.168.1.40 (or name.local, or 127.0.0.1:8080 for make run), PASSWORD= the admin
##   password, UPDATE_KEY= when the board holds an update key. HOST is checked before building.
update: $(NPM_STAMP)
	@node tools/update.mjs --board $(BOARD) --host '$(HOST)' --check
	node tools/build.mjs --board $(BOARD)
	@node tools/update.mjs --board $(BOARD) --host '$(HOST)'

## flash-dry: what `make flash` would send, to build/$(BOARD)/flash.js: offline, no device.
flash-dry: bundle
	@node tools/flash.mjs --board $(BOARD) --dry

## run: build the firmware for the emulator board and serve it on http://127.0.0.1:$(PORT) (DATA= is its flash folder,
##   WIFI= the networks its radio sees, DNS_PORT= the host UDP port of the device's DNS port 53).
# PORT's default belongs to run alone: flash needs a port said out loud (a leaked 8080 read as "PORT 8080 does not exist").
run: PORT ?= 8080
run: DNS_PORT ?=
DATA ?= .data/emulator
WIFI ?= emulator/demo-wifi.json
run: $(NPM_STAMP)
	node tools/build.mjs --board emulator
	node emulator/cli.js --bundle dist/emulator/app.js --board emulator --port $(PORT) $(if $(DNS_PORT),--dns-port $(DNS_PORT)) --data $(DATA) --wifi $(WIFI) --remote

## bench: req/s, p50/p99 and server CPU per request of the firmware in the emulator vs Node's http and a raw
##   net ceiling on loopback (8 keep-alive connections), then the request parser alone (tools/bench.mjs, ~1 min).
bench: $(NPM_STAMP)
	node tools/bench.mjs

## bench-device ESPRUINO=path: the linux bundle on a real interpreter (the Linux build of Espruino 2v29, built
## by you outside this repository) against the interpreter's built-in http server, with wrk (installed if missing).
bench-device: $(NPM_STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	node tools/bench/device.mjs --espruino "$(ESPRUINO)"

## memory: process.memory() of the esp32 and esp32c3 firmware in the emulator, after boot, at a page load's peak and during an update upload.
memory: $(NPM_STAMP)
	node tools/build.mjs --board esp32 --board esp32c3
	node tools/memory.mjs --bundle dist/esp32/app.js --board esp32
	node tools/memory.mjs --bundle dist/esp32c3/app.js --board esp32c3

## emulator: type-check the emulator's plain JavaScript (no build step: `node emulator/cli.js` runs as is).
emulator: $(NPM_STAMP)
	npx tsc -p emulator/tsconfig.json

clean:
	rm -rf dist build coverage .data
