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
    # Lambda (arm64), CloudWatch Logs and CloudWatch metrics pricing pages.
    "lambda_request": 0.20 / 1_000_000,
    "lambda_arm_gb_second": 0.0000133334,
    "logs_ingested_gb": 0.50,
    "custom_metric_month": 0.30,
    # PutMetricData and the other CloudWatch API requests, beyond the free tier's million.
    "cloudwatch_request": 0.01 / 1000,
    "dashboard_month": 3.00,
    # EC2 data transfer between AZs of a region, charged in each direction.
    "cross_az_gb": 0.01,
    "standard_alarm_month": 0.10,
    # Vended logs (VPC flow logs), first price tier.
    "vended_logs_cloudwatch_gb": 0.50,
    "vended_logs_s3_gb": 0.25,
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


# What the reconciler does while nothing runs: one sweep every 5 minutes on a
# 128 MB arm64 function, billed at most 1 s each (two reads of EC2; the
# in-process run takes a few ms), logging its lines plus Lambda's own START,
# END and REPORT lines (about 350 bytes).
SWEEP_MINUTES = 5
SWEEP_BILLED_SECONDS = 1.0
LAMBDA_REPORT_BYTES = 350

# The EMF metrics (nat_zero_metrics): per AZ NatRunning, Workloads, Actions
# and, in a month with starts and stops, about two Actions.<kind>; per
# deployment Errors and Duration.
METRICS_PER_AZ = 5
METRICS_PER_DEPLOYMENT = 2


def sweeps_per_month(minutes: int = SWEEP_MINUTES) -> float:
    return HOURS_PER_MONTH * 60 / minutes


def idle_reconciler_cost(memory_mb: int = 128, log_bytes_per_sweep: int = 1000, minutes: int = SWEEP_MINUTES) -> dict:
    """Monthly cost of the idle reconciler of one deployment: requests, compute, log lines."""
    sweeps = sweeps_per_month(minutes)
    return {
        "requests": sweeps * PRICES["lambda_request"],
        "compute": sweeps * SWEEP_BILLED_SECONDS * memory_mb / 1024 * PRICES["lambda_arm_gb_second"],
        "logs": sweeps * (log_bytes_per_sweep + LAMBDA_REPORT_BYTES) / 1024**3 * PRICES["logs_ingested_gb"],
    }


def metrics_cost() -> dict:
    """Monthly cost of nat_zero_metrics: per AZ and per deployment."""
    return {
        "per_az": METRICS_PER_AZ * PRICES["custom_metric_month"],
        "per_deployment": METRICS_PER_DEPLOYMENT * PRICES["custom_metric_month"],
    }


# The NAT's own metrics (nat_zero_nat_metrics): ConntrackEntries,
# ConntrackUsed, PacketsDropped and GuardRepairs, one PutMetricData a minute
# while the NAT runs. Custom metrics are pro-rated by the hours they are sent
# in, so a NAT stopped all month costs nothing.
NAT_METRICS = 4


def nat_metrics_cost(running_hours: float = HOURS_PER_MONTH) -> float:
    """Cost per AZ of nat_zero_nat_metrics for a NAT running that many hours."""
    metrics = NAT_METRICS * PRICES["custom_metric_month"] * running_hours / HOURS_PER_MONTH
    return metrics + running_hours * 60 * PRICES["cloudwatch_request"]


# The health check (nat_zero_mode, nat_zero_failover): a rule that invokes the
# reconciler every minute, enabled only while a NAT of the deployment runs.
HEALTH_MINUTES = 1


def static_eip_cost() -> float:
    """Monthly cost per AZ of nat_zero_eip_mode static: the address kept while idle."""
    return monthly(PRICES["public_ipv4_hour"])


def health_check_cost(memory_mb: int = 128) -> float:
    """Monthly cost per deployment of the health rule while a NAT runs all month
    (requests, compute, log lines); the NAT's heartbeat tag writes are free."""
    return sum(idle_reconciler_cost(memory_mb, minutes=HEALTH_MINUTES).values())
