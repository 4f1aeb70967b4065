# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    # The tag that marks a deployment's NAT instances (and Elastic IPs); the
    # reconciler's NAT_ZERO_NAT_TAG_KEY and NAT_ZERO_NAT_TAG_VALUE.
    NAT_TAG = r"""
options:
  nat_tag_key:
    description:
      - Key of the tag that marks NAT instances (the reconciler's E(NAT_ZERO_NAT_TAG_KEY); the role's
        C(nat_zero_nat_tag_key)).
    type: str
    default: nat-zero:managed
  nat_tag_value:
    description:
      - Value of the NAT tag.
    type: str
    default: "true"
"""

    # The tag that marks instances that are not workloads (they never keep a NAT up).
    IGNORE_TAG = r"""
options:
  ignore_tag_key:
    description:
      - Key of the tag that marks instances that are not workloads (the reconciler's E(NAT_ZERO_IGNORE_TAG_KEY);
        the role's C(nat_zero_ignore_tag_key)).
    type: str
    default: nat-zero:ignore
  ignore_tag_value:
    description:
      - Value of the ignore tag.
    type: str
    default: "true"
"""
