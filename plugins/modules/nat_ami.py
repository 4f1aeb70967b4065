#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: natzero.aws contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_ami
short_description: Bake a NAT image (stock image + nftables + SSM agent) in your account
version_added: 0.2.0
description:
  - Builds an AMI for the NAT instances from a stock image (Amazon Linux 2023 minimal by default, see
    M(natzero.aws.nat_ami_info)) with the packages the NAT needs already installed, so a NAT launched
    from it forwards without installing anything at its first boot (and without needing its Elastic IP
    for that).
  - A builder instance is launched from O(source_image_id) in O(subnet_id) with a public address,
    installs O(packages) (and O(bootstrap_script)) from its user data, enables the SSM agent, then
    powers itself off. The image is created from the stopped builder, which is then terminated
    whatever happened.
  - Idempotent by name. An image of this account named O(name) is left as it is; to rebuild, remove it
    (O(state=absent)) or use a new name, for example with a date in it.
  - O(state=absent) deregisters the image of that name and deletes its snapshots.
author:
  - natzero.aws maintainers (@natzero)
options:
  name:
    description:
      - The AMI's name, unique in the account and region.
    type: str
    required: true
  source_image_id:
    description:
      - The stock image to start from. Required with O(state=present).
    type: str
  instance_type:
    description:
      - The builder's instance type; its architecture must be the source image's.
    type: str
    default: t4g.nano
  subnet_id:
    description:
      - Where the builder runs. Required with O(state=present).
      - It must reach the package repositories, so a public subnet (route to an internet gateway);
        the builder gets a public address, and the VPC's default security group, which admits nothing
        from the internet.
    type: str
  packages:
    description:
      - Packages the builder installs with dnf.
    type: list
    elements: str
    default: [nftables, amazon-ssm-agent]
  bootstrap_script:
    description:
      - Written to C(/usr/local/sbin/nat-bootstrap.sh) in the image when set. The NAT's user data writes
        its own copy at every first boot anyway; this one documents what the image was baked for.
    type: str
  tags:
    description:
      - Tags of the image and its snapshot (and, while it lives, the builder).
    type: dict
    default: {}
  timeout:
    description:
      - Seconds to wait for the builder to power off, and again for the image to become available.
    type: int
    default: 1200
  state:
    description:
      - V(present) bakes the image if none of that name exists; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - natzero.aws.aws
notes:
  - Supports check mode. Bakes nothing and removes nothing in check mode; reports what it would do.
  - The builder costs a few minutes of its instance type; the image costs its EBS snapshot
    (about USD 0.05 per GiB-month, about USD 0.10 a month for Amazon Linux 2023 minimal).
"""

EXAMPLES = r"""
- name: The stock image for a Graviton NAT
  natzero.aws.nat_ami_info:
    instance_type: t4g.nano
  register: stock

- name: Bake a NAT image from it
  natzero.aws.nat_ami:
    name: nat-zero-al2023-arm64-2026-12
    source_image_id: "{{ stock.image_id }}"
    subnet_id: subnet-0123456789abcdef0
    tags:
      team: platform
  register: baked

- name: Remove an old NAT image
  natzero.aws.nat_ami:
    name: nat-zero-al2023-arm64-2026-06
    state: absent
"""

RETURN = r"""
image_id:
  description: The NAT image (the one that exists, was baked, or would be removed).
  returned: when the image exists or was baked
  type: str
  sample: ami-0123456789abcdef0
name:
  description: The image's name.
  returned: always
  type: str
  sample: nat-zero-al2023-arm64-2026-12
builder_instance_id:
  description: The builder instance this run launched (terminated by now).
  returned: when an image was baked
  type: str
  sample: i-0123456789abcdef0
snapshot_ids:
  description: The image's EBS snapshots.
  returned: when the image exists or was removed
  type: list
  elements: str
  sample: [snap-0123456789abcdef0]
"""

import base64
import gzip
import re

from ansible_collections.natzero.aws.plugins.module_utils.aws import (
    AWSModule,
    ClientError,
    ModuleFailure,
    ValidationError,
    WaitTimeout,
    is_error,
    wait_until,
    wait_with,
)
from ansible_collections.natzero.aws.plugins.module_utils.tags import normalize_tags, tag_specifications

BAKE_TAG = "nat-zero:bake"
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def builder_user_data(packages, bootstrap_script):
    """The builder's whole job. It powers off only when everything worked, so
    a failed build is a builder that never stops (and the module says so)."""
    lines = [
        "#!/bin/bash",
        "set -euxo pipefail",
        "for attempt in 1 2 3 4 5 6; do dnf install -y %s && break; sleep 20; done" % " ".join(packages),
        "rpm -q %s" % " ".join(packages),
    ]
    if "amazon-ssm-agent" in packages:
        lines.append("systemctl enable amazon-ssm-agent.service")
    if bootstrap_script:
        # Compressed: as is, the script alone would pass EC2's 16 KiB of user data.
        encoded = base64.b64encode(gzip.compress(bootstrap_script.encode("utf-8"), mtime=0)).decode("ascii")
        lines += [
            "install -d -m 0755 /usr/local/sbin",
            "echo %s | base64 -d | gunzip > /usr/local/sbin/nat-bootstrap.sh" % encoded,
            "chmod 0755 /usr/local/sbin/nat-bootstrap.sh",
        ]
    lines += ["dnf clean all", "cloud-init clean --logs", "systemctl poweroff"]
    return "\n".join(lines) + "\n"


def find_image(ec2, name):
    images = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])["Images"]
    return images[0] if images else None


def snapshot_ids(image):
    return [
        m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings") or () if (m.get("Ebs") or {}).get("SnapshotId")
    ]


MAX_USER_DATA = 16 * 1024


def validate(params):
    if params["state"] == "absent":
        return
    for option in ("source_image_id", "subnet_id"):
        if not params[option]:
            raise ValidationError("%s is required with state=present" % option)
    bad = [p for p in params["packages"] if not _PACKAGE.match(p)]
    if bad or not params["packages"]:
        raise ValidationError("packages must be non-empty package names, not %r" % (bad or params["packages"]))
    if params["timeout"] < 60:
        raise ValidationError("timeout must be at least 60 seconds")
    size = len(builder_user_data(params["packages"], params["bootstrap_script"]).encode("utf-8"))
    if size > MAX_USER_DATA:
        raise ValidationError("bootstrap_script makes the builder's user data %d bytes, over EC2's 16 KiB" % size)


def launch_builder(ec2, params, tags):
    response = ec2.run_instances(
        ImageId=params["source_image_id"],
        InstanceType=params["instance_type"],
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": params["subnet_id"], "AssociatePublicIpAddress": True}],
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
        InstanceInitiatedShutdownBehavior="stop",
        UserData=builder_user_data(params["packages"], params["bootstrap_script"]),
        TagSpecifications=tag_specifications("instance", tags),
    )
    return response["Instances"][0]["InstanceId"]


def wait_powered_off(ec2, instance_id, timeout):
    def stopped():
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        instance = reservations[0]["Instances"][0] if reservations else {}
        state = (instance.get("State") or {}).get("Name")
        if state in ("shutting-down", "terminated"):
            reason = (instance.get("StateReason") or {}).get("Message", "no reason given")
            raise ModuleFailure("builder %s was terminated while baking: %s" % (instance_id, reason))
        return state == "stopped"

    try:
        wait_until(stopped, "builder %s to power off" % instance_id, timeout=timeout, delay=5, max_delay=20)
    except WaitTimeout as exc:
        raise ModuleFailure(
            "%s: its package install did not finish (no route to the repositories from subnet?); "
            "its console output says why: aws ec2 get-console-output --instance-id %s" % (exc, instance_id)
        ) from None


def tag_snapshots(ec2, image_id, tags):
    # Tagged once the image exists: CreateImage could tag them too, but not
    # every EC2 implementation (moto, for one) accepts snapshot tags there.
    images = ec2.describe_images(ImageIds=[image_id])["Images"]
    snapshots = snapshot_ids(images[0]) if images else []
    if tags and snapshots:
        ec2.create_tags(Resources=snapshots, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def bake(ec2, params, tags):
    builder_tags = dict(tags, Name="%s-builder" % params["name"], **{BAKE_TAG: params["name"]})
    builder = launch_builder(ec2, params, builder_tags)
    try:
        wait_powered_off(ec2, builder, params["timeout"])
        image_id = ec2.create_image(
            InstanceId=builder,
            Name=params["name"],
            Description="nat-zero NAT image: %s on %s" % (", ".join(params["packages"]), params["source_image_id"]),
            # EC2 refuses a tag specification without tags.
            TagSpecifications=tag_specifications("image", tags) if tags else [],
        )["ImageId"]
        wait_with(ec2, "image_available", "image %s" % image_id, timeout=params["timeout"], ImageIds=[image_id])
        tag_snapshots(ec2, image_id, tags)
    finally:
        ec2.terminate_instances(InstanceIds=[builder])
    return image_id, builder


def remove(ec2, image):
    ec2.deregister_image(ImageId=image["ImageId"])
    for snapshot_id in snapshot_ids(image):
        try:
            ec2.delete_snapshot(SnapshotId=snapshot_id)
        except ClientError as exc:
            if not is_error(exc, "InvalidSnapshot.NotFound"):
                raise


def ensure(module):
    params = module.params
    validate(params)
    ec2 = module.client("ec2")
    image = find_image(ec2, params["name"])
    result = dict(changed=False, name=params["name"])
    if image is not None:
        result.update(image_id=image["ImageId"], snapshot_ids=snapshot_ids(image))
    if params["state"] == "absent":
        if image is not None:
            result["changed"] = True
            if not module.check_mode:
                remove(ec2, image)
        return result
    if image is not None:
        return result
    result["changed"] = True
    if module.check_mode:
        return result
    tags = normalize_tags(params["tags"])
    image_id, builder = bake(ec2, params, tags)
    baked = find_image(ec2, params["name"]) or {}
    result.update(image_id=image_id, builder_instance_id=builder, snapshot_ids=snapshot_ids(baked))
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        source_image_id=dict(type="str"),
        instance_type=dict(type="str", default="t4g.nano"),
        subnet_id=dict(type="str"),
        packages=dict(type="list", elements="str", default=["nftables", "amazon-ssm-agent"]),
        bootstrap_script=dict(type="str"),
        tags=dict(type="dict", default={}),
        timeout=dict(type="int", default=1200),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.run(ensure)


if __name__ == "__main__":
    main()
