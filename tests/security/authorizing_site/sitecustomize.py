"""Loaded by every Python process of an ansible-playbook run whose PYTHONPATH
starts with this folder (tests/security/test_deployer_policy.py): each AWS
call is authorized against the deployer's exact policy (tests/security/deployer.py)."""

from tests.security.deployer import install

install()
