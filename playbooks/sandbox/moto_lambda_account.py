#!/usr/bin/env python3
"""moto_server, plus Lambda's GetAccountSettings, which moto (5.x) answers 404.

The deploy reads the account's concurrency before reserving any (validation);
an emulator without the call could not be deployed to. The answer follows
moto's own model of the account's concurrency: the limit is
MOTO_LAMBDA_CONCURRENCY_QUOTA (moto enforces it on PutFunctionConcurrency when
set; 1000, AWS's default, when not), and the unreserved executions are the
limit less every function's reservation, as Lambda computes them.

Run as moto_server is: moto_lambda_account.py -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import json
import os
import sys

from moto import server
from moto.awslambda import urls
from moto.awslambda.responses import LambdaResponse

DEFAULT_CONCURRENCY_LIMIT = 1000


def get_account_settings(self) -> str:
    limit = int(os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA", DEFAULT_CONCURRENCY_LIMIT))
    functions = self.backend.list_functions()
    reserved = sum(int(f.reserved_concurrency or 0) for f in functions)
    return json.dumps(
        {
            "AccountLimit": {
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit - reserved,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "TotalCodeSize": 80530636800,
            },
            "AccountUsage": {"FunctionCount": len(functions), "TotalCodeSize": sum(f.code_size for f in functions)},
        }
    )


def install() -> None:
    LambdaResponse.get_account_settings = get_account_settings
    urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch


if __name__ == "__main__":
    install()
    server.main(sys.argv[1:])
