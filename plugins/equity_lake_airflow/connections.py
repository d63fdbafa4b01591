"""Reading an Airflow connection at task run time, shared by the per-service ``*_env`` modules.

Each service module maps its connection onto the environment variables the library reads; a
missing connection means the worker's own environment is the configuration.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any


def get_connection(conn_id: str) -> Any | None:
    """The connection ``conn_id``, or None when it is not defined (never at parse time)."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - absent connection: the environment is the config
        return None


def from_environment(names: Iterable[str]) -> dict[str, str]:
    """The worker's own values of ``names`` (unset or empty ones left out)."""
    return {name: os.environ[name] for name in names if os.environ.get(name)}


def masked(value: str) -> str:
    """Register ``value`` with Airflow's secrets masker and return it."""
    from airflow.sdk.log import mask_secret

    mask_secret(value)
    return value
