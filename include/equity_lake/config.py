"""Where the lake lives, read from the environment.

`LAKE_URI` names the lake (``file:///path`` or ``s3://bucket[/prefix]``); with no configuration
it is the folder ``lake/`` at the repository root. `LAKE_S3_ENDPOINT` points at an
S3-compatible server: pyarrow ignores ``AWS_ENDPOINT_URL``, so the endpoint is passed
explicitly. Credentials come only from the environment (or an Airflow connection exported into
it by the task); they never appear in code, images or ``repr``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """The lake configuration is unusable; the message names the setting."""


#: set by the task image; Kubernetes and ECS announce themselves
CONTAINER_MARKERS = (
    "EQUITY_LAKE_IN_CONTAINER",
    "KUBERNETES_SERVICE_HOST",
    "ECS_CONTAINER_METADATA_URI_V4",
)


def in_container(env: dict[str, str]) -> bool:
    """Whether the CLI runs as a task container (where a local default lake is lost)."""
    return any(env.get(marker) not in (None, "", "0") for marker in CONTAINER_MARKERS)


def default_lake_uri() -> str:
    """``lake/`` at the repository root (or the working directory for an installed package)."""
    root = REPO_ROOT if (REPO_ROOT / "pyproject.toml").exists() else Path.cwd()
    return (root / "lake").as_uri()


@dataclass(frozen=True)
class LakeConfig:
    """A resolved lake location: a scheme, a root (bucket[/prefix] or folder) and S3 options."""

    uri: str
    s3_endpoint: str | None = None
    s3_region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @property
    def scheme(self) -> str:
        return urlparse(self.uri).scheme

    @property
    def root(self) -> str:
        """The filesystem path of the lake root as pyarrow's filesystem expects it."""
        parsed = urlparse(self.uri)
        if parsed.scheme == "file":
            return parsed.path.rstrip("/") or "/"
        return (parsed.netloc + parsed.path).rstrip("/")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LakeConfig:
        env = dict(os.environ if env is None else env)
        if not env.get("LAKE_URI") and in_container(env):
            raise ConfigError(
                "LAKE_URI is not set: in a container the default folder would vanish with it; "
                "set LAKE_URI (s3://bucket or a mounted file:///path)"
            )
        uri = env.get("LAKE_URI") or default_lake_uri()
        parsed = urlparse(uri)
        if parsed.scheme not in ("file", "s3"):
            raise ConfigError(f"LAKE_URI must start with file:// or s3://, got {uri!r}")
        if parsed.scheme == "s3" and not parsed.netloc:
            raise ConfigError(f"LAKE_URI {uri!r} names no bucket")
        if parsed.scheme == "file" and not parsed.path.startswith("/"):
            raise ConfigError(f"LAKE_URI {uri!r} must be an absolute file:/// path")
        endpoint = env.get("LAKE_S3_ENDPOINT") or None
        if endpoint and urlparse(endpoint).scheme not in ("http", "https"):
            raise ConfigError(f"LAKE_S3_ENDPOINT must be an http(s) URL, got {endpoint!r}")
        return cls(
            uri=uri.rstrip("/"),
            s3_endpoint=endpoint,
            s3_region=env.get("LAKE_S3_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
        )
