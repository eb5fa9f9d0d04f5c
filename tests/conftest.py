"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from athena_harness import AthenaHarness, MotoServer


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server on loopback for the session; `athena` resets it for every test."""
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def athena(tmp_path, monkeypatch, moto_server) -> Iterator[AthenaHarness]:
    """Athena, Glue and S3 on moto, with queries executed on DuckDB over `athena.data_dir`.

    The environment is what the Lambda would see: AWS_ENDPOINT_URL, fake credentials,
    region, AWS_ATHENA_S3_STAGING_DIR, AWS_ATHENA_WORK_GROUP and FRAUD_ATHENA_DATABASE. The
    bucket, the Glue database and the contract's tables (from fraudlib.ddl) exist.
    """
    moto_server.reset()
    harness = AthenaHarness(moto_server.endpoint_url, tmp_path / "athena-data")
    harness.data_dir.mkdir()
    # Nothing from a real AWS config can leak in: no profile, no config or credentials file.
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    environment = {
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_ENDPOINT_URL": moto_server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": harness.region,
        "AWS_DEFAULT_REGION": harness.region,
        "AWS_ATHENA_S3_STAGING_DIR": harness.staging_dir,
        "AWS_ATHENA_WORK_GROUP": harness.work_group,
        "FRAUD_ATHENA_DATABASE": harness.database,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    harness.install(monkeypatch)
    harness.create_resources()
    yield harness
    moto_server.reset()
