"""rollout.samples: the role and traffic helpers the demo, tests and benchmark share."""

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor

from rollout.samples import LAMBDA_TRUST_POLICY, code_zip, lambda_role


def test_lambda_role_is_created_once_whoever_asks_first(isolated_cloud):
    with isolated_cloud(seams=[]) as cloud:
        iam = cloud.client("iam")
        with ThreadPoolExecutor(max_workers=4) as pool:
            arns = set(pool.map(lambda _: lambda_role(iam, "shared-role"), range(8)))
        role = iam.get_role(RoleName="shared-role")["Role"]
    assert arns == {role["Arn"]}
    assert "lambda.amazonaws.com" in LAMBDA_TRUST_POLICY


def test_code_zip_is_the_same_bytes_for_the_same_source():
    """Same source, same CodeSha256: PublishVersion makes a version only when code changed."""
    bundle = code_zip({"app.py": "def handler(e, c):\n    return 1\n", "lib/x.py": ""})
    assert bundle == code_zip({"app.py": "def handler(e, c):\n    return 1\n", "lib/x.py": ""})
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        assert archive.namelist() == ["app.py", "lib/x.py"]
        assert archive.read("app.py").startswith(b"def handler")
