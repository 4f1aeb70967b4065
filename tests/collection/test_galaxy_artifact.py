"""`ansible-galaxy collection build` makes an artifact a user can install and
run: nothing in it that only develops or tests the collection, and, installed
into an empty collections path, it deploys and tears down on its own (roles and
modules by FQCN, no checkout anywhere on the path)."""

from __future__ import annotations

import json
import os
import re
import tarfile
from pathlib import Path

import pytest
import yaml

from playbooks.sandbox.inventory import deployment_resources, leftovers
from tests.collection.conftest import ansible_env, module_names, write_yaml
from tests.support.readme import readme_block, run_block
from tests.support.runs import BIN, REPO, run

pytestmark = pytest.mark.integration

NAME = "galaxy"
IGNORE_FILE_NOTE = re.compile(
    r"^WARNING: Ignore files skip ansible-test sanity tests, found ignore-[\d.]+\.txt with \d+ statement\(s\)$"
)
# tests/sanity/ and tests/config.yml ship: ansible-test sanity on the installed collection reads them.
SHIPPED_TESTS = ("tests/sanity", "tests/config.yml")
LEFT_OUT = ("tests/", "benchmarks/", "tools/", "build/", "extensions/", "playbooks/sandbox/", "changelogs/fragments/")
CACHES = ("__pycache__", ".pyc", ".pytest_cache", ".ruff_cache", ".venv", ".git/", ".tar.gz")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    output = tmp_path_factory.mktemp("artifact")
    run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(output), str(REPO)],
        cwd=output,
        env=ansible_env(output / "unused"),
    ).assert_ok()
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    path = output / f"natzero-aws-{version}.tar.gz"
    assert path.is_file()
    return path


@pytest.fixture(scope="module")
def installed(artifact, tmp_path_factory):
    """The artifact installed into an empty collections path: (collections path, scratch dir)."""
    scratch = tmp_path_factory.mktemp("installed")
    collections = scratch / "collections"
    env = ansible_env(collections)
    run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(collections), str(artifact)],
        cwd=scratch,
        env=env,
    ).assert_ok()
    return collections, scratch


def members(artifact):
    with tarfile.open(artifact) as tar:
        return [m.name for m in tar.getmembers()]


def test_the_artifact_holds_no_tests_benchmarks_or_caches(artifact):
    names = members(artifact)
    left_out = [n for n in names if n.startswith(LEFT_OUT) and not n.startswith(SHIPPED_TESTS)]
    assert left_out + [n for n in names if any(c in n for c in CACHES)] == []


def test_the_artifact_holds_what_runs_on_a_controller(artifact):
    names = set(members(artifact))
    expected = {f"plugins/modules/{m}.py" for m in module_names()} | {
        "MANIFEST.json",
        "FILES.json",
        "README.md",
        "LICENSE",
        "CHANGELOG.rst",
        "changelogs/changelog.yaml",
        "meta/runtime.yml",
        "plugins/doc_fragments/aws.py",
        "roles/nat_zero/meta/argument_specs.yml",
        "roles/nat_zero/meta/main.yml",
        "roles/nat_zero/README.md",
        "roles/nat_zero/tasks/main.yml",
        "playbooks/site.yml",
        "playbooks/teardown.yml",
        "examples/vars.example.yml",
        "lambda_src/nat_zero/handler.py",
        "roles/ecs_spot_handler/README.md",
        "roles/ecs_spot_handler/meta/main.yml",
        "roles/ecs_spot_handler/meta/argument_specs.yml",
        "roles/ecs_spot_handler/tasks/main.yml",
        "playbooks/ecs_spot_handler.yml",
        "lambda_src/ecs_spot_handler/handler.py",
        "tests/config.yml",
    }
    expected |= {"tests/sanity/ignore-%s.txt" % version for version in supported_core_versions()}
    assert expected - names == set()


def test_only_plays_are_under_playbooks(artifact):
    """Galaxy lints every YAML file under playbooks/ as a playbook."""
    playbooks = [n for n in members(artifact) if n.startswith("playbooks/") and n.endswith((".yml", ".yaml"))]
    plays = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "playbooks").glob("*.yml"))
    assert sorted(playbooks) == plays
    assert {"playbooks/site.yml", "playbooks/teardown.yml", "playbooks/verify.yml"} <= set(plays)
    for play in plays:
        assert isinstance(yaml.safe_load((REPO / play).read_text()), list), f"{play} is not a list of plays"


def test_galaxy_importer_accepts_the_artifact_without_an_error_or_warning(artifact, tmp_path):
    """The check Galaxy runs on every upload (galaxy-importer: ansible-doc on
    every plugin, role metadata and README, ansible-lint), offline; its
    ansible-test step, which needs a container runtime, stays off."""
    scratch = tmp_path / "importer"
    (scratch / "tmp").mkdir(parents=True)
    env = ansible_env(scratch / "collections")
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(scratch),
        # Environment overrides of galaxy_importer.config.Config; no config file read.
        GALAXY_IMPORTER_CONFIG=str(scratch / "none.cfg"),
        GALAXY_IMPORTER_RUN_ANSIBLE_TEST="false",
        GALAXY_IMPORTER_RUN_ANSIBLE_LINT="true",
        GALAXY_IMPORTER_OFFLINE_ANSIBLE_LINT="true",
        GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=str(scratch / "ansible-tmp"),
        GALAXY_IMPORTER_TMP_ROOT_DIR=str(scratch / "tmp"),
    )
    result = run([str(BIN / "python"), "-m", "galaxy_importer.main", str(artifact)], cwd=scratch, env=env)
    complaints = [line for line in result.output.splitlines() if re.search(r"\b(ERROR|WARNING)\b", line)]
    # The importer notes every shipped sanity ignore file (Automation Hub's
    # certification reads them from the artifact, so they ship); the only
    # statements they may hold are the license ignores checked below.
    ignore_notes = [line for line in complaints if IGNORE_FILE_NOTE.match(line)]
    assert [line for line in complaints if line not in ignore_notes] == [], result.output
    assert len(ignore_notes) == len(list((REPO / "tests" / "sanity").glob("ignore-*.txt"))), result.output
    assert result.returncode == 0, result.output
    assert "ansible-lint run complete" in result.output, result.output
    assert "Importer processing completed successfully" in result.output, result.output


def supported_core_versions():
    """The ansible-core minor versions tests/sanity has ignore files for, which must cover meta/runtime.yml's."""
    import yaml

    minimum = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["requires_ansible"].lstrip(">=")
    versions = sorted(p.stem[len("ignore-") :] for p in (REPO / "tests" / "sanity").glob("ignore-*.txt"))
    assert versions[0] == ".".join(minimum.split(".")[:2]), "no ignore file for the oldest supported ansible-core"
    return versions


def test_the_installed_collection_is_the_one_ansible_finds(installed):
    collections, scratch = installed
    listed = run(
        [str(BIN / "ansible-galaxy"), "collection", "list", "natzero.aws", "--format", "json"],
        cwd=scratch,
        env=ansible_env(collections),
    ).assert_ok()
    found = json.loads(listed.output)
    assert list(found) == [str(collections / "ansible_collections")]


def test_the_installed_collection_deploys_and_tears_down_by_fqcn(installed, make_vpc, aws, aws_env):
    collections, scratch = installed
    variables = make_vpc(NAME, second_octet=62, zones=("us-east-1a",))
    playbook = [
        {
            "name": "Deploy with the installed collection",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "roles": [{"role": "natzero.aws.nat_zero"}],
            "tasks": [
                {
                    "name": "Read the deployment back",
                    "natzero.aws.nat_zero_info": {
                        "name": NAME,
                        "vpc_id": "{{ nat_zero_vpc_id }}",
                        "availability_zones": "{{ nat_zero_availability_zones }}",
                        "route_table_ids": "{{ nat_zero_private_route_table_ids }}",
                    },
                    "register": "deployment",
                },
                {
                    "name": "Every AZ's default route points at its NAT's private ENI",
                    "ansible.builtin.assert": {
                        "that": [
                            "deployment.zones | length == nat_zero_availability_zones | length",
                            "deployment.zones.values() | map(attribute='route_target')"
                            " | select('match', '^eni-') | list | length == nat_zero_availability_zones | length",
                        ]
                    },
                },
            ],
        },
        {
            "name": "Tear down with the installed collection",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "roles": [{"role": "natzero.aws.nat_zero", "vars": {"nat_zero_state": "absent"}}],
        },
    ]
    path = write_yaml(scratch / "deploy_and_teardown.yml", playbook)
    vars_file = write_yaml(scratch / "vars.yml", variables)
    result = run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(path), "-e", f"@{vars_file}"],
        cwd=scratch,
        env=ansible_env(collections, aws_env),
        timeout=900,
    )

    result.assert_ok()
    assert "natzero.aws.nat_zero : " in result.output
    assert leftovers(deployment_resources(aws, NAME, variables["nat_zero_vpc_id"])) == {}


def _artifact_readme(collections) -> Path:
    """The README galaxy.yml names for the artifact (what Galaxy shows), as installed."""
    installed = collections / "ansible_collections" / "natzero" / "aws"
    return installed / yaml.safe_load((installed / "MANIFEST.json").read_text())["collection_info"]["readme"]


def test_the_artifact_readme_speaks_to_a_user_of_the_artifact(installed):
    collections, _ = installed
    text = _artifact_readme(collections).read_text()
    # No command of the checkout (make targets, .venv, the sandbox) that the artifact lacks.
    assert not re.search(r"^\s*make |\.venv/|playbooks/sandbox", text, re.M)
    assert "ansible-playbook natzero.aws.site -e @vars.yml" in text


def test_the_artifact_readme_commands_deploy_and_tear_down_as_written(installed, make_vpc, aws, aws_env):
    collections, scratch = installed
    variables = make_vpc("readme", second_octet=63, zones=("us-east-1a",))
    write_yaml(scratch / "vars.yml", variables)
    env = {**ansible_env(collections, aws_env), "PATH": f"{BIN}:/usr/bin:/bin"}

    result = run_block(readme_block("installed", _artifact_readme(collections)), cwd=scratch, env=env).assert_ok()

    recaps = re.findall(r"^localhost\s*:.*changed=(\d+)", result.output, re.M)
    assert len(recaps) == 2 and int(recaps[0]) > 0, result.tail()
    assert leftovers(deployment_resources(aws, "readme", variables["nat_zero_vpc_id"])) == {}


def test_the_readme_installation_commands_build_install_deploy_and_tear_down_as_written(
    make_vpc, aws, aws_env, tmp_path
):
    """README "Installation": build in a fresh checkout, install, then run the
    installed collection's playbooks from a directory of the user's own."""
    from tests.support.readme import clean_environment, user_checkout

    checkout = user_checkout(tmp_path / "checkout")
    home = tmp_path / "home"
    home.mkdir()
    env = clean_environment(home, PATH=f"{BIN}:/usr/bin:/bin")

    run_block(readme_block("install"), cwd=checkout, env=env).assert_ok()

    assert (home / ".ansible" / "collections" / "ansible_collections" / "natzero" / "aws" / "MANIFEST.json").is_file()

    mine = tmp_path / "my-vpc"
    mine.mkdir()
    variables = make_vpc("install", second_octet=64, zones=("us-east-1a",))
    write_yaml(mine / "vars.yml", variables)
    aws_settings = {key: value for key, value in aws_env.items() if key.startswith("AWS_")}

    result = run_block(readme_block("installed"), cwd=mine, env={**env, **aws_settings}).assert_ok()

    recaps = re.findall(r"^localhost\s*:.*changed=(\d+).*failed=(\d+)", result.output, re.M)
    assert len(recaps) == 2 and int(recaps[0][0]) > 0 and recaps[0][1] == recaps[1][1] == "0", result.tail()
    assert leftovers(deployment_resources(aws, "install", variables["nat_zero_vpc_id"])) == {}


def test_every_sanity_ignore_file_ignores_only_the_license_header_of_each_module():
    """The one ignore the certification rules allow an Apache-2.0 collection,
    the same for every ansible-core version, one line per module (and per
    inventory plugin, which validate-modules checks too)."""
    plugins = sorted(
        str(p.relative_to(REPO))
        for kind in ("inventory", "modules")
        for p in (REPO / "plugins" / kind).glob("*.py")
        if p.name != "__init__.py"
    )
    expected = [f"{path} validate-modules:missing-gplv3-license" for path in plugins]
    for ignore_file in sorted((REPO / "tests" / "sanity").glob("ignore-*.txt")):
        statements = [line.split(" #")[0].strip() for line in ignore_file.read_text().splitlines() if line.strip()]
        assert statements == expected, ignore_file.name
