# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv, run the main job: toy DLCR (generation, CAL
#               training with and without DLCR, refinement; 3 seeds; table)
#   make test   set up .venv, run the test suite
# make quickstart: the bag-of-tricks baseline on a toy Market-1501 (~4 min)
# make bench-peers: torchreid and fast-reid for benchmarks/ (see its README)
# A second run skips the install while setup.cfg and pyproject.toml are unchanged.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_CONFIG ?= configs/quickstart/toy_market_bot_r18.py
TOY    := data/toy

.PHONY: install demo quickstart test toy clean-venv bench-peers

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

toy: install
	$(PY) tools/make_toy_data.py market1501 $(TOY)/market1501 --ids 120 --seed 0

demo: install
	$(PY) -m plugins.dlcr.toy_ablation

quickstart: toy
	$(PY) tools/train.py $(DEMO_CONFIG)

test: install
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
