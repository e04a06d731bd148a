"""What a seam is, and what a seam may use of the cloud that installs it.

The seams depend on `Cloud`, not on `LocalCloud`, so cloud.py imports every seam at module
level and no module of this package imports cloud.py back.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

SeamT = TypeVar("SeamT")


class Place(Protocol):
    """An account and Region: a Lambda function (moto's has both), or the cloud's defaults.

    What a function writes (its logs, its AWS/Lambda metrics) goes to its own place."""

    account_id: str
    region: str


class Cloud(Place, Protocol):
    """The part of a LocalCloud (cloud.py) the seams and their helpers use; `account_id`
    and `region` are the defaults its clients use."""

    metric_delay: float  # AWS/Lambda datapoints readable this long after their minute
    log_delay: float  # log events readable this long after they happen

    def client(
        self, service: str, *, region: str | None = None, account: str | None = None, **config: Any
    ) -> Any:
        """A boto3 client for this cloud, as a user would build one (in the default account
        and Region unless told otherwise)."""
        ...

    def client_env(
        self, *, region: str | None = None, account: str | None = None
    ) -> dict[str, str]:
        """Environment variables that point an SDK at this cloud."""
        ...

    def seam(self, kind: type[SeamT]) -> SeamT:
        """The installed seam of this kind, for a seam that serves what another one stores
        (the HTTP front door serves the function URLs FunctionUrls keeps)."""
        ...


class Seam(Protocol):
    """A piece that makes moto behave like AWS in one respect."""

    def install(self, cloud: Cloud) -> None: ...

    def uninstall(self) -> None: ...
