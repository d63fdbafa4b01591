"""Shared fixtures: a local lake folder, a local S3 server, and the built sample master."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import MotoS3

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3]:
    server = MotoS3().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: MotoS3, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh bucket on the local S3 server, configured as the lake through the environment."""
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(bucket)
    env = s3_server.env(bucket)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh local-folder lake configured through the environment."""
    uri = (tmp_path / "lake").as_uri()
    monkeypatch.setenv("LAKE_URI", uri)
    monkeypatch.delenv("LAKE_S3_ENDPOINT", raising=False)
    return {"LAKE_URI": uri}


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """A fresh SQLite metadata database for in-process ``dag.test()`` runs."""
    from airflow.utils import db

    db.initdb()
    yield
    shutil.rmtree(os.environ["AIRFLOW_HOME"], ignore_errors=True)


@pytest.fixture(scope="session")
def crsp_pg() -> Iterator[object]:
    """A local PostgreSQL holding a small WRDS-like ``crsp`` schema (tests/crsp_db.py)."""
    from standins.postgres import LocalPostgres, find_bin_dir
    from tests import crsp_db

    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install package postgresql")
    server = LocalPostgres(bin_dir).start()
    try:
        yield crsp_db.load(server)
    finally:
        server.stop()
