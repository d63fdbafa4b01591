"""Local servers the tests talk to over real protocols, started and stopped by PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from standins.base import free_port

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
TASK_IMAGE = "equity-lake-ingest:latest"


def task_image() -> str:
    """The task image on the local Docker engine, built (or reused) by docker/ingest/build.sh.

    Without an engine the calling test is skipped with the reason, and fails under CI=true:
    the docker runtime's tests must run there.
    """
    import pytest

    reason = _docker_missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the docker runtime tests: {reason}")
        pytest.skip(reason)
    subprocess.run(["bash", "docker/ingest/build.sh"], cwd=REPO, check=True)
    return TASK_IMAGE


def _docker_missing() -> str | None:
    """Why the Docker engine cannot be used here, or None."""
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"the Docker engine does not answer: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server at {url} did not start within {timeout}s") from None
            time.sleep(0.1)


class MotoS3:
    """moto's S3-compatible server on 127.0.0.1 (real S3 protocol over HTTP)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoS3:
        env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
        self.proc = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        wait_http(self.endpoint)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def create_bucket(self, name: str) -> None:
        import boto3

        boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=name)

    def env(self, bucket: str) -> dict[str, str]:
        return {
            "LAKE_URI": f"s3://{bucket}",
            "LAKE_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
