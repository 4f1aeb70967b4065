"""natzero.aws.vpcs: one host per tagged VPC, across regions and accounts, on moto."""

from __future__ import annotations

import boto3
import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import add_fragments
from moto import mock_aws

from ansible_collections.natzero.aws.plugins.inventory import vpcs

REGIONS = ("us-east-1", "eu-west-1")
ENABLED = {"nat-zero:enabled": "true"}


def load_plugin():
    """The plugin with its documented options (its doc fragments merged), as
    Ansible's plugin loader gives it (the unit tests import the collection
    without Ansible's collection finder)."""
    doc = yaml.safe_load(vpcs.DOCUMENTATION)
    add_fragments(doc, vpcs.__file__, fragment_loader=fragment_loader)
    C.config.initialize_plugin_configuration_definitions("inventory", vpcs.InventoryModule.NAME, doc["options"])
    plugin = vpcs.InventoryModule()
    plugin._load_name = vpcs.InventoryModule.NAME
    return plugin


@pytest.fixture
def aws(monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


def vpc(region, tags, cidr="10.0.0.0/16"):
    ec2 = boto3.client("ec2", region_name=region)
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    spec = [{"ResourceType": "vpc", "Tags": tag_list}] if tag_list else []
    return ec2.create_vpc(CidrBlock=cidr, TagSpecifications=spec)["Vpc"]["VpcId"]


def inventory(tmp_path, config, name="fleet.natzero.yml", cache=True):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"plugin": "natzero.aws.vpcs", **config}))
    plugin = load_plugin()
    assert plugin.verify_file(str(path))
    data = InventoryData()
    plugin.parse(data, DataLoader(), str(path), cache=cache)
    if config.get("cache"):
        plugin.update_cache_if_changed()  # as ansible's InventoryManager does after parsing
    return data, plugin


def host_vars(data):
    return {name: host.vars for name, host in data.hosts.items()}


def test_tagged_vpcs_of_every_region_become_hosts_with_the_deployment_variables(aws, tmp_path):
    east = vpc("us-east-1", {**ENABLED, "Name": "dev apps (east)"})
    west = vpc("eu-west-1", {**ENABLED, "nat-zero:name": "batch-west"})
    vpc("us-east-1", {"Name": "not enabled"})
    vpc("eu-west-1", {"nat-zero:enabled": "false"})

    data, _ = inventory(tmp_path, {"regions": list(REGIONS)})

    hosts = host_vars(data)
    assert set(hosts) == {east, west}
    assert hosts[east]["nat_zero_vpc_id"] == east and hosts[east]["nat_zero_region"] == "us-east-1"
    assert hosts[east]["nat_zero_name"] == "dev-apps-east"
    assert hosts[west]["nat_zero_name"] == "batch-west" and hosts[west]["nat_zero_region"] == "eu-west-1"
    assert hosts[west]["ansible_connection"] == "local"
    assert hosts[west]["nat_zero_account_id"] == "123456789012"
    assert {h.name for h in data.groups["nat_zero_vpcs"].get_hosts()} == {east, west}


def test_a_vpc_without_name_tags_is_named_after_its_id(aws, tmp_path):
    bare = vpc("us-east-1", ENABLED)

    data, _ = inventory(tmp_path, {"regions": ["us-east-1"]})

    assert host_vars(data)[bare]["nat_zero_name"] == bare


def test_hosts_can_be_named_after_the_deployment(aws, tmp_path):
    vpc("us-east-1", {**ENABLED, "nat-zero:name": "dev"})

    data, _ = inventory(tmp_path, {"regions": ["us-east-1"], "hostname": "nat_zero_name"})

    assert list(data.hosts) == ["dev"]


def test_other_tags_select_other_vpcs(aws, tmp_path):
    team = vpc("us-east-1", {"team": "data"})
    vpc("us-east-1", ENABLED)

    data, _ = inventory(tmp_path, {"regions": ["us-east-1"], "vpc_tags": {"team": "*"}})

    assert list(data.hosts) == [team]


def test_two_vpcs_with_one_name_fail_naming_both(aws, tmp_path):
    first = vpc("us-east-1", {**ENABLED, "Name": "dev"})
    second = vpc("eu-west-1", {**ENABLED, "Name": "dev"})

    with pytest.raises(AnsibleError, match="share the deployment name 'dev'") as failed:
        inventory(tmp_path, {"regions": list(REGIONS)})
    assert first in str(failed.value) and second in str(failed.value)


def test_an_invalid_name_tag_fails_naming_the_vpc(aws, tmp_path):
    bad = vpc("us-east-1", {**ENABLED, "nat-zero:name": "prod.eu"})

    with pytest.raises(AnsibleError, match=f"VPC {bad} .*'prod.eu' is not a deployment name"):
        inventory(tmp_path, {"regions": ["us-east-1"]})


def test_each_account_is_listed_through_its_role(aws, tmp_path):
    iam = boto3.client("iam", region_name="us-east-1")
    trust = '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'
    role = iam.create_role(RoleName="natzero-inventory", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    listed = vpc("us-east-1", ENABLED)

    data, _ = inventory(
        tmp_path, {"regions": ["eu-west-1"], "accounts": [{"assume_role_arn": role, "regions": ["us-east-1"]}]}
    )

    assert host_vars(data)[listed]["nat_zero_assume_role_arn"] == role


def test_constructed_groups_and_variables(aws, tmp_path):
    east = vpc("us-east-1", ENABLED)
    west = vpc("eu-west-1", ENABLED, cidr="10.1.0.0/16")

    data, _ = inventory(
        tmp_path,
        {
            "regions": list(REGIONS),
            "keyed_groups": [{"key": "nat_zero_region", "prefix": "region"}],
            "compose": {"nat_zero_tags": "{'vpc-name': nat_zero_name}"},
        },
    )

    assert [h.name for h in data.groups["region_eu_west_1"].get_hosts()] == [west]
    assert host_vars(data)[east]["nat_zero_tags"] == {"vpc-name": east}


def test_a_cached_listing_is_served_without_asking_aws(aws, tmp_path):
    listed = vpc("us-east-1", ENABLED)
    config = {
        "regions": ["us-east-1"],
        "cache": True,
        "cache_plugin": "jsonfile",
        "cache_connection": str(tmp_path / "cache"),
    }
    inventory(tmp_path, config)
    boto3.client("ec2", region_name="us-east-1").delete_vpc(VpcId=listed)

    cached, _ = inventory(tmp_path, config)
    refreshed, _ = inventory(tmp_path, config, cache=False)

    assert list(cached.hosts) == [listed]
    assert list(refreshed.hosts) == []


def test_only_natzero_inventory_files_are_read(tmp_path):
    plugin = load_plugin()
    other = tmp_path / "hosts.yml"
    other.write_text("plugin: natzero.aws.vpcs\n")
    assert not plugin.verify_file(str(other))
