#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_role
short_description: An IAM role with its policies and, optionally, an instance profile
version_added: 0.1.0
description:
  - Manages an IAM role, its trust policy, its attached managed policies, its inline policies and an
    instance profile of the same name.
  - Policy documents are compared as IAM reads them (order of statements, actions and resources does not
    matter; C("x") equals C(["x"])), so a document written differently but meaning the same causes no change.
  - With O(state=absent), removes the role from its instance profiles (deleting the one of the same name),
    detaches and deletes its policies, then deletes the role.
  - Waits until IAM reports the new role (and instance profile). IAM propagates to other services a little
    later; consumers such as M(natzero.aws.lambda_function) retry while the role cannot be assumed yet.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The role name.
    type: str
    required: true
    aliases: [role_name]
  assume_role_service:
    description:
      - The service principals that may assume the role, for example V(lambda.amazonaws.com) or
        V(ec2.amazonaws.com). The module writes the trust policy from them.
      - One of O(assume_role_service) and O(assume_role_policy) is required to create the role. Neither set
        leaves the trust policy of an existing role as it is.
    type: list
    elements: str
  assume_role_policy:
    description:
      - A complete trust policy document (dict or JSON), instead of O(assume_role_service).
    type: raw
    aliases: [assume_role_policy_document]
  managed_policy_arns:
    description:
      - The managed policies to attach.
      - Not set leaves the attached managed policies as they are.
    type: list
    elements: str
    aliases: [managed_policies, managed_policy]
  purge_managed_policies:
    description:
      - Detach managed policies that O(managed_policy_arns) does not list. Applies only when
        O(managed_policy_arns) is set.
    type: bool
    default: true
    aliases: [purge_policies, purge_policy]
  inline_policies:
    description:
      - Inline policies, as a dictionary of policy name to policy document (dict or JSON).
      - Not set leaves the inline policies as they are.
    type: dict
  purge_inline_policies:
    description:
      - Delete inline policies that O(inline_policies) does not name. Applies only when O(inline_policies) is set.
    type: bool
    default: true
  instance_profile:
    description:
      - V(true) keeps an instance profile of the same name holding the role (for EC2), V(false) removes it.
      - Not set leaves an existing instance profile as it is (a new role gets none).
      - Unlike the C(create_instance_profile) option of M(amazon.aws.iam_role), V(false) deletes the instance profile.
    type: bool
  path:
    description:
      - The path of the role (and instance profile). It cannot change once the role exists.
      - Not set means V(/) for a new role and leaves an existing role's path as it is.
    type: str
    aliases: [path_prefix, prefix]
  description:
    description:
      - The role's description. Not set leaves it as it is.
    type: str
  max_session_duration:
    description:
      - Maximum session duration in seconds (3600 to 43200). Not set leaves it as it is (3600 for a new role).
    type: int
  state:
    description:
      - V(present) creates or updates the role, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - How many seconds to wait for IAM to report a new role or instance profile.
    type: int
    default: 120
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - An option left out leaves that part of an existing role as it is, as in amazon.aws.
seealso:
  - module: amazon.aws.iam_role
    description: The amazon.aws module for IAM roles (option names shared through aliases).
"""

EXAMPLES = r"""
- name: Role of the reconciler Lambda
  natzero.aws.iam_role:
    name: prod-nat-zero
    assume_role_service: lambda.amazonaws.com
    managed_policy_arns:
      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
    inline_policies:
      nat-zero:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [ec2:StartInstances, ec2:StopInstances, ec2:TerminateInstances]
            Resource: "*"
            Condition:
              StringEquals:
                aws:ResourceTag/nat-zero:managed: "true"
  register: lambda_role

- name: Role and instance profile of the NAT instances
  natzero.aws.iam_role:
    name: prod-nat-zero-nat
    assume_role_service: ec2.amazonaws.com
    managed_policy_arns:
      - arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore
    instance_profile: true
  register: nat_role

- name: Remove a role
  natzero.aws.iam_role:
    name: prod-nat-zero
    state: absent
"""

RETURN = r"""
arn:
  description: The role ARN. Null in check mode when it would be created, or when absent.
  returned: success
  type: str
  sample: arn:aws:iam::123456789012:role/prod-nat-zero
role_name:
  description: The role name.
  returned: success
  type: str
  sample: prod-nat-zero
role_id:
  description: The role's unique ID.
  returned: when the role exists
  type: str
  sample: AROAEXAMPLEEXAMPLE1234
instance_profile_arn:
  description: The instance profile ARN, or null without O(instance_profile).
  returned: success
  type: str
  sample: arn:aws:iam::123456789012:instance-profile/prod-nat-zero-nat
instance_profile_name:
  description: The instance profile name, or null without O(instance_profile).
  returned: success
  type: str
  sample: prod-nat-zero-nat
managed_policy_arns:
  description: The managed policies attached after the run.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]
iam_role:
  description:
    - The role as IAM describes it after the run, as amazon.aws.iam_role returns it (snake_case keys, tags as a
      dictionary, the trust policy document as IAM holds it), with its attached managed policies.
    - Null in check mode when the role would be created.
  returned: when O(state=present)
  type: dict
  sample:
    arn: arn:aws:iam::123456789012:role/prod-nat-zero
    role_name: prod-nat-zero
    role_id: AROAEXAMPLEEXAMPLE1234
    path: /
    create_date: "2026-01-01T00:00:00+00:00"
    max_session_duration: 3600
    assume_role_policy_document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: sts:AssumeRole,
                                  Principal: {Service: lambda.amazonaws.com}}]}
    tags: {team: platform}
    attached_policies: [{policy_arn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                         policy_name: AWSLambdaBasicExecutionRole}]
inline_policy_names:
  description: The inline policies after the run.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [nat-zero]
tags:
  description: The role's tags after the run.
  returned: when O(state=present)
  type: dict
  sample: {team: platform}
"""

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ValidationError,
    again_after,
    is_error,
    snake_resource,
    wait_with,
)
from ansible_collections.natzero.aws.plugins.module_utils.policy import (
    canonical_policy,
    parse_policy,
    policies_equal,
    policy_json,
)
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    compare_tags,
    dict_to_tags,
    requested_tags,
    tags_after,
    tags_argument_spec,
    tags_to_dict,
)


def trust_policy(params):
    """The trust policy the task asks for, or None when it leaves the role's as it is."""
    if params["assume_role_policy"] is not None:
        return parse_policy(params["assume_role_policy"])
    if not params["assume_role_service"]:
        return None
    services = sorted(params["assume_role_service"])
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": services[0] if len(services) == 1 else services},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def paginate(client, operation, key, **kwargs):
    items = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page[key])
    return items


class Role:
    def __init__(self, module):
        self.module = module
        self.iam = module.client("iam")
        self.name = module.params["name"]
        self.changed = False
        self.before = {}
        self.after = {}

    def change(self, call, **kwargs):
        """Record a change; make it unless in check mode."""
        self.changed = True
        if not self.module.check_mode:
            return call(**kwargs)
        return None

    def get_role(self):
        try:
            return self.iam.get_role(RoleName=self.name)["Role"]
        except ClientError as exc:
            if is_error(exc, "NoSuchEntity"):
                return None
            raise

    def get_instance_profile(self):
        try:
            return self.iam.get_instance_profile(InstanceProfileName=self.name)["InstanceProfile"]
        except ClientError as exc:
            if is_error(exc, "NoSuchEntity"):
                return None
            raise

    # -- present -------------------------------------------------------------

    def present(self):
        p = self.module.params
        trust = trust_policy(p)
        tags = requested_tags(p)
        role = self.get_role()
        if role is None:
            if trust is None:
                raise ValidationError(
                    "Role %s does not exist: assume_role_service or assume_role_policy is needed to create it"
                    % self.name
                )
            self.before = None
            role = self.create(trust, tags)
        else:
            self.update(role, trust, tags)
        self.ensure_managed_policies()
        self.ensure_inline_policies()
        profile = self.ensure_instance_profile(tags)
        has_profile = self.after["instance_profile"]
        return self.result(
            iam_role=self.described(role),
            arn=role["Arn"] if role else None,
            role_id=role["RoleId"] if role else None,
            instance_profile_arn=profile["Arn"] if profile else None,
            instance_profile_name=self.name if has_profile else None,
            managed_policy_arns=self.after["managed_policy_arns"],
            inline_policy_names=sorted(self.after["inline_policies"]),
            tags=self.after["tags"],
        )

    def create(self, trust, tags):
        p = self.module.params
        path = p["path"] or "/"
        self.after = {
            "path": path,
            "assume_role_policy": canonical_policy(trust),
            "description": p["description"],
            "tags": tags or {},
        }
        kwargs = dict(
            RoleName=self.name, Path=path, AssumeRolePolicyDocument=policy_json(trust), Tags=dict_to_tags(tags)
        )
        if p["description"]:
            kwargs["Description"] = p["description"]
        if p["max_session_duration"]:
            kwargs["MaxSessionDuration"] = p["max_session_duration"]
        role = self.change(self.iam.create_role, **kwargs)
        if role is None:
            return None
        wait_with(
            self.iam,
            "role_exists",
            "role %s to exist" % self.name,
            timeout=p["wait_timeout"],
            delay=2,
            RoleName=self.name,
        )
        return role["Role"]

    def update(self, role, trust, tags):
        p = self.module.params
        current_tags = tags_to_dict(paginate(self.iam, "list_role_tags", "Tags", RoleName=self.name))
        current_trust = canonical_policy(parse_policy(role["AssumeRolePolicyDocument"]))
        self.before = {
            "path": role["Path"],
            "assume_role_policy": current_trust,
            "description": role.get("Description"),
            "tags": current_tags,
        }
        self.after = {
            "path": role["Path"],
            "assume_role_policy": current_trust if trust is None else canonical_policy(trust),
            "description": role.get("Description") if p["description"] is None else p["description"],
            "tags": tags_after(current_tags, tags, p["purge_tags"]),
        }
        if p["path"] is not None and role["Path"] != p["path"]:
            raise ValidationError(
                "Role %s has path %s; IAM cannot change the path of a role (requested %s). "
                "Delete the role first (state=absent)." % (self.name, role["Path"], p["path"])
            )
        if trust is not None and not policies_equal(role["AssumeRolePolicyDocument"], trust):
            self.change(self.iam.update_assume_role_policy, RoleName=self.name, PolicyDocument=policy_json(trust))
        updates = {}
        if p["description"] is not None and (role.get("Description") or "") != p["description"]:
            updates["Description"] = p["description"]
        if p["max_session_duration"] and role.get("MaxSessionDuration") != p["max_session_duration"]:
            updates["MaxSessionDuration"] = p["max_session_duration"]
        if updates:
            # AWS's UpdateRole keeps what it is not given, but some emulators (moto) reset
            # MaxSessionDuration to 3600: send the current value so both keep it.
            updates.setdefault("MaxSessionDuration", role.get("MaxSessionDuration") or 3600)
            self.change(self.iam.update_role, RoleName=self.name, **updates)
        to_set, to_remove = compare_tags(current_tags, tags, p["purge_tags"])
        if to_remove:
            self.change(self.iam.untag_role, RoleName=self.name, TagKeys=to_remove)
        if to_set:
            self.change(self.iam.tag_role, RoleName=self.name, Tags=dict_to_tags(to_set))

    def attached_policy_arns(self):
        if self.module.check_mode and self.before is None:
            return []
        attached = paginate(self.iam, "list_attached_role_policies", "AttachedPolicies", RoleName=self.name)
        return sorted(a["PolicyArn"] for a in attached)

    def ensure_managed_policies(self):
        p = self.module.params
        current = self.attached_policy_arns()
        wanted = p["managed_policy_arns"]
        if self.before is not None:
            self.before["managed_policy_arns"] = current
        if wanted is None:
            self.after["managed_policy_arns"] = current
            return
        for arn in sorted(set(wanted) - set(current)):
            self.change(self.iam.attach_role_policy, RoleName=self.name, PolicyArn=arn)
        if p["purge_managed_policies"]:
            for arn in sorted(set(current) - set(wanted)):
                self.change(self.iam.detach_role_policy, RoleName=self.name, PolicyArn=arn)
            self.after["managed_policy_arns"] = sorted(set(wanted))
        else:
            self.after["managed_policy_arns"] = sorted(set(current) | set(wanted))

    def inline_policies(self):
        if self.module.check_mode and self.before is None:
            return {}
        names = paginate(self.iam, "list_role_policies", "PolicyNames", RoleName=self.name)
        return {name: self.iam.get_role_policy(RoleName=self.name, PolicyName=name)["PolicyDocument"] for name in names}

    def ensure_inline_policies(self):
        p = self.module.params
        current = {k: canonical_policy(parse_policy(v)) for k, v in self.inline_policies().items()}
        wanted = p["inline_policies"]
        if self.before is not None:
            self.before["inline_policies"] = current
        if wanted is None:
            self.after["inline_policies"] = current
            return
        for name, document in sorted(wanted.items()):
            desired = parse_policy(document)
            if not policies_equal(current.get(name), desired):
                self.change(
                    self.iam.put_role_policy, RoleName=self.name, PolicyName=name, PolicyDocument=policy_json(desired)
                )
        after = {k: canonical_policy(parse_policy(v)) for k, v in wanted.items()}
        if p["purge_inline_policies"]:
            for name in sorted(set(current) - set(wanted)):
                self.change(self.iam.delete_role_policy, RoleName=self.name, PolicyName=name)
        else:
            after = dict(current, **after)
        self.after["inline_policies"] = after

    def ensure_instance_profile(self, tags):
        p = self.module.params
        wanted = p["instance_profile"]
        profile = self.get_instance_profile()
        if self.before is not None:
            self.before["instance_profile"] = profile is not None
        self.after["instance_profile"] = profile is not None if wanted is None else wanted
        if wanted is None:
            return profile
        if not wanted:
            if profile is not None:
                self.delete_instance_profile(profile)
            return None
        if profile is None:
            created = self.change(
                self.iam.create_instance_profile,
                InstanceProfileName=self.name,
                Path=p["path"] or self.after["path"],
                Tags=dict_to_tags(tags),
            )
            if created is None:
                return None
            profile = created["InstanceProfile"]
            wait_with(
                self.iam,
                "instance_profile_exists",
                "instance profile %s to exist" % self.name,
                timeout=p["wait_timeout"],
                delay=2,
                InstanceProfileName=self.name,
            )
        held = [r["RoleName"] for r in profile.get("Roles") or ()]
        for other in held:
            if other != self.name:
                self.change(self.iam.remove_role_from_instance_profile, InstanceProfileName=self.name, RoleName=other)
        if self.name not in held:
            self.change(self.iam.add_role_to_instance_profile, InstanceProfileName=self.name, RoleName=self.name)
        return profile

    def delete_instance_profile(self, profile):
        for role in profile.get("Roles") or ():
            self.change(
                self.iam.remove_role_from_instance_profile,
                InstanceProfileName=profile["InstanceProfileName"],
                RoleName=role["RoleName"],
            )
        self.change(self.iam.delete_instance_profile, InstanceProfileName=profile["InstanceProfileName"])

    # -- absent --------------------------------------------------------------

    def absent(self):
        # The run that loses a race to another removal meets NoSuchEntity mid-way.
        return again_after("NoSuchEntity", self.remove)

    def remove(self):
        role = self.get_role()
        self.after = None
        own_profile = self.get_instance_profile()
        if own_profile is not None:
            self.delete_instance_profile(own_profile)
        if role is None:
            self.before = None
            return self.result(arn=None, instance_profile_arn=None, instance_profile_name=None)
        self.before = {"arn": role["Arn"], "path": role["Path"]}
        profiles = paginate(self.iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=self.name)
        for profile in profiles:
            if profile["InstanceProfileName"] != self.name:
                self.change(
                    self.iam.remove_role_from_instance_profile,
                    InstanceProfileName=profile["InstanceProfileName"],
                    RoleName=self.name,
                )
        for arn in self.attached_policy_arns():
            self.change(self.iam.detach_role_policy, RoleName=self.name, PolicyArn=arn)
        for name in paginate(self.iam, "list_role_policies", "PolicyNames", RoleName=self.name):
            self.change(self.iam.delete_role_policy, RoleName=self.name, PolicyName=name)
        self.change(self.iam.delete_role, RoleName=self.name)
        return self.result(arn=None, instance_profile_arn=None, instance_profile_name=None)

    def described(self, role):
        """The role as amazon.aws.iam_role returns it (what IAM says after the run; the plan in check mode)."""
        if role is None:
            return None
        if not self.module.check_mode:
            role = self.get_role()
        facts = snake_resource(role, tags=self.after["tags"], ignore=("AssumeRolePolicyDocument",))
        facts["attached_policies"] = [
            {"policy_arn": arn, "policy_name": arn.rsplit("/", 1)[-1]} for arn in self.after["managed_policy_arns"]
        ]
        return facts

    def result(self, **facts):
        result = dict(changed=self.changed, role_name=self.name, **facts)
        if self.module.diff_mode:
            result["diff"] = {"before": self.before or {}, "after": self.after or {}}
        return result


def validate(params):
    path = params["path"]
    if path is not None and not (path.startswith("/") and path.endswith("/")):
        raise ValidationError("path %r must begin and end with '/'" % path)
    if params["assume_role_policy"] is not None:
        try:
            parse_policy(params["assume_role_policy"])
        except (ValueError, TypeError) as exc:
            raise ValidationError("assume_role_policy is not a policy document: %s" % exc) from exc
    for name, document in (params["inline_policies"] or {}).items():
        try:
            parse_policy(document)
        except (ValueError, TypeError) as exc:
            raise ValidationError("inline_policies[%r] is not a policy document: %s" % (name, exc)) from exc


def ensure(module):
    validate(module.params)
    if module.params["state"] == "absent":
        return Role(module).absent()
    # The run that loses a race to another creation meets EntityAlreadyExists.
    return again_after("EntityAlreadyExists", lambda: Role(module).present())


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["role_name"]),
        assume_role_service=dict(type="list", elements="str"),
        assume_role_policy=dict(type="raw", aliases=["assume_role_policy_document"]),
        managed_policy_arns=dict(type="list", elements="str", aliases=["managed_policies", "managed_policy"]),
        purge_managed_policies=dict(type="bool", default=True, aliases=["purge_policies", "purge_policy"]),
        inline_policies=dict(type="dict"),
        purge_inline_policies=dict(type="bool", default=True),
        instance_profile=dict(type="bool"),
        path=dict(type="str", aliases=["path_prefix", "prefix"]),
        description=dict(type="str"),
        max_session_duration=dict(type="int"),
        **tags_argument_spec(),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait_timeout=dict(type="int", default=120),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("assume_role_service", "assume_role_policy")],
    )
    module.run(ensure, resource="IAM role %s" % module.params["name"])


if __name__ == "__main__":
    main()
