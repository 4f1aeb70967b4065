"""The moto-server fixtures (a server, ansible-playbook runs, fixture VPCs)
for the deployer's lifecycle under its policy; started only by the tests that
ask for them."""

from tests.support.fixtures import *  # noqa: F403 (the moto-server fixtures)
