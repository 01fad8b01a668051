# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv, run the main job: toy DLCR (generation, CAL
#               training with and without DLCR, refinement; 3 seeds; table)
#   make test   set up .venv (with `make detection`: mmcv + mmdet), run the test suite
# make quickstart: the bag-of-tricks baseline on a toy Market-1501 (~4 min)
# make bench-peers: torchreid and fast-reid for benchmarks/ (see its README)
# A second run skips the install while setup.cfg and pyproject.toml are unchanged.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DET_STAMP := $(VENV)/.detection
DEMO_CONFIG ?= configs/quickstart/toy_market_bot_r18.py
TOY    := data/toy

.PHONY: install demo quickstart test toy clean-venv bench-peers detection \
        detection-wheel

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade "pip>=24"
	$(PY) -m pip install -qq -e ".[dev]"
	@touch $(STAMP)

toy: install
	$(PY) tools/make_toy_data.py market1501 $(TOY)/market1501 --ids 120 --seed 0

demo: install
	$(PY) -m plugins.dlcr.toy_ablation

quickstart: toy
	$(PY) tools/train.py $(DEMO_CONFIG)

test: install detection
	$(PY) -m pytest -q -p no:cacheprovider

# The benchmarks' peers, without their dependencies (fastreid 1.4.0 pins
# torch 1.13), in a folder git ignores; .venv is untouched. fast-reid's
# evaluation imports tabulate/termcolor/yacs (beside it); its Cython ranking
# is built in place with Cython/setuptools from a separate build folder.
PEERS  := .bench_peers
PEER_PKGS := torchreid==0.2.5 fastreid==1.4.0 tabulate termcolor yacs
bench-peers: install
	$(PY) -m pip install -q --upgrade --no-deps --target $(PEERS)/site $(PEER_PKGS)
	$(PY) -m pip install -q --upgrade --no-deps --target $(PEERS)/build Cython setuptools
	cd $(PEERS)/site/fastreid/evaluation/rank_cylib && \
	    PYTHONPATH=$(abspath $(PEERS)/build) $(abspath $(PY)) setup.py build_ext --inplace
	@ls $(PEERS)/site/torchreid/__init__.py $(PEERS)/site/fastreid/evaluation/rank_cylib/rank_cy*.so
	@echo "peers ready in $(PEERS)/site (the benchmarks' default --peers)"

clean-venv:
	rm -rf $(VENV)

# make detection: the mmdet backend of synthgen's DetectionCropFilter.
# mmdet 3.3 needs the full mmcv (< 2.2), which has no wheel for our torch: build
# mmcv 2.1.0 from source once (CPU ops, ~55 CPU-min: ~28 min on 2 idle Zen 1 cores), cache the wheel under
# $(WHEELS)/<torch version>-<python tag>/ and reuse it on later runs. mmcv replaces
# mmcv-lite (same import name); mmpretrain 1.2 accepts mmcv >= 2.0, < 2.4.
# Build facts: setup.py forces -std=c++14/17, torch >= 2.10 headers need C++20;
# setup.py imports pkg_resources (setuptools < 82, used from a side folder so
# the venv keeps its own); --no-build-isolation so it compiles against our torch.
WHEELS       ?= $(HOME)/.cache/reid-synth/wheels
MMCV_VERSION := 2.1.0
MMDET_VERSION := 3.3.0

# `make detection-wheel PY=/path/to/python` only builds (or finds) the wheel.
MMCV_TAG = $(shell $(PY) -c "import sys, torch; print(f'torch{torch.__version__}-cp{sys.version_info[0]}{sys.version_info[1]}')")

detection-wheel:
	@set -e; dir="$(WHEELS)/$(MMCV_TAG)"; \
	if ls $$dir/mmcv-$(MMCV_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo "cached: $$(ls $$dir/mmcv-$(MMCV_VERSION)-*.whl | head -1)"; exit 0; fi; \
	echo "building mmcv $(MMCV_VERSION) for $(MMCV_TAG) (about 55 CPU-min: ~28 min on 2 idle cores) ..."; \
	mkdir -p $$dir; build=$$(mktemp -d); trap 'rm -rf '$$build EXIT; \
	$(PY) -m pip install -q --target $$build/tools "setuptools<82" wheel ninja; \
	PYTHONPATH=$$build/tools $(PY) -m pip download -q --no-deps --no-binary :all: \
	  --no-build-isolation -d $$build "mmcv==$(MMCV_VERSION)"; \
	tar -xzf $$build/mmcv-$(MMCV_VERSION).tar.gz -C $$build; \
	sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' \
	  $$build/mmcv-$(MMCV_VERSION)/setup.py; \
	py=$$(cd $(dir $(PY)) && pwd)/$(notdir $(PY)); \
	cd $$build/mmcv-$(MMCV_VERSION) && PATH=$$build/tools/bin:$$PATH \
	  PYTHONPATH=$$build/tools MAX_JOBS=$${MAX_JOBS:-2} \
	  nice -n 10 $$py -m pip wheel -q --no-deps --no-build-isolation -w $$build/out .; \
	mv $$build/out/mmcv-*.whl $$dir/; ls -l $$dir

detection: $(DET_STAMP)

# mmcv and mmcv-lite share the import name: both are removed before the wheel goes
# in (a later `make install` that brings mmcv-lite back re-runs this, as the stamp
# is then older than the install's).
$(DET_STAMP): $(STAMP)
	@$(MAKE) --no-print-directory detection-wheel
	@set -e; whl=$$(ls $(WHEELS)/$(MMCV_TAG)/mmcv-$(MMCV_VERSION)-*.whl | head -1); \
	$(PY) -m pip uninstall -qq -y mmcv-lite mmcv 2>/dev/null || true; \
	$(PY) -m pip install -qq --no-deps --force-reinstall $$whl; \
	$(PY) -m pip install -qq "mmdet==$(MMDET_VERSION)"; \
	$(PY) -c "import mmcv, mmdet, mmpretrain; from mmcv.ops import nms; \
	print('mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'mmpretrain', mmpretrain.__version__)"
	@touch $(DET_STAMP)
