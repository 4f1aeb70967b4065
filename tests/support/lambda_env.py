"""A valid reconciler environment for tests that do not need AWS."""

import json

GOOD_ENV = {
    "NAT_ZERO_NAME": "demo",
    "NAT_ZERO_VPC_ID": "vpc-0123456789abcdef0",
    "NAT_ZERO_REGION": "us-east-1",
    "NAT_ZERO_CONFIG_VERSION": "v1",
    "NAT_ZERO_ZONES": json.dumps(
        {
            "us-east-1a": {
                "launch_template_id": "lt-0123456789abcdef0",
                "public_eni_id": "eni-0123456789abcdef0",
                "private_eni_id": "eni-0123456789abcdef1",
            }
        }
    ),
}
