# Build, test, lab and benchmark entry points. `npm ci && make` builds everything on a fresh machine.
SHELL := /bin/bash
ASC := node_modules/.bin/asc
ASC_FLAGS := --runtime stub --enable simd --enable threads --importMemory --sharedMemory \
             --initialMemory 512 --maximumMemory 4096 -O3 --noAssert --converge
NATIVE := appliance/native/build/Release/dmvpn_io.node
WASM := wasm/build/dataplane.wasm wasm/build/crypto.wasm
BUNDLE := dist/dmvpnd.mjs dist/dmvpnctl.mjs dist/worker.mjs dist/watchdog.mjs

.PHONY: all wasm native bundle test lab bench clean
all: wasm native bundle

wasm: $(WASM)
wasm/build/dataplane.wasm: $(wildcard wasm/assembly/*.ts wasm/assembly/*/*.ts)
	@mkdir -p wasm/build
	$(ASC) wasm/assembly/dataplane.ts -o $@ -t wasm/build/dataplane.wat $(ASC_FLAGS)
wasm/build/crypto.wasm: $(wildcard wasm/assembly/crypto/*.ts wasm/assembly/crypto-entry.ts)
	@mkdir -p wasm/build
	$(ASC) wasm/assembly/crypto-entry.ts -o $@ $(ASC_FLAGS)

native: $(NATIVE)
$(NATIVE): $(wildcard appliance/native/*.c appliance/native/*.h) appliance/native/binding.gyp
	cd appliance/native && npm_config_nodedir=$$(node -p 'require("path").resolve(process.execPath, "../..")') ../../node_modules/.bin/node-gyp rebuild --loglevel=warn >/dev/null

bundle: $(BUNDLE)
dist/%.mjs: $(shell find appliance -name '*.ts' 2>/dev/null)
	@mkdir -p dist
	node_modules/.bin/esbuild appliance/entry/$*.ts --bundle --platform=node --format=esm --target=node20 \
	  --external:*.node --outfile=$@ --log-level=warning

test: all
	node_modules/.bin/tap --reporter=terse --allow-empty-coverage --disable-coverage --timeout=600 test/*.test.ts

lab: all
	bash test/lab/lab.sh

bench: all
	bash bench/run.sh

clean:
	rm -rf wasm/build dist appliance/native/build
