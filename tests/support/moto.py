"""boto3 clients of the moto server the tests run ansible against.

The server and the environment that points a command at it are the sandbox's
(playbooks/sandbox/emulator.py: `moto_server()`, `sandbox_credentials()`), so
the tests and `make sandbox` meet the same emulator; this module adds clients
of it in any region (moto is multi-region).
"""

from __future__ import annotations

from typing import Callable

import boto3

from playbooks.sandbox.emulator import SANDBOX_REGION

REGION = SANDBOX_REGION


def clients(endpoint: str, region: str = REGION) -> Callable[[str], object]:
    """clients(endpoint, region)('ec2') -> a boto3 client of the server in that region."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    return lambda service: session.client(service, endpoint_url=endpoint)
