"""Lake location and credentials for a task, from an Airflow connection or the environment.

Connection ``equity_lake_s3`` (type ``aws``): login = access key id, password = secret key,
extra ``{"endpoint_url": "...", "region_name": "...", "lake_uri": "s3://bucket"}``. Without
the connection the worker's environment (``LAKE_URI``, ``LAKE_S3_ENDPOINT``, ``AWS_*``) is
used as is. Secrets are registered with Airflow's masker so they never reach task logs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator

from equity_lake_airflow.alpaca_env import alpaca_environment
from equity_lake_airflow.connections import from_environment, get_connection, masked
from equity_lake_airflow.sec_env import sec_environment
from equity_lake_airflow.wrds_env import wrds_environment

CONN_ID = "equity_lake_s3"
PASSTHROUGH = (
    "LAKE_URI",
    "LAKE_S3_ENDPOINT",
    "LAKE_S3_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
)
#: the variables that are secrets: a container runtime passes them masked (docker) or by
#: reference to the cluster's own secret store (kubernetes, ecs), never as plain settings
SECRET_VARIABLES = frozenset(
    {
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "ALPACA_API_KEY_ID",
        "ALPACA_API_SECRET_KEY",
        "WRDS_PASSWORD",
    }
)


def lake_environment() -> dict[str, str]:
    """The variables the CLI reads to find the lake (call at run time, never at parse time)."""
    env = from_environment(PASSTHROUGH)
    conn = get_connection(CONN_ID)
    if conn is None:
        return env
    extra = conn.extra_dejson or {}
    if conn.login:
        env["AWS_ACCESS_KEY_ID"] = conn.login
    if conn.password:
        env["AWS_SECRET_ACCESS_KEY"] = masked(conn.password)
    if extra.get("aws_session_token"):
        env["AWS_SESSION_TOKEN"] = masked(extra["aws_session_token"])
    if extra.get("endpoint_url"):
        env["LAKE_S3_ENDPOINT"] = extra["endpoint_url"]
    if extra.get("region_name"):
        env["LAKE_S3_REGION"] = extra["region_name"]
    if extra.get("lake_uri"):
        env["LAKE_URI"] = extra["lake_uri"]
    return env


@contextlib.contextmanager
def applied(env: dict[str, str]) -> Iterator[None]:
    """Run in-process code with ``env`` set, restoring the worker's environment afterwards."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def task_environment(services: Iterable[str] = ()) -> dict[str, str]:
    """The lake's settings plus those of the sources a task calls, and nothing else: a daily
    ticks chunk on the sample source never sees the Alpaca, WRDS or SEC secrets."""
    env = lake_environment()
    for service in services:
        env.update(SERVICE_ENVIRONMENTS[service]())
    return env


def split_secrets(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``env`` as (settings, secrets)."""
    settings = {k: v for k, v in env.items() if k not in SECRET_VARIABLES}
    return settings, {k: v for k, v in env.items() if k in SECRET_VARIABLES}


#: a dataset's declared services (``Dataset.services``) -> the exporter of their settings
SERVICE_ENVIRONMENTS: dict[str, Callable[[], dict[str, str]]] = {
    "alpaca": alpaca_environment,
    "wrds": wrds_environment,
    "sec": sec_environment,
}
