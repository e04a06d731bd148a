"""What an HTTP front end does around the event: invoke the function synchronously, and read
who signed a request.

Invoking: through Lambda's own Invoke (`LambdaBackend.invoke`, which the runtime seam
replaces), with the qualifier the URL or integration names, so an alias draws its version
by its routing weights on every request, runs in its execution environments, and writes
the logs and AWS/Lambda metrics any invocation writes. A throttle (the function's reserved
concurrency) is `Throttled`; a function or qualifier that doesn't exist (any other Lambda
error) is `NotInvoked`.

Signing ("Signing AWS API requests", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html):
an AWS_IAM function URL or route takes requests signed with Signature Version 4 in the
`Authorization` header, `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
SignedHeaders=…, Signature=…`. `signature()` reads that header's shape; the signature's
value is not recomputed, as no API of the local cloud checks one (moto accepts any key).
The caller is the key's identity as STS's GetCallerIdentity resolves it in moto (an IAM
user's key, an assumed role's, or the account's default).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError
from moto.iam.models import get_account_id_from
from moto.utilities.arns import parse_arn

from rollout.local.cloudtrail import Identity
from rollout.local.lambda_runtime import TooManyRequestsException

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=[0-9a-f]{64}$"
)


class Throttled(Exception):
    """Lambda throttled the invocation (TooManyRequestsException)."""


class NotInvoked(Exception):
    """Lambda refused the invocation: no such function or qualifier, or another error."""


@dataclass(frozen=True)
class Invoked:
    payload: bytes
    errored: bool  # X-Amz-Function-Error: the function raised, timed out or crashed
    executed_version: str


def invoke(function_arn: str, event: dict[str, Any]) -> Invoked:
    """A RequestResponse invocation of `function_arn` (qualified or not) with `event`."""
    arn = parse_arn(function_arn)
    name, _, qualifier = arn.resource_id.partition(":")
    backend = lambda_backends[arn.account][arn.region]
    answer: dict[str, Any] = {}
    headers = {"X-Amz-Invocation-Type": "RequestResponse"}
    try:
        payload = backend.invoke(name, qualifier or None, json.dumps(event), headers, answer)
    except TooManyRequestsException as error:
        raise Throttled(error.message) from error
    except JsonRESTError as error:
        raise NotInvoked(f"{error.error_type}: {error.message}") from error
    return Invoked(
        payload=payload if isinstance(payload, bytes) else str(payload or "").encode(),
        errored="x-amz-function-error" in answer,
        executed_version=str(answer.get("x-amz-executed-version", "")),
    )


@dataclass(frozen=True)
class Signature:
    """The credential scope of a SigV4 `Authorization` header."""

    access_key: str
    region: str
    service: str
    signed_headers: tuple[str, ...]

    def covers(self, region: str, service: str) -> bool:
        """Signed for this Region and service, host included, as SigV4 requires."""
        return self.region == region and self.service == service and "host" in self.signed_headers


def signature(authorization: str | None, amz_date: str | None) -> Signature | None:
    """The request's SigV4 signature, or None when it carries none (or a malformed one)."""
    match = _AUTHORIZATION.match((authorization or "").strip())
    if match is None or not amz_date:
        return None
    return Signature(
        access_key=match["key"],
        region=match["region"],
        service=match["service"],
        signed_headers=tuple(match["signed"].split(";")),
    )


def caller(signed: Signature) -> Identity:
    """Who signed: the key's account and identity, as moto's STS resolves them."""
    account = get_account_id_from(signed.access_key)
    return Identity.of(signed.access_key, account, signed.region)


def iam_authorizer(who: Identity) -> dict[str, Any]:
    """`requestContext.authorizer` of an IAM-authorized request (payload format 2.0)."""
    return {
        "iam": {
            "accessKey": who.access_key_id,
            "accountId": who.account_id,
            "callerId": who.principal_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": who.arn,
            "userId": who.principal_id,
        }
    }
