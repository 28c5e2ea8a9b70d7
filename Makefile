# The verbs. `make test` and `make run` install what they need on a fresh clone.
SHELL := /bin/bash
BOARD ?= esp32
NPM_STAMP := node_modules/.stamp-install

.PHONY: all test typecheck unit run bundle bundles size flash flash-dry bench clean

all: test

# npm dependencies, reinstalled whenever the lock file changes.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: $(NPM_STAMP)

typecheck: $(NPM_STAMP)
	npx tsc -p tsconfig.json
	npx tsc -p tsconfig.node.json

unit: $(NPM_STAMP)
	npx jest $(JEST_ARGS)

## test: everything CI runs.
test: typecheck unit

clean:
	rm -rf dist build coverage .data
