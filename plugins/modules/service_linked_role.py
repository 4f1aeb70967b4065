#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_linked_role
short_description: Make sure an AWS service's service-linked role exists
version_added: 0.1.0
description:
  - Creates the service-linked role of O(aws_service_name) when the account has none, for example
    C(AWSServiceRoleForEC2Spot) of V(spot.amazonaws.com).
  - A service creates its role itself the first time it needs it, but only when the caller may
    C(iam:CreateServiceLinkedRole). RunInstances of a Spot Instance in an account without the Spot role fails
    with C(AuthFailure.ServiceLinkedRoleCreationNotPermitted) for a caller without that right (the reconciler
    Lambda has none, by design); creating the role at deploy time, with the deployer's rights, avoids it.
  - The role is found by its path (C(/aws-service-role/<service>/)). When IAM answers that the name is
    taken (another run created it a moment ago), the role exists and nothing changed.
  - Never deletes a role. Other deployments and AWS itself rely on service-linked roles, and deleting one is
    an asynchronous task IAM refuses while the service uses it.
author:
  - natzero.aws maintainers (@natzero)
options:
  aws_service_name:
    description:
      - The service principal the role is linked to, for example V(spot.amazonaws.com).
    type: str
    required: true
  description:
    description:
      - The description of a role the module creates.
    type: str
    default: ""
extends_documentation_fragment:
  - natzero.aws.aws
notes:
  - Supports check mode.
  - Needs C(iam:ListRoles), and C(iam:CreateServiceLinkedRole) when the role is missing.
"""

EXAMPLES = r"""
- name: Spot Instances can be launched by a caller without IAM rights
  natzero.aws.service_linked_role:
    aws_service_name: spot.amazonaws.com
"""

RETURN = r"""
role_name:
  description: The role's name. Null in check mode when it would be created.
  returned: success
  type: str
  sample: AWSServiceRoleForEC2Spot
arn:
  description: The role's ARN. Null in check mode when it would be created.
  returned: success
  type: str
  sample: arn:aws:iam::123456789012:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot
created:
  description: Whether the module created (or, in check mode, would create) the role.
  returned: success
  type: bool
  sample: false
"""

from ansible_collections.natzero.aws.plugins.module_utils.aws import AWSModule, ClientError, ValidationError, is_error

# IAM's answer to creating a service-linked role that exists:
# InvalidInput "Service role name AWSServiceRoleForEC2Spot has been taken in this account, ...".
_TAKEN = "has been taken in this account"


def role_path(service):
    return "/aws-service-role/%s/" % service


def find_role(iam, service):
    for page in iam.get_paginator("list_roles").paginate(PathPrefix=role_path(service)):
        for role in page["Roles"]:
            if role.get("Path") == role_path(service):
                return role
    return None


def create_role(iam, service, description):
    """The new role, or None when IAM says it exists (created a moment ago, not listed yet)."""
    kwargs = {"AWSServiceName": service}
    if description:
        kwargs["Description"] = description
    try:
        return iam.create_service_linked_role(**kwargs)["Role"]
    except ClientError as exc:
        if is_error(exc, "InvalidInput") and _TAKEN in str(exc):
            return None
        raise


def ensure(module):
    service = module.params["aws_service_name"]
    if not service.endswith(".amazonaws.com") or service.startswith("."):
        raise ValidationError("aws_service_name %r is not a service principal (<service>.amazonaws.com)" % service)
    iam = module.client("iam")
    role = find_role(iam, service)
    created = False
    if role is None:
        if module.check_mode:
            return dict(changed=True, created=True, role_name=None, arn=None)
        role = create_role(iam, service, module.params["description"])
        created = role is not None
        role = role or find_role(iam, service)
    return dict(
        changed=created,
        created=created,
        role_name=(role or {}).get("RoleName"),
        arn=(role or {}).get("Arn"),
    )


def main():
    argument_spec = dict(
        aws_service_name=dict(type="str", required=True),
        description=dict(type="str", default=""),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure)


if __name__ == "__main__":
    main()
