"""Published on-demand list prices (us-east-1, USD), kept in this one place.

Sources: the EC2, EBS, VPC (NAT gateway, public IPv4) pricing pages. A month
is 730 hours. Update the numbers here and every cost line follows.
"""

HOURS_PER_MONTH = 730

PRICES = {
    "nat_gateway_hour": 0.045,
    "nat_gateway_gb": 0.045,
    "t4g_nano_hour": 0.0042,
    "gp3_gb_month": 0.08,
    "public_ipv4_hour": 0.005,
}


def monthly(per_hour: float) -> float:
    return per_hour * HOURS_PER_MONTH


def per_az_costs(root_volume_gb: int = 10) -> dict:
    """Monthly cost per AZ, idle and active (24x7), before data transfer."""
    ebs = PRICES["gp3_gb_month"] * root_volume_gb
    instance = monthly(PRICES["t4g_nano_hour"])
    address = monthly(PRICES["public_ipv4_hour"])
    gateway = monthly(PRICES["nat_gateway_hour"])
    return {
        # A NAT gateway holds a public IPv4 address too.
        "nat_gateway": {"idle": gateway + address, "active": gateway + address},
        "always_on_nat_instance": {"idle": instance + ebs + address, "active": instance + ebs + address},
        "nat_zero": {"idle": ebs, "active": instance + ebs + address},
        "nat_zero_active_hour": PRICES["t4g_nano_hour"] + PRICES["public_ipv4_hour"],
    }
