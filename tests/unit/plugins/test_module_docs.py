"""Every module's documentation renders and matches its argument spec."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils import basic

REPO_ROOT = Path(__file__).resolve().parents[3]

MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")


@pytest.fixture(scope="module")
def rendered(collections_root):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_root), ANSIBLE_NOCOLOR="1")
    names = ["natzero.aws.%s" % m for m in MODULES]
    proc = subprocess.run(
        [str(ANSIBLE_DOC), "-t", "module", "-j", *names],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc


def test_ansible_doc_renders_every_module_without_warnings(rendered):
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stderr.strip() == ""
    docs = json.loads(rendered.stdout)
    for module in MODULES:
        entry = docs["natzero.aws.%s" % module]
        assert entry["doc"]["short_description"]
        assert entry["examples"].strip()
        assert entry["return"]
        assert "region" in entry["doc"]["options"], "the natzero.aws.aws fragment is missing"


class _Spec(Exception):
    def __init__(self, spec):
        self.spec = spec


def argument_spec(module_name, monkeypatch):
    def capture(self, argument_spec, **kwargs):
        raise _Spec(argument_spec)

    monkeypatch.setattr(basic.AnsibleModule, "__init__", capture)
    module = importlib.import_module("ansible_collections.natzero.aws.plugins.modules.%s" % module_name)
    with pytest.raises(_Spec) as info:
        module.main()
    return info.value.spec


@pytest.mark.parametrize("module_name", MODULES)
def test_documented_options_match_the_argument_spec(module_name, rendered, monkeypatch):
    spec = argument_spec(module_name, monkeypatch)
    documented = json.loads(rendered.stdout)["natzero.aws.%s" % module_name]["doc"]["options"]

    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc.get("type", "str") == option.get("type", "str"), name
        assert doc.get("default") == option.get("default"), name
        assert sorted(doc.get("choices") or []) == sorted(option.get("choices") or []), name
        assert sorted(doc.get("aliases") or []) == sorted(option.get("aliases") or []), name
        assert bool(doc.get("required")) == bool(option.get("required")), name
        if option.get("type") == "list":
            assert doc.get("elements") == option.get("elements"), name


@pytest.mark.parametrize("module_name", MODULES)
def test_examples_and_return_are_valid_yaml(module_name):
    module = importlib.import_module("ansible_collections.natzero.aws.plugins.modules.%s" % module_name)
    assert isinstance(yaml.safe_load(module.EXAMPLES), list)
    assert isinstance(yaml.safe_load(module.RETURN), dict)


def returns_without_sample(returns, prefix=""):
    """Every return value, nested ones included, that shows no sample."""
    missing = []
    for key, value in (returns or {}).items():
        if "sample" not in value:
            missing.append(prefix + key)
        missing.extend(returns_without_sample(value.get("contains"), "%s%s." % (prefix, key)))
    return missing


@pytest.mark.parametrize("module_name", MODULES)
def test_every_return_value_has_a_sample(module_name):
    module = importlib.import_module("ansible_collections.natzero.aws.plugins.modules.%s" % module_name)

    assert returns_without_sample(yaml.safe_load(module.RETURN)) == []
