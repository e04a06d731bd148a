"""Function URLs: each invokes the qualifier it was created on (the function, or an alias).

ListFunctionUrlConfigs "Returns a list of Lambda function URLs for the specified function",
every qualifier's, at most 50 per page: one call for almost every function.
"""

from __future__ import annotations

from typing import Any

from .. import clients
from ..models import TrafficSource
from .reading import Reading, attempt
from .subject import Subject


def read(subject: Subject, reading: Reading) -> bool:
    """Adds the URLs; False when they could not be read."""
    what = f"function URLs of {subject.function_name} (ListFunctionUrlConfigs)"
    configs = attempt(reading.unread, what, lambda: _configs(subject))
    for config in configs or []:
        qualifier = subject.qualifier_in(str(config.get("FunctionArn", "")))
        if qualifier is not None:
            auth = config.get("AuthType")
            reading.add(
                TrafficSource(
                    kind="function URL",
                    source=str(config.get("FunctionUrl")),
                    qualifier=qualifier,
                    detail=f"auth {auth}" if auth else None,
                )
            )
    return configs is not None


def _configs(subject: Subject) -> list[dict[str, Any]]:
    pages = clients.lambda_().get_paginator("list_function_url_configs")
    return [
        config
        for page in pages.paginate(FunctionName=subject.function_name)
        for config in page.get("FunctionUrlConfigs", [])
    ]
