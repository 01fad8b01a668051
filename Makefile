# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv, build the toy world, run the main job on it
#   make test   set up .venv, run the test suite
# A second run skips the install while setup.cfg and pyproject.toml are unchanged.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_CONFIG ?= configs/quickstart/toy_market_bot_r18.py
TOY    := data/toy

.PHONY: install demo test toy clean-venv

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

toy: install
	$(PY) tools/make_toy_data.py market1501 $(TOY)/market1501 --ids 120 --seed 0

demo: toy
	$(PY) tools/train.py $(DEMO_CONFIG)

test: install
	$(PY) -m pytest -q -p no:cacheprovider

clean-venv:
	rm -rf $(VENV)
