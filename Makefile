# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv, run the main job: toy DLCR (generation, CAL
#               training with and without DLCR, refinement; 3 seeds; table)
#   make test   set up .venv, run the test suite
# make quickstart: the bag-of-tricks baseline on a toy Market-1501 (~4 min)
# A second run skips the install while setup.cfg and pyproject.toml are unchanged.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_CONFIG ?= configs/quickstart/toy_market_bot_r18.py
TOY    := data/toy

.PHONY: install demo quickstart test toy clean-venv

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

clean-venv:
	rm -rf $(VENV)
