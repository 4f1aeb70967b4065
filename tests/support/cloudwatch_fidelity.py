"""CloudWatch behaviour that moto does not reproduce."""

from botocore.exceptions import ClientError

# What PutDashboard accepts, from the CloudWatch API reference ("Dashboard Body
# Structure and Syntax"). Moto stores any JSON; AWS answers anything else with
# InvalidParameterInput and its DashboardValidationMessages.
PUT_DASHBOARD_BODY = {
    "type": "object",
    "required": ["widgets"],
    "properties": {
        "start": {"type": "string"},
        "end": {"type": "string"},
        "periodOverride": {"enum": ["auto", "inherit"]},
        "widgets": {
            "type": "array",
            "maxItems": 500,
            "items": {
                "type": "object",
                "required": ["type", "properties"],
                "properties": {
                    "type": {"enum": ["metric", "text", "log", "alarm", "explorer", "custom"]},
                    "x": {"type": "integer", "minimum": 0, "maximum": 23},
                    "y": {"type": "integer", "minimum": 0},
                    "width": {"type": "integer", "minimum": 1, "maximum": 24},
                    "height": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "properties": {"type": "object"},
                },
                "if": {"properties": {"type": {"const": "metric"}}},
                "then": {"properties": {"properties": {"required": ["region"]}}},
            },
        },
    },
}


def put_metric_alarm_refusal(params: dict) -> str:
    """Why PutMetricAlarm answers ValidationError for params ('' when it accepts them).

    From the API reference of PutMetricAlarm: Period 10, 20, 30 or a multiple of
    60; Period x EvaluationPeriods at most 86,400 s under an hour's period and
    604,800 s otherwise; DatapointsToAlarm 1..EvaluationPeriods; at most five
    actions of each kind. Moto stores any of these.
    """
    period, periods = params.get("Period", 60), params.get("EvaluationPeriods", 1)
    if period not in (10, 20, 30) and period % 60:
        return "Period must be 10, 20, 30 or a multiple of 60"
    if period * periods > (86400 if period < 3600 else 604800):
        return "Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400)"
    if not 1 <= params.get("DatapointsToAlarm", periods) <= periods:
        return "DatapointsToAlarm must be between 1 and EvaluationPeriods"
    for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        if len(params.get(key, ())) > 5:
            return f"The maximum number of {key} is 5"
    return ""


def install_put_metric_alarm(client, accepted: list) -> None:
    """PutMetricAlarm on client as AWS answers it; each request it accepts is appended to accepted.

    AWS refuses what put_metric_alarm_refusal names, and ignores Tags when the
    alarm already exists ("any tags you specify in this parameter are ignored"):
    moto would apply them.
    """

    def check(params, **_):
        refusal = put_metric_alarm_refusal(params)
        if refusal:
            raise ClientError({"Error": {"Code": "ValidationError", "Message": refusal}}, "PutMetricAlarm")
        exists = client.describe_alarms(AlarmNames=[params["AlarmName"]])["MetricAlarms"]
        if exists:
            params.pop("Tags", None)
        accepted.append(dict(params))

    client.meta.events.register("provide-client-params.cloudwatch.PutMetricAlarm", check)
