# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    # The connection options every natzero.aws module accepts.
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region to use.
      - If not set, the E(AWS_REGION), E(AWS_DEFAULT_REGION) or E(EC2_REGION) environment variable, then the
        region of the O(profile) (or the default profile).
    type: str
    aliases: [aws_region, ec2_region]
  profile:
    description:
      - A named profile from the AWS shared credentials and config files.
      - If not set, boto3 uses the E(AWS_PROFILE) environment variable, then the default credential chain.
    type: str
    aliases: [aws_profile]
  endpoint_url:
    description:
      - Send API requests to this URL instead of the service's AWS endpoint, for example a moto server
        for tests (V(http://127.0.0.1:5000)).
      - If not set, boto3 honours E(AWS_ENDPOINT_URL) and the service-specific E(AWS_ENDPOINT_URL_<SERVICE>).
    type: str
    aliases: [aws_endpoint_url, ec2_url]
  access_key:
    description:
      - AWS access key ID. Requires O(secret_key).
      - If not set, boto3's credential chain applies (E(AWS_ACCESS_KEY_ID), profile, instance role, ...).
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
  secret_key:
    description:
      - AWS secret access key. Requires O(access_key).
      - If not set, boto3's credential chain applies (E(AWS_SECRET_ACCESS_KEY), profile, instance role, ...).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
  session_token:
    description:
      - AWS session token, for temporary credentials.
      - If not set, boto3 uses E(AWS_SESSION_TOKEN) when it takes credentials from the environment.
    type: str
    aliases: [aws_session_token, security_token, aws_security_token]
  validate_certs:
    description:
      - Verify the TLS certificate of the endpoint.
    type: bool
    default: true
requirements:
  - python >= 3.9
  - boto3 >= 1.28
  - botocore >= 1.31
notes:
  - Throttled requests are retried with exponential backoff and jitter (botocore standard retry mode,
    up to 10 attempts).
  - AWS errors fail the task with one message naming the API operation and the AWS error code.
"""

    # Tags on a taggable resource.
    TAGS = r"""
options:
  tags:
    description:
      - Tags for the resource, as a dictionary.
      - The tags the module sets itself (for example C(Name) or C(nat-zero:*)) take precedence over the same keys here.
    type: dict
    default: {}
  purge_tags:
    description:
      - Remove tags the resource has but O(tags) (and the module's own tags) do not name.
      - Tags whose keys start with C(aws:) are never removed.
    type: bool
    default: true
"""
