#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_ami_info
short_description: Find the AMI for NAT instances of a given instance type
version_added: 0.1.0
description:
  - Resolves the AMI the NAT instances boot, and checks that it runs on the instance type.
  - The instance type's architectures come from DescribeInstanceTypes.
  - With O(image_id), that AMI. With O(name_pattern), the newest available AMI of O(owner) whose name matches
    and whose architecture the instance type supports.
  - With neither, Amazon Linux 2023 minimal for the instance type's architecture, through the public SSM
    parameter C(/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-<arm64|x86_64>).
  - Fails with a clear message when the AMI's architecture does not match the instance type, or when its root
    device is not EBS (a NAT that stops and starts needs an EBS-backed root).
  - Returns the image's root device name and the size of its root snapshot. The launch template puts the root
    volume settings on that device (M(natzero.aws.nat_launch_template)) and may not make it smaller.
  - Reads only; never changes anything.
author:
  - natzero.aws maintainers (@natzero)
options:
  instance_type:
    description:
      - The instance type the AMI must run on, for example V(t4g.nano).
    type: str
    required: true
  image_id:
    description:
      - Use this AMI (after checking its architecture). Mutually exclusive with O(name_pattern).
    type: str
  name_pattern:
    description:
      - An AMI name pattern, with C(*) and C(?) wildcards, for example V(al2023-ami-minimal-*).
    type: str
  owner:
    description:
      - "Who owns the AMIs O(name_pattern) searches: an account ID, V(self), V(amazon) or V(aws-marketplace)."
    type: str
    default: amazon
  ssm_parameter:
    description:
      - The SSM parameter holding the AMI ID when neither O(image_id) nor O(name_pattern) is set.
      - C({arch}) is replaced with the instance type's architecture (V(arm64) or V(x86_64)).
    type: str
    default: /aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-{arch}
extends_documentation_fragment:
  - natzero.aws.aws
notes:
  - Supports check mode. Always reports C(changed=false).
"""

EXAMPLES = r"""
- name: Amazon Linux 2023 minimal for a Graviton NAT
  natzero.aws.nat_ami_info:
    instance_type: t4g.nano
  register: nat_ami

- name: The newest of our own NAT images
  natzero.aws.nat_ami_info:
    instance_type: t3.nano
    name_pattern: "nat-image-*"
    owner: self

- name: Check a pinned AMI against the instance type
  natzero.aws.nat_ami_info:
    instance_type: t4g.nano
    image_id: ami-0123456789abcdef0
"""

RETURN = r"""
image_id:
  description: The AMI.
  returned: success
  type: str
  sample: ami-0123456789abcdef0
name:
  description: The AMI's name.
  returned: success
  type: str
  sample: al2023-ami-minimal-2023.6.20241010.0-kernel-6.1-arm64
architecture:
  description: The AMI's architecture.
  returned: success
  type: str
  sample: arm64
instance_architectures:
  description: The architectures the instance type supports.
  returned: success
  type: list
  elements: str
  sample: [arm64]
owner_id:
  description: The account that owns the AMI.
  returned: success
  type: str
  sample: "137112412989"
creation_date:
  description: When the AMI was created.
  returned: success
  type: str
  sample: "2024-10-10T20:31:52.000Z"
root_device_name:
  description: The device name of the image's root volume.
  returned: success
  type: str
  sample: /dev/xvda
root_snapshot_size:
  description: The size in GiB of the image's root snapshot, the smallest root volume EC2 accepts.
  returned: success
  type: int
  sample: 2
source:
  description: How the AMI was found, V(image_id), V(name_pattern) or V(ssm_parameter).
  returned: success
  type: str
  sample: ssm_parameter
ssm_parameter:
  description: The SSM parameter that was read.
  returned: when the AMI came from SSM
  type: str
  sample: /aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-arm64
"""

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ValidationError,
    is_error,
)

# The architecture names SSM's Amazon Linux parameters use, in order of preference.
_SSM_ARCHITECTURES = ("arm64", "x86_64")


def instance_architectures(ec2, instance_type):
    try:
        types = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    except ClientError as exc:
        if is_error(exc, "InvalidInstanceType", "InvalidParameterValue"):
            raise ValidationError("Instance type %s does not exist in this region" % instance_type) from exc
        raise
    if not types:
        raise ValidationError("Instance type %s does not exist in this region" % instance_type)
    return list(types[0]["ProcessorInfo"]["SupportedArchitectures"])


def image_by_id(ec2, image_id):
    try:
        images = ec2.describe_images(ImageIds=[image_id])["Images"]
    except ClientError as exc:
        if is_error(exc, "InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable"):
            raise ValidationError("AMI %s does not exist (or is not shared with this account)" % image_id) from exc
        raise
    if not images:
        raise ValidationError("AMI %s does not exist (or is not shared with this account)" % image_id)
    return images[0]


def newest_image(ec2, name_pattern, owner, architectures):
    filters = [
        {"Name": "name", "Values": [name_pattern]},
        {"Name": "state", "Values": ["available"]},
        {"Name": "architecture", "Values": architectures},
    ]
    images = ec2.describe_images(Owners=[owner], Filters=filters)["Images"]
    if not images:
        raise ValidationError(
            "No available AMI owned by %s matches %r for architecture %s"
            % (owner, name_pattern, " or ".join(architectures))
        )
    return max(images, key=lambda image: (image.get("CreationDate") or "", image["ImageId"]))


def image_from_ssm(module, parameter):
    try:
        image_id = module.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as exc:
        if is_error(exc, "ParameterNotFound"):
            raise ValidationError(
                "SSM parameter %s does not exist in %s; set image_id or name_pattern instead"
                % (parameter, module.region)
            ) from exc
        raise
    return image_by_id(module.client("ec2"), image_id)


def root_device(image):
    """(device name, snapshot size in GiB) of an EBS-backed image's root volume."""
    if image.get("RootDeviceType") == "instance-store":
        raise ValidationError(
            "AMI %s (%s) has an %s root device; a NAT stops and starts, which needs an EBS-backed AMI"
            % (image["ImageId"], image.get("Name"), image.get("RootDeviceType"))
        )
    name = image.get("RootDeviceName")
    mapping = next((m for m in image.get("BlockDeviceMappings") or () if m.get("DeviceName") == name), {})
    return name, (mapping.get("Ebs") or {}).get("VolumeSize")


def ensure(module):
    p = module.params
    ec2 = module.client("ec2")
    architectures = instance_architectures(ec2, p["instance_type"])
    result = dict(changed=False, instance_architectures=architectures)
    if p["image_id"]:
        image = image_by_id(ec2, p["image_id"])
        result["source"] = "image_id"
    elif p["name_pattern"]:
        image = newest_image(ec2, p["name_pattern"], p["owner"], architectures)
        result["source"] = "name_pattern"
    else:
        arch = next((a for a in _SSM_ARCHITECTURES if a in architectures), None)
        if arch is None:
            raise ValidationError(
                "Instance type %s supports %s; Amazon Linux 2023 exists for arm64 and x86_64 only. "
                "Set image_id or name_pattern." % (p["instance_type"], ", ".join(architectures))
            )
        parameter = p["ssm_parameter"].replace("{arch}", arch)
        image = image_from_ssm(module, parameter)
        result.update(source="ssm_parameter", ssm_parameter=parameter)
    if image.get("Architecture") not in architectures:
        raise ValidationError(
            "AMI %s (%s) is built for %s, but instance type %s runs %s"
            % (
                image["ImageId"],
                image.get("Name"),
                image.get("Architecture"),
                p["instance_type"],
                ", ".join(architectures),
            )
        )
    root_device_name, root_snapshot_size = root_device(image)
    result.update(
        image_id=image["ImageId"],
        root_device_name=root_device_name,
        root_snapshot_size=root_snapshot_size,
        name=image.get("Name"),
        architecture=image.get("Architecture"),
        owner_id=image.get("OwnerId"),
        creation_date=image.get("CreationDate"),
    )
    return result


def main():
    argument_spec = dict(
        instance_type=dict(type="str", required=True),
        image_id=dict(type="str"),
        name_pattern=dict(type="str"),
        owner=dict(type="str", default="amazon"),
        ssm_parameter=dict(
            type="str", default="/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-{arch}"
        ),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("image_id", "name_pattern")],
    )
    module.run(ensure)


if __name__ == "__main__":
    main()
