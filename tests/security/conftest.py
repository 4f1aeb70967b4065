"""The integration fixtures (a moto server, ansible-playbook runs, fixture
VPCs) for the deployer's lifecycle under its policy; started only by the
tests that ask for them."""

from tests.integration.conftest import (  # noqa: F401 (fixtures)
    aws,
    aws_env,
    collection_link,
    make_vpc,
    moto_endpoint,
    run_playbook,
)
