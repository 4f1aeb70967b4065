#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_launch_template
short_description: The launch template of one AZ's NAT instance
version_added: 0.1.0
description:
  - Manages the EC2 launch template C(<name>-nat-<az>) the reconciler launches NAT instances from.
  - The template holds the AMI, instance type, market options, an instance profile, the user data (the NAT
    bootstrap), IMDSv2 (tokens required, hop limit 1), an encrypted gp3 root volume on the image's root device
    (O(root_device_name)), no key pair, and the tags of every instance and volume launched from it (the NAT tag, C(Name),
    C(nat-zero:deployment), C(nat-zero:az), C(nat-zero:config-version)).
  - The template names no network interfaces. The reconciler names the AZ's persistent ENIs
    (M(natzero.aws.nat_network)) in its RunInstances call.
  - The config version is the first 16 hex digits of the SHA-256 of the template content that needs a new
    instance (image, instance type, market, volume, metadata options, instance profile, user data), leaving
    out the tags. Identical input gives the same version in every AZ; the reconciler replaces a NAT whose
    C(nat-zero:config-version) tag differs.
  - A new template version is created only when the content changes, and is made the default version.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The deployment name.
    type: str
    required: true
  availability_zone:
    description:
      - The availability zone the template is for.
    type: str
    required: true
  vpc_id:
    description:
      - The VPC of the deployment. The template is tagged with it, and a template of the same name tagged with
        another VPC is never touched.
    type: str
    required: true
  image_id:
    description:
      - The AMI, for example from M(natzero.aws.nat_ami_info).
      - Required with O(state=present).
    type: str
  instance_type:
    description:
      - The instance type.
    type: str
    default: t4g.nano
  market_type:
    description:
      - V(on-demand), or V(spot) for a one-time Spot Instance that is terminated on interruption.
    type: str
    choices: [on-demand, spot]
    default: on-demand
  root_device_name:
    description:
      - The device name of the image's root volume, for example from M(natzero.aws.nat_ami_info)
        (RV(natzero.aws.nat_ami_info#module:root_device_name)). The root volume settings apply to it; on any
        other name EC2 would add an empty extra volume and boot the image's root with its own settings.
    type: str
    default: /dev/xvda
  block_device_size:
    description:
      - Size of the gp3 root volume in GiB (1 to 65536). EC2 refuses a size smaller than the image's root snapshot
        (RV(natzero.aws.nat_ami_info#module:root_snapshot_size)).
    type: int
    default: 10
  block_device_iops:
    description:
      - Provisioned IOPS of the root volume. V(3000), or more up to 80000 and 500 per GiB of
        O(block_device_size).
    type: int
    default: 3000
  block_device_throughput:
    description:
      - Throughput of the root volume in MiB/s. V(125), or more up to 2000 and 0.25 MiB/s per IOPS of
        O(block_device_iops).
    type: int
    default: 125
  encrypt_root_volume:
    description:
      - Encrypt the root volume.
    type: bool
    default: true
  kms_key_id:
    description:
      - The KMS key that encrypts the root volume (key ID, key ARN, alias name or alias ARN).
      - Without it, the AWS managed EBS key V(alias/aws/ebs), not the account's default EBS key. When the
        account default is a customer managed key, whoever launches or starts the NAT (the reconciler) needs
        grants on it, and without them EC2 takes the NAT from pending to terminated.
      - A customer managed key must let the launching principal use it (C(kms:CreateGrant) for AWS
        resources, C(kms:Decrypt), C(kms:DescribeKey), C(kms:GenerateDataKeyWithoutPlaintext),
        C(kms:ReEncrypt*)) through its key policy or, if the key policy delegates to IAM, an IAM policy.
      - Only with O(encrypt_root_volume=true).
    type: str
  instance_profile_arn:
    description:
      - The instance profile of the NAT instances, by ARN. Mutually exclusive with O(instance_profile_name).
    type: str
  instance_profile_name:
    description:
      - The instance profile of the NAT instances, by name. Mutually exclusive with O(instance_profile_arn).
    type: str
  user_data:
    description:
      - The user data as plain text (the module encodes it in base64). At most 16 KiB.
    type: str
  state:
    description:
      - V(present) creates or updates the template, V(absent) deletes it with all its versions.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
  - natzero.aws.nat_zero.nat_tag
  - natzero.aws.aws.tags
notes:
  - Supports check mode and diff mode.
  - O(tags) are set on the template and on the instances and volumes launched from it. Changing them makes a
    new template version but keeps the config version, so the reconciler retags running NATs in place.
  - The instance and volume tags are part of the template's data, so O(tags) left out launches instances with
    the module's own tags only; the template's own tags are then left as they are.
"""

EXAMPLES = r"""
- name: Launch template of the NAT in us-east-1a
  natzero.aws.nat_launch_template:
    name: prod
    availability_zone: us-east-1a
    vpc_id: vpc-0123456789abcdef0
    image_id: "{{ nat_ami.image_id }}"
    instance_type: t4g.nano
    instance_profile_name: prod-nat-zero-nat
    # Your own boot script; the nat_zero role renders roles/nat_zero/templates/nat_user_data.sh.j2.
    user_data: "{{ lookup('ansible.builtin.file', 'nat-user-data.sh') }}"
  register: nat_template

- name: The reconciler's NAT_ZERO_CONFIG_VERSION
  ansible.builtin.debug:
    msg: "{{ nat_template.config_version }}"
"""

RETURN = r"""
launch_template_id:
  description: The template ID. Null in check mode when it would be created, or when absent.
  returned: success
  type: str
  sample: lt-0123456789abcdef0
launch_template_name:
  description: The template name, C(<name>-nat-<az>).
  returned: success
  type: str
  sample: prod-nat-us-east-1a
version:
  description: The default (and latest) version number after the run; in check mode, the version it would be.
  returned: when O(state=present)
  type: int
  sample: 3
config_version:
  description: The config version of the template content, the same in every AZ for the same input.
  returned: when O(state=present)
  type: str
  sample: 5f0c6a1e9b2d4c7a
"""

import base64
import hashlib
import json

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ModuleFailure,
    ValidationError,
    is_error,
)
from ansible_collections.natzero.aws.plugins.module_utils.ec2 import gp3_error
from ansible_collections.natzero.aws.plugins.module_utils.nat_zero import (
    AZ_TAG,
    CONFIG_VERSION_TAG,
    DEPLOYMENT_TAG,
    VPC_TAG,
    name_error,
    nat_tag_argument_spec,
    resource_name,
    valid_name,
)
from ansible_collections.natzero.aws.plugins.module_utils.tags import (
    ensure_ec2_tags,
    normalize_tags,
    purge_requested,
    tag_specifications,
    tags_argument_spec,
    tags_to_dict,
)

# The AWS managed EBS key: named explicitly, so the account's default EBS key
# (which may be a customer managed key the reconciler has no grant on) is not used.
AWS_MANAGED_EBS_KEY = "alias/aws/ebs"
MAX_USER_DATA = 16 * 1024


def config_version(data):
    """First 16 hex of SHA-256 over the canonical JSON of what needs a new instance.

    Tags are left out: the reconciler updates a running NAT's tags in place,
    so a change of tags replaces no NAT (and cuts no traffic)."""
    content = {key: value for key, value in data.items() if key != "TagSpecifications"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def launched_tags(version_data):
    """The tags a template version gives the instances and volumes it launches (moto also
    lists the template's own tags there)."""
    return {
        spec["ResourceType"]: tags_to_dict(spec.get("Tags"))
        for spec in version_data.get("TagSpecifications") or ()
        if spec.get("ResourceType") in ("instance", "volume")
    }


def template_data(params, name):
    """The launch template data, with the config-version tag filled in."""
    ebs = {
        "VolumeType": "gp3",
        "VolumeSize": params["block_device_size"],
        "Iops": params["block_device_iops"],
        "Throughput": params["block_device_throughput"],
        "Encrypted": params["encrypt_root_volume"],
        "DeleteOnTermination": True,
    }
    if params["encrypt_root_volume"]:
        ebs["KmsKeyId"] = params["kms_key_id"] or AWS_MANAGED_EBS_KEY
    data = {
        "ImageId": params["image_id"],
        "InstanceType": params["instance_type"],
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
        "BlockDeviceMappings": [{"DeviceName": params["root_device_name"], "Ebs": ebs}],
    }
    if params["market_type"] == "spot":
        data["InstanceMarketOptions"] = {
            "MarketType": "spot",
            "SpotOptions": {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"},
        }
    if params["instance_profile_arn"]:
        data["IamInstanceProfile"] = {"Arn": params["instance_profile_arn"]}
    elif params["instance_profile_name"]:
        data["IamInstanceProfile"] = {"Name": params["instance_profile_name"]}
    if params["user_data"]:
        data["UserData"] = base64.b64encode(params["user_data"].encode("utf-8")).decode("ascii")
    launched_tags = normalize_tags(params["tags"])
    launched_tags.update(
        {
            "Name": name,
            params["nat_tag_key"]: params["nat_tag_value"],
            DEPLOYMENT_TAG: params["name"],
            AZ_TAG: params["availability_zone"],
        }
    )
    data["TagSpecifications"] = tag_specifications("instance", launched_tags) + tag_specifications(
        "volume", launched_tags
    )
    version = config_version(data)
    for spec in data["TagSpecifications"]:
        spec["Tags"] = sorted(spec["Tags"] + [{"Key": CONFIG_VERSION_TAG, "Value": version}], key=lambda t: t["Key"])
    return data, version


def tagged_version(version_data):
    """The config version a template version carries in its instance tags (None if none)."""
    for spec in version_data.get("TagSpecifications") or ():
        if spec.get("ResourceType") == "instance":
            return tags_to_dict(spec.get("Tags")).get(CONFIG_VERSION_TAG)
    return None


def validate(params):
    if not valid_name(params["name"]):
        raise ValidationError(name_error(params["name"]))
    if params["state"] == "absent":
        return
    if not (params["image_id"] or "").startswith("ami-"):
        raise ValidationError("image_id %r is not an AMI ID (ami-...)" % (params["image_id"],))
    volume_error = gp3_error(
        params["block_device_size"], params["block_device_iops"], params["block_device_throughput"], "block_device_"
    )
    if volume_error:
        raise ValidationError(volume_error)
    if params["kms_key_id"] and not params["encrypt_root_volume"]:
        raise ValidationError("kms_key_id is set but encrypt_root_volume is false; a key only encrypts")
    if not (params["root_device_name"] or "").startswith("/dev/"):
        raise ValidationError("root_device_name %r is not a device name (/dev/...)" % (params["root_device_name"],))
    if params["user_data"] and len(params["user_data"].encode("utf-8")) > MAX_USER_DATA:
        raise ValidationError("user_data is larger than EC2's limit of 16 KiB")


class LaunchTemplate:
    def __init__(self, module):
        self.module = module
        self.ec2 = module.client("ec2")
        p = module.params
        self.name = resource_name(p["name"], p["availability_zone"])
        self.template_tags = normalize_tags(p["tags"])
        self.template_tags.update(
            {"Name": self.name, DEPLOYMENT_TAG: p["name"], VPC_TAG: p["vpc_id"], AZ_TAG: p["availability_zone"]}
        )

    def find(self):
        try:
            found = self.ec2.describe_launch_templates(LaunchTemplateNames=[self.name])["LaunchTemplates"]
        except ClientError as exc:
            if is_error(exc, "InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound"):
                return None
            raise
        if not found:
            return None
        template = found[0]
        # describe_tags reflects tag changes made after creation.
        filters = [{"Name": "resource-id", "Values": [template["LaunchTemplateId"]]}]
        template["Tags"] = self.ec2.describe_tags(Filters=filters)["Tags"]
        owner = tags_to_dict(template["Tags"]).get(VPC_TAG)
        if owner != self.module.params["vpc_id"]:
            raise ModuleFailure(
                "Launch template %s (%s) exists but belongs to %s, not to vpc_id %s; "
                "two deployments in one region need different names"
                % (
                    self.name,
                    template["LaunchTemplateId"],
                    owner or "no nat-zero deployment",
                    self.module.params["vpc_id"],
                )
            )
        return template

    def latest_data(self, template):
        versions = self.ec2.describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Latest"]
        )["LaunchTemplateVersions"]
        return versions[0]["LaunchTemplateData"] if versions else {}

    def present(self):
        data, version = template_data(self.module.params, self.name)
        template = self.find()
        result = dict(changed=False, launch_template_name=self.name, config_version=version)
        diff = {
            "before": {},
            "after": {"config_version": version, "launch_template_data": data, "tags": self.template_tags},
        }
        if template is None:
            result.update(changed=True, launch_template_id=None, version=1)
            if not self.module.check_mode:
                template = self.ec2.create_launch_template(
                    LaunchTemplateName=self.name,
                    VersionDescription="config version %s" % version,
                    LaunchTemplateData=data,
                    TagSpecifications=tag_specifications("launch-template", self.template_tags),
                )["LaunchTemplate"]
                result["launch_template_id"] = template["LaunchTemplateId"]
            return self.with_diff(result, diff)

        template_id = template["LaunchTemplateId"]
        latest = template["LatestVersionNumber"]
        current_data = self.latest_data(template)
        diff["before"] = {
            "config_version": tagged_version(current_data),
            "launch_template_data": current_data,
            "tags": tags_to_dict(template["Tags"]),
        }
        result.update(launch_template_id=template_id, version=latest)
        if tagged_version(current_data) != version or launched_tags(current_data) != launched_tags(data):
            result.update(changed=True, version=latest + 1)
            if not self.module.check_mode:
                created = self.ec2.create_launch_template_version(
                    LaunchTemplateId=template_id,
                    VersionDescription="config version %s" % version,
                    LaunchTemplateData=data,
                )["LaunchTemplateVersion"]
                result["version"] = created["VersionNumber"]
        if template["DefaultVersionNumber"] != result["version"]:
            result["changed"] = True
            if not self.module.check_mode:
                self.ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(result["version"]))
        if ensure_ec2_tags(
            self.module,
            self.ec2,
            template_id,
            tags_to_dict(template["Tags"]),
            self.template_tags,
            purge_requested(self.module.params),
        ):
            result["changed"] = True
        return self.with_diff(result, diff)

    def absent(self):
        template = self.find()
        result = dict(changed=template is not None, launch_template_name=self.name, launch_template_id=None)
        if template and not self.module.check_mode:
            try:
                self.ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])
            except ClientError as exc:
                if not is_error(exc, "InvalidLaunchTemplateId.NotFound"):
                    raise
        diff = {"before": {"launch_template_id": template["LaunchTemplateId"] if template else None}, "after": {}}
        return self.with_diff(result, diff)

    def with_diff(self, result, diff):
        if self.module.diff_mode:
            result["diff"] = diff
        return result


def ensure(module):
    validate(module.params)
    template = LaunchTemplate(module)
    if module.params["state"] == "absent":
        return template.absent()
    return template.present()


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        availability_zone=dict(type="str", required=True),
        vpc_id=dict(type="str", required=True),
        image_id=dict(type="str"),
        instance_type=dict(type="str", default="t4g.nano"),
        market_type=dict(type="str", choices=["on-demand", "spot"], default="on-demand"),
        root_device_name=dict(type="str", default="/dev/xvda"),
        block_device_size=dict(type="int", default=10),
        block_device_iops=dict(type="int", default=3000),
        block_device_throughput=dict(type="int", default=125),
        encrypt_root_volume=dict(type="bool", default=True),
        kms_key_id=dict(type="str"),
        instance_profile_arn=dict(type="str"),
        instance_profile_name=dict(type="str"),
        user_data=dict(type="str"),
        **nat_tag_argument_spec(),
        **tags_argument_spec(),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("image_id",))],
        mutually_exclusive=[("instance_profile_arn", "instance_profile_name")],
    )
    module.run(
        ensure, resource="launch template %s-nat-%s" % (module.params["name"], module.params["availability_zone"])
    )


if __name__ == "__main__":
    main()
