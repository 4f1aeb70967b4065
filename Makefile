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

.PHONY: venv demo-venv collection test test-unit test-lambda-botocore test-minimum-sdk units lint style ansible-lint sanity molecule changelog demo demo-ecs sandbox sandbox-stop clean

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
# pytest-xdist runs two test files at a time (each file on one worker, so a
# module's fixtures are set up once); the slowest tests are listed at the end.
# tests/unit is left out there: `units` has just run every one of them under
# ansible-test, as a collection's CI does.
test: venv collection lint sanity units
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=25 --ignore=tests/unit
	$(MAKE) test-lambda-botocore
	$(MAKE) test-minimum-sdk

test-unit: venv
	$(BIN)/python -m pytest tests/unit

# The reconciler's unit tests on the botocore of Lambda's Python runtimes,
# older than the one its trimmed data and endpoint table are generated from:
# a small venv per version with only what those tests import. The two drift
# tests compare those files with the installed botocore: .venv's only.
LAMBDA_BOTOCORE_VERSIONS ?= 1.34.162 1.38.46
DRIFT_TESTS := $(addprefix --deselect tests/unit/lambda/test_botocore_data.py::,\
	test_committed_data_is_what_the_installed_botocore_generates\
	test_the_endpoint_table_is_what_a_full_client_of_the_installed_botocore_resolves)

test-lambda-botocore:
	set -e; for version in $(LAMBDA_BOTOCORE_VERSIONS); do \
		venv=build/botocore-$$version; \
		test -x $$venv/bin/pytest || { \
			$(PYTHON) -m venv $$venv; \
			$$venv/bin/pip install --quiet botocore==$$version boto3==$$version moto==5.2.5 pytest==9.2.0 PyYAML==6.0.3 jsonschema==4.26.0; \
		}; \
		echo "== botocore $$version"; \
		$$venv/bin/python -m pytest -q -p no:cacheprovider tests/unit/lambda $(DRIFT_TESTS); \
	done

# The modules' unit tests at the oldest boto3/botocore the collection supports
# (tests/unit/constraints.txt; README "Requirements"), in a venv of their own.
test-minimum-sdk:
	set -e; venv=build/minimum-sdk; \
	test -x $$venv/bin/pytest || { \
		$(PYTHON) -m venv $$venv; \
		$$venv/bin/pip install --quiet -c tests/unit/constraints.txt boto3 botocore moto \
			ansible-core==2.19.14 pytest==9.2.0 pytest-xdist==3.8.0 PyYAML==6.0.3 jsonschema==4.26.0; \
	}; \
	$$venv/bin/python -c 'import boto3, botocore; print("== boto3", boto3.__version__, "botocore", botocore.__version__)'; \
	$$venv/bin/python -m pytest -q -p no:cacheprovider tests/unit/plugins tests/unit/roles

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
demo: demo-venv collection
	$(BIN)/python playbooks/sandbox/demo.py

# The ECS Fargate Spot handler's flow on a local AWS emulator.
demo-ecs: venv collection
	$(BIN)/python playbooks/sandbox/ecs_spot_demo.py

# An emulator to play by hand (README: "To play by hand"). Prints the shell
# line that points boto3 at it: eval "$$(make -s sandbox)".
sandbox: demo-venv collection
	@$(BIN)/python playbooks/sandbox/sandbox.py start

sandbox-stop:
	@$(BIN)/python playbooks/sandbox/sandbox.py stop

clean:
	rm -rf build .pytest_cache .ruff_cache
