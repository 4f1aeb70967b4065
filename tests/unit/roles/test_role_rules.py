"""The role's input checks and the modules' state one rule each: they must agree.

The role checks gp3 limits and the deployment name in Jinja (validate.yml,
vars/main.yml) before anything changes; nat_launch_template and the nat_*
modules check them in Python (module_utils). These tests evaluate the role's
own expressions over a grid around every limit and compare the verdicts.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.natzero.aws.plugins.module_utils.ec2 import gp3_error
from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import NAME_PATTERN, valid_name

try:  # ansible-core 2.19 renders only templates marked as trusted
    from ansible.template import trust_as_template
except ImportError:  # older ansible-core trusts every string

    def trust_as_template(text):
        return text


ROLE = Path(__file__).resolve().parents[3] / "roles" / "nat_zero"

SIZES = (0, 1, 6, 10, 160, 65536, 65537)
IOPS = (2999, 3000, 3001, 5000, 16000, 16001, 80000, 80001)
THROUGHPUTS = (124, 125, 126, 750, 751, 1000, 1001, 2000, 2001)


def role_checks():
    """name -> the `ok` expression of each deployment-wide check in validate.yml."""
    tasks = yaml.safe_load((ROLE / "tasks" / "validate.yml").read_text())
    checks = next(t for t in tasks if t["name"] == "Check the deployment-wide inputs")["loop"]
    return {check["name"]: check["ok"] for check in checks}


def role_accepts(expression, variables):
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(expression.strip())) in (True, "True")


@pytest.fixture(scope="module")
def checks():
    return role_checks()


def test_the_role_and_nat_launch_template_accept_the_same_gp3_volumes(checks):
    names = ("nat_zero_block_device_size", "nat_zero_block_device_iops", "nat_zero_block_device_throughput")
    disagreements = []
    for size, iops, throughput in itertools.product(SIZES, IOPS, THROUGHPUTS):
        variables = dict(zip(names, (size, iops, throughput)))
        role_ok = all(role_accepts(checks[name], variables) for name in names)
        module_ok = gp3_error(size, iops, throughput) == ""
        if role_ok != module_ok:
            disagreements.append((size, iops, throughput, role_ok, module_ok))

    assert disagreements == []


def test_gp3_limits_are_those_aws_documents_today():
    assert gp3_error(65536, 80000, 2000) == ""
    assert gp3_error(1, 3000, 125) == ""  # the baseline needs no ratio
    assert "iops 3001" in gp3_error(6, 3001, 125)  # 500 IOPS per GiB
    assert "throughput 751" in gp3_error(10, 3000, 751)  # 0.25 MiB/s per IOPS
    assert gp3_error(10, 80001, 125).startswith("iops 80001 is out of range")


def test_the_role_and_the_modules_share_one_name_rule(checks):
    role_pattern = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["nat_zero__name_pattern"]
    assert role_pattern == NAME_PATTERN
    for name in ("prod", "a", "x" * 40, "x" * 41, "team.prod", "team_prod-2", "-prod", ""):
        variables = {"nat_zero_name": name, "nat_zero__name_pattern": role_pattern}
        assert role_accepts(checks["nat_zero_name"], variables) == valid_name(name), name
