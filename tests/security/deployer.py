"""The deployer's IAM policy (tools/deployer_policy.py) evaluated as IAM does,
for every AWS call of a real ansible-playbook run against the moto server.

Moto's IAM enforcement would judge each request by its action alone; here
each call is turned into the (action, resource ARN, condition keys) requests
IAM authorizes for it, companion actions included (tags given at creation
need the service's tagging action, creating a function passes its role,
GetFunction returns tags only with lambda:ListTags), and each is evaluated
against the exact rendered policy (tests/security/policy.py). A call with one
request denied fails AccessDenied before it is sent, as AWS answers.

install() runs in every Python process of the run, ansible-playbook's and each
module's, through tests/security/authorizing_site/sitecustomize.py: the run's
environment names the policy file (POLICY_ENV) and a JSON-lines file
(LOG_ENV) where each request is written with the Sid that allowed it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import botocore.session
from botocore.exceptions import ClientError

from tests.security.policy import Ec2Authorizer, Request, allowing_statement

POLICY_ENV = "NAT_ZERO_TEST_DEPLOYER_POLICY"
LOG_ENV = "NAT_ZERO_TEST_AUTHORIZATION_LOG"
ACCOUNT_ENV = "NAT_ZERO_TEST_ACCOUNT_ID"
SITE = Path(__file__).resolve().parent / "authorizing_site"
# IAM action prefixes of the services the deployer calls, by botocore service name.
PREFIXES = {
    "ec2": "ec2",
    "iam": "iam",
    "lambda": "lambda",
    "logs": "logs",
    "events": "events",
    "ssm": "ssm",
    "cloudwatch": "cloudwatch",
    "resourcegroupstaggingapi": "tag",
    "sns": "sns",
}
IAM_ACTION_NAMES = {"lambda:Invoke": "lambda:InvokeFunction"}


class DeployerAuthorizer:
    """Authorizes each call of one client against `policy` and logs the verdicts."""

    def __init__(self, client, policy: dict, log_path: str, account_id: str):
        self.service = client.meta.service_model.service_name
        self.prefix = PREFIXES[self.service]
        self.region = client.meta.region_name
        self.partition = client.meta.partition
        self.account = account_id
        self.policy = policy
        self.log_path = log_path
        self.strip_tags = False
        if self.service == "ec2":
            raw = _LookupClient("ec2", client)
            self.ec2 = Ec2Authorizer(None, policy, raw, self.region, account_id, self.partition)
        client.meta.events.register("before-parameter-build", self._authorize)
        client.meta.events.register("after-call.lambda.GetFunction", self._without_unlisted_tags)

    def _authorize(self, params, model, **_):
        requests = self.requests(model.name, params)
        for request in requests:
            request.sid = allowing_statement(self.policy, request.action, request.resource, request.context)
        self._log(requests)
        # GetFunction itself is allowed without ListTags; AWS then leaves the tags out.
        self.strip_tags = any(r.action == "lambda:ListTags" and r.sid is None for r in requests)
        denied = [r for r in requests if r.sid is None and not (model.name == "GetFunction" and r is not requests[0])]
        if denied:
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDenied",
                        "Message": "not authorized: " + "; ".join(f"{r.action} on {r.resource}" for r in denied),
                    }
                },
                model.name,
            )

    def _without_unlisted_tags(self, parsed, **_):
        if self.strip_tags:
            parsed.pop("Tags", None)

    def _log(self, requests):
        with open(self.log_path, "a") as log:
            for request in requests:
                log.write(json.dumps(asdict(request)) + "\n")

    # -- requests per service ------------------------------------------------------------

    def requests(self, operation: str, params: dict) -> list[Request]:
        if self.service == "ec2":
            return self.ec2.requests(operation, params)
        action = f"{self.prefix}:{operation}"
        action = IAM_ACTION_NAMES.get(action, action)
        return getattr(self, f"_{self.service}")(operation, action, params)

    def _arn(self, service: str, resource: str, region: bool = True, account: str | None = None) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account is None else account}:{resource}"
        )

    def _request(self, operation: str, action: str, resource: str, context: dict | None = None) -> Request:
        return Request(operation, action, resource, context or {})

    @staticmethod
    def _tag_context(tags) -> dict:
        pairs = tags.items() if isinstance(tags, dict) else ((t["Key"], t["Value"]) for t in tags or ())
        return {f"aws:RequestTag/{key}": [value] for key, value in pairs}

    def _iam(self, operation: str, action: str, params: dict) -> list[Request]:
        if operation == "CreateServiceLinkedRole":
            service = params["AWSServiceName"]
            resource = self._arn("iam", f"role/aws-service-role/{service}/*", region=False)
            return [self._request(operation, action, resource, {"iam:AWSServiceName": [service]})]
        if "InstanceProfileName" in params:
            profile = self._arn("iam", f"instance-profile/{params['InstanceProfileName']}", region=False)
            requests = [self._request(operation, action, profile)]
            if operation == "CreateInstanceProfile" and params.get("Tags"):
                tags = self._tag_context(params["Tags"])
                requests.append(self._request(operation, "iam:TagInstanceProfile", profile, tags))
            if operation == "AddRoleToInstanceProfile":
                # Putting a role in a profile passes it; whether IAM names the
                # service it goes to here is not documented: no iam:PassedToService.
                role = self._arn("iam", f"role/{params['RoleName']}", region=False)
                requests.append(self._request(operation, "iam:PassRole", role))
            return requests
        role = self._arn("iam", f"role/{params['RoleName']}", region=False)
        context = {"iam:PolicyARN": [params["PolicyArn"]]} if "PolicyArn" in params else {}
        requests = [self._request(operation, action, role, context)]
        if operation == "CreateRole" and params.get("Tags"):
            requests.append(self._request(operation, "iam:TagRole", role, self._tag_context(params["Tags"])))
        return requests

    def _function_arn(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return ":".join(name_or_arn.split(":")[:7])
        return self._arn("lambda", f"function:{name_or_arn}")

    def _lambda(self, operation: str, action: str, params: dict) -> list[Request]:
        if operation == "GetAccountSettings":
            return [self._request(operation, action, "*")]
        function = self._function_arn(params.get("FunctionName") or params["Resource"])
        requests = [self._request(operation, action, function)]
        if operation == "CreateFunction" and params.get("Tags"):
            requests.append(self._request(operation, "lambda:TagResource", function, self._tag_context(params["Tags"])))
        if operation == "GetFunction":
            requests.append(self._request(operation, "lambda:ListTags", function))
        if params.get("Role") and operation in ("CreateFunction", "UpdateFunctionConfiguration"):
            passed = {"iam:PassedToService": ["lambda.amazonaws.com"]}
            requests.append(self._request(operation, "iam:PassRole", params["Role"], passed))
        return requests

    def _logs(self, operation: str, action: str, params: dict) -> list[Request]:
        if operation == "DescribeLogGroups":
            return [self._request(operation, action, "*")]
        group = params.get("resourceArn") or self._arn("logs", f"log-group:{params['logGroupName']}")
        requests = [self._request(operation, action, group)]
        if operation == "CreateLogGroup" and params.get("tags"):
            requests.append(self._request(operation, "logs:TagResource", group, self._tag_context(params["tags"])))
        return requests

    def _events(self, operation: str, action: str, params: dict) -> list[Request]:
        rule = params.get("ResourceARN") or self._arn("events", f"rule/{params.get('Name') or params['Rule']}")
        requests = [self._request(operation, action, rule)]
        if operation == "PutRule" and params.get("Tags"):
            requests.append(self._request(operation, "events:TagResource", rule, self._tag_context(params["Tags"])))
        return requests

    def _ssm(self, operation: str, action: str, params: dict) -> list[Request]:
        # Public parameters (/aws/service/...) belong to no account.
        public = params["Name"].startswith("/aws/service/")
        name = params["Name"].lstrip("/")
        return [self._request(operation, action, self._arn("ssm", f"parameter/{name}", account="" if public else None))]

    def _cloudwatch(self, operation: str, action: str, params: dict) -> list[Request]:
        if "DashboardName" in params or "DashboardNames" in params:
            # Dashboards belong to the account, not a region: their ARN has none.
            names = params.get("DashboardNames") or [params["DashboardName"]]
            return [
                self._request(operation, action, self._arn("cloudwatch", f"dashboard/{n}", region=False)) for n in names
            ]
        alarms = [params["ResourceARN"]] if "ResourceARN" in params else None
        alarms = alarms or [
            self._arn("cloudwatch", f"alarm:{n}") for n in params.get("AlarmNames") or [params["AlarmName"]]
        ]
        requests = [self._request(operation, action, alarm) for alarm in alarms]
        if operation == "PutMetricAlarm" and params.get("Tags"):
            tags = self._tag_context(params["Tags"])
            requests.append(self._request(operation, "cloudwatch:TagResource", alarms[0], tags))
        return requests

    def _sns(self, operation: str, action: str, params: dict) -> list[Request]:
        if operation == "ListTopics":
            return [self._request(operation, action, "*")]
        if operation == "Unsubscribe":
            # A subscription ARN is its topic's ARN and an ID: IAM authorizes the topic.
            topic = params["SubscriptionArn"].rsplit(":", 1)[0]
        else:
            topic = params.get("TopicArn") or params.get("ResourceArn") or self._arn("sns", params["Name"])
        requests = [self._request(operation, action, topic)]
        if operation == "CreateTopic" and params.get("Tags"):
            requests.append(self._request(operation, "sns:TagResource", topic, self._tag_context(params["Tags"])))
        return requests

    def _resourcegroupstaggingapi(self, operation: str, action: str, params: dict) -> list[Request]:
        # GetResources has no resource type to scope it to.
        return [self._request(operation, action, "*")]


class _LookupClient:
    """A client of the same endpoint and credentials that is not authorized,
    for reading tags and VPCs; created on first use (most calls are reads
    that need no lookup, and decoding a service model costs a second)."""

    def __init__(self, service: str, like):
        self._service, self._like, self._client = service, like, None

    def __getattr__(self, name):
        if self._client is None:
            credentials = self._like._request_signer._credentials
            self._client = _PLAIN_SESSION.create_client(
                self._service,
                region_name=self._like.meta.region_name,
                endpoint_url=self._like.meta.endpoint_url,
                aws_access_key_id=credentials.access_key,
                aws_secret_access_key=credentials.secret_key,
                aws_session_token=credentials.token,
            )
        return getattr(self._client, name)


_PLAIN_SESSION = botocore.session.get_session()
_create_client = botocore.session.Session.create_client


def install() -> None:
    """Authorize every client of a service in PREFIXES this process creates."""
    policy_path, log_path = os.environ.get(POLICY_ENV), os.environ.get(LOG_ENV)
    if not policy_path or not log_path:
        return
    policy = json.loads(Path(policy_path).read_text())
    account = os.environ[ACCOUNT_ENV]

    def create_client(session, service_name, *args, **kwargs):
        client = _create_client(session, service_name, *args, **kwargs)
        if session is not _PLAIN_SESSION and service_name in PREFIXES:
            DeployerAuthorizer(client, policy, log_path, account)
        return client

    botocore.session.Session.create_client = create_client
