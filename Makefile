# One entry point for people and CI. `make test` is the test command CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COLLECTION_LINK := build/collections/ansible_collections/natzero/aws

.PHONY: venv collection test test-unit demo clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# ansible finds the collection through ansible.cfg's collections_path.
collection: $(COLLECTION_LINK)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

test: venv collection
	$(BIN)/python -m pytest

test-unit: venv
	$(BIN)/python -m pytest tests/unit

# The whole flow on a local AWS emulator (no account, no internet).
demo: venv collection
	$(BIN)/python playbooks/sandbox/demo.py

clean:
	rm -rf build .pytest_cache
