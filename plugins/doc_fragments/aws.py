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
      - If not set, the E(AWS_REGION) or E(AWS_DEFAULT_REGION) environment variable, then the region of the
        O(profile) (or the default profile).
    type: str
    aliases: [aws_region]
  profile:
    description:
      - A named profile from the AWS shared credentials and config files.
      - If not set, the E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE) environment variable, then the default
        credential chain.
      - Cannot be used together with O(access_key), O(secret_key) or O(session_token) (or their environment
        variables); the task then fails before any AWS call.
    type: str
    aliases: [aws_profile]
  endpoint_url:
    description:
      - Send API requests to this URL instead of the service's AWS endpoint, for example a moto server
        for tests (V(http://127.0.0.1:5000)).
      - If not set, the E(AWS_URL) environment variable; then boto3 honours E(AWS_ENDPOINT_URL) and the
        service-specific E(AWS_ENDPOINT_URL_<SERVICE>).
    type: str
    aliases: [aws_endpoint_url]
  access_key:
    description:
      - AWS access key ID. Requires O(secret_key).
      - If not set, the E(AWS_ACCESS_KEY_ID) or E(AWS_ACCESS_KEY) environment variable, then boto3's
        credential chain (profile, instance role, ...).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key. Requires O(access_key).
      - If not set, the E(AWS_SECRET_ACCESS_KEY) or E(AWS_SECRET_KEY) environment variable, then boto3's
        credential chain (profile, instance role, ...).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS session token, for temporary credentials.
      - If not set, the E(AWS_SESSION_TOKEN) environment variable.
    type: str
    aliases: [aws_session_token]
  validate_certs:
    description:
      - Verify the TLS certificate of the endpoint. V(false) is strongly discouraged; prefer O(aws_ca_bundle).
    type: bool
    default: true
  aws_ca_bundle:
    description:
      - A CA bundle to verify the endpoint's TLS certificate with, instead of botocore's.
      - If not set, the E(AWS_CA_BUNDLE) environment variable, then the profile's C(ca_bundle).
      - Ignored when O(validate_certs=false).
    type: path
  aws_config:
    description:
      - Settings of the botocore client, as keyword arguments of C(botocore.config.Config), for example
        C(connect_timeout), C(read_timeout) or C(proxies).
      - They override the module's own (standard retry mode, 10 attempts; its user agent suffix).
    type: dict
  debug_botocore_endpoint_logs:
    description:
      - Return C(resource_actions), the list of C(<service>:<Operation>) API calls the task made.
      - If not set, the E(ANSIBLE_DEBUG_BOTOCORE_LOGS) environment variable.
    type: bool
    default: false
requirements:
  - python >= 3.9
  - boto3 >= 1.28
  - botocore >= 1.31
notes:
  - Throttled requests are retried with exponential backoff and jitter (botocore standard retry mode,
    up to 10 attempts).
  - AWS errors fail the task with one message naming the API operation and the AWS error code.
  - The connection options have the names, aliases and environment variables of amazon.aws 10 and later,
    so a C(module_defaults) dictionary written for C(group/amazon.aws.aws) works for C(group/natzero.aws.aws)
    unchanged. ansible-core's own C(group/aws) does not include third-party collections such as this one, so
    set the defaults under C(group/natzero.aws.aws).
"""

    # Tags on a taggable resource.
    TAGS = r"""
options:
  tags:
    description:
      - Tags for the resource, as a dictionary.
      - Not set leaves the resource's tags as they are (a new resource gets only the module's own tags, if any).
      - The tags the module sets itself (for example C(Name) or C(nat-zero:*)) take precedence over the same keys here.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - Remove tags the resource has but O(tags) (and the module's own tags) do not name.
      - Applies only when O(tags) is set. Tags whose keys start with C(aws:) are never removed.
    type: bool
    default: true
"""
