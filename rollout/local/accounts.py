"""The local cloud's accounts and Regions: where a stack is deployed, and credentials that
act in each account as its administrator would.

A LocalCloud has a home account (moto's default, 123456789012: the `testing` credentials
act in it) and Region, and may have more accounts and Regions (`rollout local up
--regions … --accounts …`). moto keeps every service's data per account and Region, and
picks the account from the access key (`moto.iam.models.get_account_id_from`), so acting in a
member account means holding credentials STS issued for a role there.

Member accounts are set up as AWS Organizations sets up an account it creates: with the
role `OrganizationAccountAccessRole`, which trusts the management account ("Accessing
member accounts in your organization", AWS Organizations User Guide:
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html).
The cloud's own clients in a member account assume that role through STS, so they pass
the same trust check any caller's AssumeRole does (sts_trust.py). moto internals:
`iam_backends[account]["aws"].create_role(...)` and `.get_role`, pinned by
tests/local/test_accounts.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from moto.iam.models import iam_backends

HOME_ACCOUNT = "123456789012"  # moto's default account: where `testing` credentials act
MEMBER_ROLE = "OrganizationAccountAccessRole"
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True, order=True)
class AccountRegion:
    """An account and a Region."""

    account_id: str
    region: str

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region}"


def places(accounts: list[str], regions: list[str]) -> list[AccountRegion]:
    """Every account in every Region, the home place (first account, first Region) first."""
    return [AccountRegion(account, region) for account in accounts for region in regions]


def check_accounts(accounts: list[str]) -> None:
    """ValueError unless these are 12-digit accounts, distinct, the first one the home."""
    bad = [a for a in accounts if not _ACCOUNT.match(a)]
    if bad:
        raise ValueError(f"not 12-digit account IDs: {', '.join(bad)}")
    if len(set(accounts)) != len(accounts):
        raise ValueError("an account is named twice")
    if not accounts or accounts[0] != HOME_ACCOUNT:
        raise ValueError(
            f"the first account must be {HOME_ACCOUNT}, the local cloud's own (its "
            "`testing` credentials act there); name the others after it"
        )


def member_role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{MEMBER_ROLE}"


def create_member_role(account: str, management: str = HOME_ACCOUNT) -> str:
    """`OrganizationAccountAccessRole` in `account`, trusting the management account, as
    Organizations creates it; returns its ARN."""
    backend = iam_backends[account]["aws"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{management}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    try:
        return str(backend.get_role(MEMBER_ROLE).arn)
    except Exception:  # moto's NotFoundException: create it
        pass
    role = backend.create_role(
        role_name=MEMBER_ROLE,
        assume_role_policy_document=json.dumps(trust),
        path="/",
        permissions_boundary=None,
        description="Administrator access for the management account (as AWS Organizations)",
        tags=[],
        max_session_duration="3600",
    )
    return str(role.arn)
