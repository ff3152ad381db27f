# Set-up, demo, tests and benchmarks. Every target goes through `setup`, which is idempotent.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# tool:debian-package pairs the tests and the demo need
SYSTEM_TOOLS := fls:sleuthkit ewfacquire:ewf-tools mkfs.ext4:e2fsprogs debugfs:e2fsprogs \
  mkfs.fat:dosfstools mcopy:mtools mkntfs:ntfs-3g ntfscp:ntfs-3g sfdisk:fdisk mkfs.xfs:xfsprogs \
  yara:yara unshare:util-linux strace:strace ip:iproute2 \
  cryptsetup:cryptsetup-bin chromium:chromium rpmbuild:rpm \
  last:util-linux utmpdump:util-linux ssh-keygen:openssh-client openssl:openssl xmllint:libxml2-utils
DEMO_DIR := demo

.PHONY: setup system-packages demo test test-fast bench clean

setup: system-packages $(BIN)/seized

system-packages:
	@missing=""; for pair in $(SYSTEM_TOOLS); do tool=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$tool >/dev/null 2>&1 || [ -x /usr/sbin/$$tool ] || [ -x /sbin/$$tool ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

$(BIN)/seized: pyproject.toml $(wildcard */__init__.py)
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

demo: setup
	rm -rf $(DEMO_DIR)
	$(BIN)/python -m bench.demo_image $(DEMO_DIR)/evidence/demo.img
	$(BIN)/seized scan $(DEMO_DIR)/evidence/demo.img -o $(DEMO_DIR)/case --case-name "Demo v. John Doe" --examiner "Demo Examiner" \
	  --notable-hashes rules/hashsets/rustock_deck.md5 --notable-hashes rules/hashsets/demo_planted.md5
	@echo "report: $(DEMO_DIR)/case/report/declaration.html"

test: setup
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python -m pytest -q

# everything but the tests marked slow (external clusters, killed or signalled scans, namespaces, large
# images and host files, case_validate, two labelled 10-20 CPU-s tests), on two pytest-xdist workers; a
# test file stays on one worker (its module fixtures are built once), and the files sharing the demo case
# or the known-files systems share one (tests/conftest.py). Measured 2026-12-06: 977 passed, 1 skipped in
# 135 s wall, 151 CPU s at load 2.1-3.5; not under a minute (151 CPU s need at least ~76 s on 2 cores).
test-fast: setup
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadfile

# Issue 17's table in one run: dense, real-OS and bench images (1 and 2 workers, sha256sum,
# bulk_extractor when on PATH or in $$BULK_EXTRACTOR) and the 4 and 16 GiB scaling rows. About
# 25 minutes of a quiet 2-core machine without bulk_extractor once the images are cached (bench/out/images, 19 GB; building
# them the first time takes about 20 minutes more and 25 GB of free space at the peak).
# BENCH_SET=quick leaves out the 4 and 16 GiB rows; BENCH_ARGS goes to bench.run as is.
# The 20-image case and external-scheduler benches (bench/case20.py, bench/external_cluster.py)
# run first when present and leave bench/out/<name>.json, whose "summary" bench.run prints.
BENCH_SET ?= full
BENCH_ARGS ?=
bench: setup
	@for b in case20 external_cluster; do if [ -f bench/$$b.py ]; then \
	  PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python -m bench.$$b || echo "bench.$$b failed (exit $$?)"; fi; done
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python -m bench.run --set $(BENCH_SET) $(BENCH_ARGS)
	PATH="$$PATH:/usr/sbin:/sbin" $(BIN)/python -m bench.precision

clean:
	rm -rf $(VENV) $(DEMO_DIR) *.egg-info
