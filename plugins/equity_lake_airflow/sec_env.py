"""SEC EDGAR settings for a task, from the ``sec_edgar`` connection.

Connection ``sec_edgar`` (type ``http``): extra ``{"user_agent": "Jane Doe jane@example.com"}``
(``"User-Agent"`` is accepted too); optionally host = the JSON API's URL and extra
``{"www_url": "...", "max_rps": 10}``. They are exported to the variables the library reads
(``SEC_USER_AGENT``, ``SEC_DATA_URL``, ``SEC_WWW_URL``, ``SEC_MAX_RPS``) at task run time.
Without the connection the worker's own ``SEC_*`` variables are used as they are.

The SEC allows 10 requests per second per user in total. Every task that calls EDGAR runs in
the pool ``sec_api``; each one limits itself to ``SEC_MAX_RPS / SEC_RATE_SHARERS``, where
``SEC_RATE_SHARERS`` defaults to the pool's size (``POOL_SLOTS``, as declared in
``airflow_settings.yaml``): however many run at once, together they stay under the limit.
"""

from __future__ import annotations

from equity_lake_airflow.connections import from_environment, get_connection
from equity_lake_airflow.pools import SEC as POOL
from equity_lake_airflow.pools import SEC_SLOTS as POOL_SLOTS

CONN_ID = "sec_edgar"
__all__ = ["CONN_ID", "POOL", "POOL_SLOTS", "sec_environment"]
PASSTHROUGH = (
    "SEC_USER_AGENT",
    "SEC_DATA_URL",
    "SEC_WWW_URL",
    "SEC_MAX_RPS",
    "SEC_RATE_SHARERS",
    "SEC_TIMEOUT_SECONDS",
)


def sec_environment() -> dict[str, str]:
    """The ``SEC_*`` variables for the CLI (call at run time, never at parse time)."""
    env = from_environment(PASSTHROUGH)
    env.setdefault("SEC_RATE_SHARERS", str(POOL_SLOTS))
    conn = get_connection(CONN_ID)
    if conn is None:
        return env
    extra = conn.extra_dejson or {}
    agent = extra.get("user_agent") or extra.get("User-Agent") or extra.get("user-agent")
    if agent:
        env["SEC_USER_AGENT"] = str(agent)
    if conn.host:
        host = conn.host.rstrip("/")
        env["SEC_DATA_URL"] = host if "://" in host else f"https://{host}"
    if extra.get("www_url"):
        env["SEC_WWW_URL"] = str(extra["www_url"])
    if extra.get("max_rps"):
        env["SEC_MAX_RPS"] = str(extra["max_rps"])
    return env
