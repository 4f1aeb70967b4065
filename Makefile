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

.PHONY: venv demo-venv collection test test-unit lint style ansible-lint sanity molecule changelog demo sandbox sandbox-stop clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt requirements-demo.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.demo-installed

# The demo and the sandbox need a third of that: ansible-core, boto3,
# moto[server]. pip shows each package as it comes (on stderr, so that
# `eval "$$(make -s sandbox)"` reads only the sandbox's export line).
demo-venv: $(VENV)/.demo-installed

$(VENV)/.demo-installed: requirements-demo.txt
	@echo "Installing the demo's packages into $(VENV) (first run only): ansible-core, boto3, moto[server]" >&2
	$(PYTHON) -m venv $(VENV) >&2
	$(BIN)/pip install --quiet --upgrade pip >&2
	$(BIN)/pip install --progress-bar off -r requirements-demo.txt >&2
	touch $@

# ansible finds the collection through ansible.cfg's collections_path.
collection: $(COLLECTION_LINK)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

# Static checks first (seconds), then the suite; the molecule scenario runs in
# it (tests/collection/test_molecule.py).
test: venv collection lint sanity
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

molecule: venv collection
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/molecule test

# After adding a fragment to changelogs/fragments/ (and at a release).
changelog: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/antsibull-changelog generate

# The whole flow on a local AWS emulator (no account, no internet).
demo: demo-venv collection
	$(BIN)/python playbooks/sandbox/demo.py

# An emulator to play by hand (README: "To play by hand"). Prints the shell
# line that points boto3 at it: eval "$$(make -s sandbox)".
sandbox: demo-venv collection
	@$(BIN)/python playbooks/sandbox/sandbox.py start

sandbox-stop:
	@$(BIN)/python playbooks/sandbox/sandbox.py stop

clean:
	rm -rf build .pytest_cache .ruff_cache
