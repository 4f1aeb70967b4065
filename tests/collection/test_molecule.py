"""The molecule scenario (extensions/molecule/default) passes end to end:
create, converge, idempotence, verify (a workload up and down through the
reconciler), destroy. No Docker: the default driver and a moto server."""

from __future__ import annotations

import os
import re

import pytest

from tests.support.runs import BIN, REPO, run

pytestmark = pytest.mark.integration

STEPS = ("destroy", "syntax", "create", "converge", "idempotence", "verify")


def test_molecule_default_scenario_passes_every_step(collection_link):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1", ANSIBLE_NOCOLOR="1")

    result = run([str(BIN / "molecule"), "test"], cwd=REPO, env=env, timeout=900)

    assert result.returncode == 0, result.tail(120)
    for step in STEPS:
        assert re.search(rf"default\W+{step}\W+Executed: Successful", result.output), step
