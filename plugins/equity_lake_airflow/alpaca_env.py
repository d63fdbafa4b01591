"""Alpaca keys and endpoint for a task, from the ``alpaca_default`` connection.

Connection ``alpaca_default`` (type ``http``): login = API key id, password = API secret,
host = the market-data URL (``https://data.alpaca.markets`` or any Alpaca-compatible endpoint;
a host without a scheme gets ``https://`` and the port), extra ``{"feed": "iex" | "sip",
"rate_limit_per_minute": 200}``. It is exported to the variables the library reads
(``ALPACA_API_KEY_ID``, ``ALPACA_API_SECRET_KEY``, ``ALPACA_DATA_URL``, ``ALPACA_FEED``,
``ALPACA_RATE_LIMIT_PER_MINUTE``) at task run time; the key and secret are masked in logs.
Without the connection the worker's own ``ALPACA_*`` variables are used as they are.
"""

from __future__ import annotations

from equity_lake_airflow.connections import from_environment, get_connection, masked

CONN_ID = "alpaca_default"
PASSTHROUGH = (
    "ALPACA_API_KEY_ID",
    "ALPACA_API_SECRET_KEY",
    "ALPACA_DATA_URL",
    "ALPACA_FEED",
    "ALPACA_RATE_LIMIT_PER_MINUTE",
)


def data_url(host: str | None, port: int | None) -> str | None:
    """The connection's host as a base URL (``https://`` unless it names a scheme)."""
    if not host:
        return None
    host = host.rstrip("/")
    if "://" in host:
        return host
    return f"https://{host}{f':{port}' if port else ''}"


def alpaca_environment() -> dict[str, str]:
    """The ``ALPACA_*`` variables for the CLI (call at run time, never at parse time)."""
    env = from_environment(PASSTHROUGH)
    conn = get_connection(CONN_ID)
    if conn is None:
        return env
    extra = conn.extra_dejson or {}
    if conn.login:
        env["ALPACA_API_KEY_ID"] = masked(conn.login)
    if conn.password:
        env["ALPACA_API_SECRET_KEY"] = masked(conn.password)
    url = data_url(conn.host, conn.port)
    if url:
        env["ALPACA_DATA_URL"] = url
    if extra.get("feed"):
        env["ALPACA_FEED"] = str(extra["feed"])
    if extra.get("rate_limit_per_minute"):
        env["ALPACA_RATE_LIMIT_PER_MINUTE"] = str(extra["rate_limit_per_minute"])
    return env
