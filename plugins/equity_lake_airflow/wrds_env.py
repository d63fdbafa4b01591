"""WRDS login for the ``crsp`` source, from the ``wrds_default`` connection.

Connection ``wrds_default`` (type ``postgres``): host = ``wrds-pgdata.wharton.upenn.edu``,
port = 9737, schema (the database) = ``wrds``, login / password = the WRDS account, extra
``{"sslmode": "require", "crsp_format": "auto" | "ciz" | "siz", "crsp_library": "crsp"}``.
It is exported at task run time to the variables the library reads (``WRDS_HOST``,
``WRDS_PORT``, ``WRDS_DB``, ``WRDS_USERNAME``, ``WRDS_PASSWORD``, ``WRDS_SSLMODE``,
``CRSP_FORMAT``, ``CRSP_LIBRARY``); the password is masked in logs. Without the connection
the worker's own variables are used as they are.
"""

from __future__ import annotations

from equity_lake_airflow.connections import from_environment, get_connection, masked

CONN_ID = "wrds_default"
PASSTHROUGH = (
    "WRDS_HOST",
    "WRDS_PORT",
    "WRDS_DB",
    "WRDS_USERNAME",
    "WRDS_PASSWORD",
    "WRDS_SSLMODE",
    "CRSP_FORMAT",
    "CRSP_LIBRARY",
)
EXTRAS = {"sslmode": "WRDS_SSLMODE", "crsp_format": "CRSP_FORMAT", "crsp_library": "CRSP_LIBRARY"}


def wrds_environment() -> dict[str, str]:
    """The ``WRDS_*``/``CRSP_*`` variables for the CLI (call at run time, never at parse time)."""
    env = from_environment(PASSTHROUGH)
    conn = get_connection(CONN_ID)
    if conn is None:
        return env
    if conn.host:
        env["WRDS_HOST"] = conn.host
    if conn.port:
        env["WRDS_PORT"] = str(conn.port)
    if conn.schema:
        env["WRDS_DB"] = conn.schema
    if conn.login:
        env["WRDS_USERNAME"] = conn.login
    if conn.password:
        env["WRDS_PASSWORD"] = masked(conn.password)
    extra = conn.extra_dejson or {}
    for key, variable in EXTRAS.items():
        if extra.get(key):
            env[variable] = str(extra[key])
    return env
