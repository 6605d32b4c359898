# Build, test, lab and benchmark entry points. On a fresh Debian machine `make lab` and `make test` each
# work alone: they install the Debian packages they need (`make deps`, deps/debian-packages.txt) and
# the npm dependencies (when node_modules is missing or older than package-lock.json), then build.
SHELL := /bin/bash
ASC := node_modules/.bin/asc
ASC_FLAGS := --runtime stub --enable simd --enable threads --importMemory --sharedMemory \
             --initialMemory 512 --maximumMemory 4096 -O3 --noAssert --converge
NATIVE := appliance/native/build/Release/dmvpn_io.node
WASM := wasm/build/dataplane.wasm wasm/build/crypto.wasm wasm/build/abi-probe.wasm
BUNDLE := dist/dmvpnd.mjs dist/dmvpnctl.mjs dist/worker.mjs dist/watchdog.mjs dist/console.mjs

.PHONY: all abi wasm native js bundle deps deps-build deps-lab test lab bench clean image firmware soak soak-kill
all: abi wasm native js

# The shared-memory contract (docs/layout-contract.md): written once in the spec, generated for
# TypeScript, AssemblyScript and C (+ the cross-language test probe) whenever the spec or the generator
# changes. The generated files are committed so a reader sees them; test/layout-contract.test.ts fails
# if they differ from what the spec generates.
ABI_SPEC := wasm/layout/dataplane.layout.json wasm/layout/generate.mjs
ABI := appliance/dataplane/abi.ts wasm/assembly/core/abi.ts appliance/native/abi.h wasm/layout/probe.ts
abi: $(ABI)
$(ABI) &: $(ABI_SPEC)
	node wasm/layout/generate.mjs

# Debian packages, from the one list deps/debian-packages.txt (idempotent: installs only what is missing;
# not root and something missing: stops, naming the packages).
deps:
	@deps/install.sh build lab test
deps-build:
	@deps/install.sh build
deps-lab:
	@deps/install.sh build lab

# npm dependencies: `npm ci` when node_modules is missing or older than package-lock.json (npm ci
# rewrites node_modules/.package-lock.json, so the next make sees it up to date). A node_modules that
# is a symbolic link (a git worktree sharing another checkout's) is never reinstalled from here.
NPM_STAMP := node_modules/.package-lock.json
$(NPM_STAMP): package-lock.json
	@if [ -L node_modules ]; then \
	  [ -e $@ ] || { echo "node_modules links to $$(readlink node_modules), which has no dependencies installed"; exit 1; }; \
	else npm ci --no-audit --no-fund; fi

wasm: $(WASM)
wasm/build/dataplane.wasm: $(wildcard wasm/assembly/*.ts wasm/assembly/*/*.ts) | $(NPM_STAMP)
	@mkdir -p wasm/build
	$(ASC) wasm/assembly/dataplane.ts -o $@ -t wasm/build/dataplane.wat $(ASC_FLAGS)
wasm/build/crypto.wasm: $(wildcard wasm/assembly/crypto/*.ts wasm/assembly/crypto-entry.ts) | $(NPM_STAMP)
	@mkdir -p wasm/build
	$(ASC) wasm/assembly/crypto-entry.ts -o $@ $(ASC_FLAGS)

# Test-only: reads every contract entry through the AssemblyScript constants (test/layout-contract.test.ts).
wasm/build/abi-probe.wasm: wasm/layout/probe.ts wasm/assembly/core/abi.ts | $(NPM_STAMP)
	@mkdir -p wasm/build
	$(ASC) wasm/layout/probe.ts -o $@ --runtime stub --enable threads --importMemory --sharedMemory \
	  --initialMemory 1 --maximumMemory 4096 -O1 --noAssert

native: $(NATIVE)
$(NATIVE): $(wildcard appliance/native/*.c appliance/native/*.h) appliance/native/binding.gyp | $(NPM_STAMP)
	cd appliance/native && npm_config_nodedir=$$(node -p 'require("path").resolve(process.execPath, "../..")') ../../node_modules/.bin/node-gyp rebuild --loglevel=warn >/dev/null

# the supervisor's JavaScript (esbuild bundles of appliance/entry/*.ts)
js: $(BUNDLE)
dist/%.mjs: $(shell find appliance -name '*.ts' 2>/dev/null) | $(NPM_STAMP)
	@mkdir -p dist
	node_modules/.bin/esbuild appliance/entry/$*.ts --bundle --platform=node --format=esm --target=node20 \
	  --external:*.node --outfile=$@ --log-level=warning

# The appliance's bootable disk image (rootfs/, docs/image.md): make image ARCH=x86_64|aarch64 writes
# build/image/dmvpn-$(ARCH).img; cached outside the clone by a hash of its inputs (rootfs/build.sh).
ARCH ?= x86_64
ADDON_x86_64 := $(NATIVE)
ADDON_aarch64 := build/native-aarch64/dmvpn_io.node
image: wasm js dist/console.mjs $(ADDON_$(ARCH))
	@deps/install.sh build image >/dev/null
	@bash rootfs/firmware-key.sh "$(FIRMWARE_KEY)" "$(FIRMWARE_PUBKEY)" $(if $(filter file,$(origin FIRMWARE_KEY)),dev)
	DMVPN_FIRMWARE_PUBKEY="$(FIRMWARE_PUBKEY)" bash rootfs/build.sh $(ARCH) $(ADDON_$(ARCH)) build/image/dmvpn-$(ARCH).img

# A signed firmware bundle of that image (docs/image.md "Firmware update"): slot A's root, kernel and
# initramfs with a manifest signed by FIRMWARE_KEY (Ed25519, PEM). Not given: a development key made
# once in the image cache (outside the clone, never committed; shared by the clones on this machine so
# their images stay cache hits); a product build passes the vendor's: FIRMWARE_KEY=vendor.pem (or, for
# `make image` alone, only FIRMWARE_PUBKEY=vendor.pub). The version is rootfs/files/firmware-version's.
# `make bundle` and `make firmware` are the same target.
IMAGE_CACHE := $(or $(DMVPN_IMAGE_CACHE),$(HOME)/.cache/dmvpn-image)
FIRMWARE_KEY ?= $(IMAGE_CACHE)/firmware-dev-ed25519.pem
FIRMWARE_PUBKEY ?= $(FIRMWARE_KEY:.pem=.pub.pem)
FIRMWARE_VERSION := $(shell cat rootfs/files/firmware-version)
bundle firmware: image dist/firmware-bundle.mjs
	bash rootfs/firmware-parts.sh build/image/dmvpn-$(ARCH).img build/firmware/parts-$(ARCH)
	node dist/firmware-bundle.mjs --key "$(FIRMWARE_KEY)" --version $(FIRMWARE_VERSION) --arch $(ARCH) \
	  --root build/firmware/parts-$(ARCH)/root.sqfs --kernel build/firmware/parts-$(ARCH)/vmlinuz \
	  --initrd build/firmware/parts-$(ARCH)/initrd.img --out build/firmware/dmvpn-$(ARCH)-$(FIRMWARE_VERSION).fw
build/native-aarch64/dmvpn_io.node: $(wildcard appliance/native/*.c appliance/native/*.h) appliance/native/binding.gyp rootfs/native-addon.sh | $(NPM_STAMP)
	@mkdir -p $(@D)
	bash rootfs/native-addon.sh aarch64 $@

# Tests whose tool is missing fail under CI=true and are skipped loudly otherwise (test/util/needs.ts);
# the skips are listed again after tap's summary so they cannot scroll by unseen.
# The images are built (or taken from their cache) before the tests, not inside the boot tests' time
# limit: a cold build takes minutes. A build that fails here is reported again by test/image*.test.ts.
#
# Two test files run at once (tap's default is one CPU left free: one at a time on a 2-core machine, so
# the wall time was the sum of the files', an hour). Namespaces, veths, charon's and FRR's run files are
# per process (test/util/lab.ts uniquePrefix, strongswan.ts, frr-daemon.ts). SERIAL_TESTS run alone:
# the VM boots (qemu TCG takes both cores) and the multi-worker forwarding test, which counts every
# datagram of paced flows and would measure the other file's load rather than the workers.
SERIAL_TESTS = test/image.test.ts test/image-aarch64.test.ts test/image-enroll.test.ts \
  test/image-firmware-kill.test.ts test/interop-frr.test.ts test/interop-ipsec.test.ts \
  test/integration-workers.test.ts
TEST_JOBS ?= 2
test: deps
	@$(MAKE) --no-print-directory all
	node_modules/.bin/tsc --noEmit -p .
	@for a in x86_64 aarch64; do $(MAKE) --no-print-directory image ARCH=$$a || echo "make image ARCH=$$a failed: test/image*.test.ts will say why"; done
	@rm -rf .tap/test-results
	node_modules/.bin/tap --reporter=terse --allow-empty-coverage --disable-coverage --timeout=600 \
	  --jobs=$(TEST_JOBS) $(SERIAL_TESTS:%=--serial=%) test/*.test.ts; \
	  rc=$$?; node test/util/skip-report.mjs .tap/test-results; exit $$rc

lab: deps-lab
	@[ "$$(id -u)" = 0 ] || { echo "make lab needs root: it creates network namespaces"; exit 1; }
	@$(MAKE) --no-print-directory all
	bash test/lab/lab.sh

bench: all
	bash bench/run.sh

# Long runs kept out of `make test`: the firmware rollback needs three boots of the x86_64 image
# (test/image/firmware-rollback.soak.ts, about 8 minutes under TCG); the factory enrollment on the
# aarch64 image (test/image-enroll.test.ts booting arm64, about 2 minutes); a firmware update of the
# aarch64 image (test/image/firmware-aarch64.soak.ts, two arm64 boots); power cuts at random points
# of a firmware update (`make soak-kill`, below: hours at its default 200 iterations); the enrollment
# key rollover and the recovery of an expired certificate in namespaces (test/enroll-rekey.soak.ts,
# about 3 minutes: it waits out 1-minute certificates); two data-plane workers through an IPsec rekey
# under traffic (test/integration-workers.test.ts with DMVPN_WORKERS_REKEY=1, 150 s of traffic).
soak: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory image ARCH=x86_64
	@$(MAKE) --no-print-directory image ARCH=aarch64
	node_modules/.bin/tap --reporter=terse --allow-empty-coverage --disable-coverage --timeout=2400 test/image/firmware-rollback.soak.ts
	node_modules/.bin/tap --reporter=terse --allow-empty-coverage --disable-coverage --timeout=900 test/enroll-rekey.soak.ts
	DMVPN_WORKERS_REKEY=1 node_modules/.bin/tap --reporter=terse --allow-empty-coverage --disable-coverage --timeout=900 test/integration-workers.test.ts
	DMVPN_IMAGE_ENROLL_ARCH=aarch64 node_modules/.bin/tap --reporter=terse --allow-empty-coverage --disable-coverage --timeout=1400 test/image-enroll.test.ts
	node_modules/.bin/tap --reporter=terse --allow-empty-coverage --disable-coverage --timeout=3000 test/image/firmware-aarch64.soak.ts
	@$(MAKE) --no-print-directory soak-kill

# test/image/firmware-kill.soak.ts: DMVPN_KILL_SOAK_N iterations (default 200, about 1-2 minutes each
# under TCG), DMVPN_KILL_SEED to replay a run (printed first), DMVPN_KILL_WINDOW_S the window the cut
# times are drawn from (default 120). No tap time limit: the run's length is the iteration count's.
soak-kill: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory image ARCH=x86_64
	node_modules/.bin/tap --reporter=tap --allow-empty-coverage --disable-coverage --timeout=0 test/image/firmware-kill.soak.ts

clean:
	rm -rf wasm/build dist appliance/native/build build
