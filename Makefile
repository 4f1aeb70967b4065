# One entry point for people and CI. `make test` is the test command CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COLLECTION_LINK := build/collections/ansible_collections/natzero/aws

# Python paths the style check (ruff format + ruff check) covers. Every path
# will be: widen to `.` once the rest is formatted and clean.
STYLE_PATHS ?= .
# Files ansible-test sanity leaves out (none: every file passes).
SANITY_EXCLUDE ?=

.PHONY: venv collection test test-unit units lint style ansible-lint sanity molecule changelog demo clean

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

# Static checks first (seconds), then the suite; the molecule scenario runs in
# it (tests/collection/test_molecule.py).
test: venv collection lint sanity units
	$(BIN)/python -m pytest

test-unit: venv
	$(BIN)/python -m pytest tests/unit

lint: style ansible-lint

style: venv
	$(BIN)/ruff format --check $(STYLE_PATHS)
	$(BIN)/ruff check $(STYLE_PATHS)

ansible-lint: venv collection
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint

# ansible-test sanity on the built artifact, installed under ansible_collections/.
sanity: venv
	$(BIN)/python tests/collection/sanity.py $(addprefix --exclude ,$(SANITY_EXCLUDE))

# ansible-test units on a copy of the checkout laid out as ansible_collections/natzero/aws.
units: venv
	$(BIN)/python tests/collection/units.py

molecule: venv collection
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/molecule test

# After adding a fragment to changelogs/fragments/ (and at a release).
changelog: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/antsibull-changelog generate

# The whole flow on a local AWS emulator (no account, no internet).
demo: venv collection
	$(BIN)/python playbooks/sandbox/demo.py

clean:
	rm -rf build .pytest_cache .ruff_cache
