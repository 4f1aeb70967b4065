"""VPC flow log behaviour that moto does not reproduce."""

from __future__ import annotations

from botocore.awsrequest import AWSResponse

DESTINATION_KEYS = ("LogDestinationType", "LogGroupName", "LogDestination", "TrafficType")


def _same_destination(flow_log: dict, params: dict) -> bool:
    return all(flow_log.get(key) == params.get(key) for key in DESTINATION_KEYS if key in params)


def install_unsuccessful_duplicates(client) -> None:
    """CreateFlowLogs answers a resource that already has a flow log of the same
    settings and destination in its Unsuccessful list (FlowLogAlreadyExists),
    with HTTP 200, and logs the other resources: moto raises an error instead."""

    def split(params, context, **_):
        existing = client.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": params["ResourceIds"]}])
        taken = {f["ResourceId"] for f in existing["FlowLogs"] if _same_destination(f, params)}
        context["duplicates"] = [r for r in params["ResourceIds"] if r in taken]
        params["ResourceIds"] = [r for r in params["ResourceIds"] if r not in taken]

    def answer_without_sending(context, **_):
        if context.get("duplicates") is not None and not context.get("sent_any", True):
            return AWSResponse("", 200, {}, None), {"FlowLogIds": [], "Unsuccessful": []}
        return None

    def mark(params, context, **_):
        context["sent_any"] = bool(params["ResourceIds"])

    def add_unsuccessful(parsed, context, **_):
        parsed.setdefault("Unsuccessful", []).extend(_unsuccessful(context))

    client.meta.events.register("provide-client-params.ec2.CreateFlowLogs", split)
    client.meta.events.register("provide-client-params.ec2.CreateFlowLogs", mark)
    client.meta.events.register("before-call.ec2.CreateFlowLogs", answer_without_sending)
    client.meta.events.register("after-call.ec2.CreateFlowLogs", add_unsuccessful)


def _unsuccessful(context) -> list:
    message = "Error. There is an existing Flow Log with the same configuration and log destination."
    return [
        {"ResourceId": r, "Error": {"Code": "FlowLogAlreadyExists", "Message": message}}
        for r in context.get("duplicates", ())
    ]
