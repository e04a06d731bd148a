"""rollout.samples: the role and traffic helpers the demo, tests and benchmark share."""

from concurrent.futures import ThreadPoolExecutor

from rollout.samples import LAMBDA_TRUST_POLICY, lambda_role


def test_lambda_role_is_created_once_whoever_asks_first(isolated_cloud):
    with isolated_cloud(seams=[]) as cloud:
        iam = cloud.client("iam")
        with ThreadPoolExecutor(max_workers=4) as pool:
            arns = set(pool.map(lambda _: lambda_role(iam, "shared-role"), range(8)))
        role = iam.get_role(RoleName="shared-role")["Role"]
    assert arns == {role["Arn"]}
    assert "lambda.amazonaws.com" in LAMBDA_TRUST_POLICY
