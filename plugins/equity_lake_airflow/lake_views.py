"""The lake-health page and the Data Docs site, served by the Airflow API server.

The plugin ``equity_lake_views`` mounts :data:`app` at :data:`URL_PREFIX`:

- ``/equity-lake/health/`` is the lake-health page (``keys.HEALTH_PAGE``);
- ``/equity-lake/docs/`` and everything under it is the Data Docs site
  (``keys.DATA_DOCS_PREFIX``; ``docs/`` is its ``index.html``).

The two routes are siblings, as the two sites are in the lake, so the health page's relative
links (``../docs/validations/...``) resolve here as they do in the lake. Pages are read from
the lake on each request, found as the tasks find it (the ``equity_lake_s3`` connection, else
the process's environment: :func:`lake_env.lake_environment`), so the UI shows what the last
run published.

Only a user whom Airflow's auth manager lets into its UI (the ``WEBSITE`` view) gets a page;
a browser without a session is sent to the login page and back. A request names a page of one
of the two sites, never a lake key: empty, ``.`` and ``..`` segments, back slashes, control
characters and file types the sites do not hold are refused.

The plugin is loaded by every Airflow process, so this module imports FastAPI only; Airflow's
security module, the lake store and pyarrow are imported by the first request.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from equity_lake.lake import keys

if TYPE_CHECKING:
    from equity_lake.config import LakeConfig
    from equity_lake.lake.store import LakeStore

URL_PREFIX = "/equity-lake"
#: what a missing page's answer names as the way to build it
BUILDERS = "`equity-lake health` or the record step of any dataset DAG"

#: the file types the two sites are made of; anything else is not a page of theirs
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
}
HEADERS = {
    "Cache-Control": "no-cache",  # every run republishes the pages under the same names
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",  # the Airflow UI shows the pages in a frame
}


def page_urls() -> dict[str, str]:
    """The two pages' addresses on this Airflow's API server (``[api] base_url``), for task
    logs to link; empty when no base URL is configured."""
    from airflow.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    if not base:
        return {}
    return {"data_docs": f"{base}{URL_PREFIX}/docs/", "health": f"{base}{URL_PREFIX}/health/"}


class NotAPage(ValueError):
    """A request path that names no page of the sites (the message says which)."""


class LoginRequired(Exception):
    """No Airflow session: a browser is sent to the login page, anything else gets a 401."""


_bearer = HTTPBearer(auto_error=False)


async def ui_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let through only a user the auth manager lets into the Airflow UI.

    Airflow's own ``get_user`` reads the same token the UI does (a bearer header, else the
    session cookie); ``requires_access_view`` answers 403 for a user without the UI.
    """
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user, requires_access_view

    try:
        user = await get_user(request, None, credentials)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            raise LoginRequired(exc.detail) from exc
        raise
    requires_access_view(AccessView.WEBSITE)(request, user)


app = FastAPI(
    title="equity-lake pages",
    docs_url=None,  # FastAPI's own /docs would shadow the Data Docs
    redoc_url=None,
    openapi_url=None,
)


@app.exception_handler(LoginRequired)
async def _to_login(request: Request, exc: LoginRequired) -> Response:
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        from airflow.api_fastapi.app import get_auth_manager

        login = get_auth_manager().get_url_login(next_url=str(request.url))
        return RedirectResponse(login, status_code=303)
    return PlainTextResponse(f"{exc}: log in to Airflow first", status_code=401)


@app.get("/health", include_in_schema=False)
@app.get("/docs", include_in_schema=False)
def _with_slash(request: Request) -> Response:
    """``health`` -> ``health/``: the pages' relative links need the trailing slash."""
    return RedirectResponse(request.url.path.rsplit("/", 1)[-1] + "/", status_code=307)


@app.get("/health/", dependencies=[Depends(ui_user)])
def health_page() -> Response:
    return _page(
        keys.HEALTH_PAGE, f"The lake-health page has not been built yet: {BUILDERS} builds it"
    )


@app.get("/docs/{path:path}", dependencies=[Depends(ui_user)])
def docs_page(path: str) -> Response:
    try:
        key = docs_key(path)
    except NotAPage as exc:
        return PlainTextResponse(str(exc), status_code=404)
    if key == f"{keys.DATA_DOCS_PREFIX}/index.html":
        return _page(key, f"The Data Docs site has not been built yet: {BUILDERS} builds it")
    return _page(key, f"{path!r} is not in the Data Docs site ({BUILDERS} rebuilds it)")


def docs_key(path: str) -> str:
    """The lake key of the Data Docs page at ``path`` (relative to the site's root; a folder
    means its ``index.html``), or NotAPage."""
    page = f"{path}index.html" if path == "" or path.endswith("/") else path
    parts = page.split("/")
    for part in parts:
        if part in ("", ".", "..") or "\\" in part or not part.isprintable():
            raise NotAPage(f"{path!r} is not a page of the Data Docs site")
    if os.path.splitext(parts[-1])[1].lower() not in CONTENT_TYPES:
        raise NotAPage(f"{path!r} is not a page of the Data Docs site (not a file type it holds)")
    return f"{keys.DATA_DOCS_PREFIX}/{page}"


def _page(key: str, missing: str) -> Response:
    """The object at ``key`` with its content type, or a 404 saying ``missing``."""
    from equity_lake.config import ConfigError

    try:
        data = lake().read_bytes(key)
    except ConfigError as exc:
        return PlainTextResponse(f"The lake is not configured: {exc}", status_code=503)
    except IsADirectoryError:
        data = None
    if data is None:
        return PlainTextResponse(missing, status_code=404)
    content_type = CONTENT_TYPES[os.path.splitext(key)[1].lower()]
    return Response(data, media_type=content_type, headers=HEADERS)


def lake() -> LakeStore:
    """The lake as the tasks see it: the ``equity_lake_s3`` connection, else this process's
    environment (read per request: a changed connection takes effect at once)."""
    from equity_lake.config import LakeConfig
    from equity_lake_airflow.lake_env import lake_environment

    return _store(LakeConfig.from_env({**os.environ, **lake_environment()}))


@functools.lru_cache(maxsize=4)
def _store(config: LakeConfig) -> LakeStore:
    from equity_lake.lake.store import LakeStore

    return LakeStore(config)
