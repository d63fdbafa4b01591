"""The lake's pages on the Airflow API server (``plugins/equity_lake_views.py``).

Airflow's own API app (``airflow.api_fastapi.app.create_app``, what ``airflow api-server``
serves) runs under uvicorn on 127.0.0.1 with this repository's plugins folder and the simple
auth manager, and is spoken to over HTTP as a browser or a script would. The lake is a local
folder named only by the ``equity_lake_s3`` connection (the process's own ``LAKE_URI`` points
elsewhere), as a task would find it. It holds a small Data Docs site, named as GX names its
pages (spaces, ``:``, ``+``, U+2215 in file names; percent-encoded links), and a health page
that links into the site.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urljoin

import httpx
import pytest

from standins.base import free_port

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
USER, PASSWORD = "viewer", "viewer-password"

DOCS = "data/quality/docs"
RUN = "manual__2024-12-23T21:30:00+00:00"
BATCH = "daily-ticks 2024-12-23 chunk 1\u22152"  # GX writes "/" in a batch label as U+2215
PAGE = f"validations/daily_ticks/{RUN}/20241223T213500.000000Z/{BATCH}.html"
PAGE_LINK = "/".join(quote(part) for part in PAGE.split("/"))
SITE = {
    "index.html": (
        '<html><head><link rel="stylesheet" href="static/styles/docs.css"></head>'
        f'<body><a href="{PAGE_LINK}">{BATCH}</a></body></html>'
    ),
    PAGE: (
        '<html><head><link rel="stylesheet" href="../../../../static/styles/docs.css"></head>'
        '<body><a href="../../../../index.html">Home</a> Succeeded</body></html>'
    ),
    "static/styles/docs.css": "body { color: black; }",
    "static/fonts/font.woff2": "wOF2",
    "static/images/logo.png": "\x89PNG",
}
HEALTH = (
    "<html><body><h1>Lake health</h1>"
    f'<a href="../docs/{PAGE_LINK}">last failed chunk</a> <a href="../docs/">Data Docs</a>'
    "</body></html>"
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    for rel, text in SITE.items():
        put(root, f"{DOCS}/{rel}", text)
    put(root, "data/quality/health/index.html", HEALTH)
    # what the pages must never serve: objects outside the sites, and a non-page in the site
    put(root, "data/quality/secret.html", "SECRET-OUTSIDE-THE-SITES")
    put(root, f"{DOCS}/results.parquet", "SECRET-PARQUET")
    return root


def put(root: Path, key: str, text: str) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


@pytest.fixture(scope="module")
def server(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Airflow's API app with our plugins, on a free port; its base URL."""
    home = tmp_path_factory.mktemp("airflow_home")
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    port = free_port()
    connection = {"conn_type": "aws", "extra": {"lake_uri": lake.as_uri()}}
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret-of-enough-length-0123456789",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_CONN_EQUITY_LAKE_S3": json.dumps(connection),
        # the process's own setting names another (empty) lake: the connection wins, as in a task
        "LAKE_URI": (home / "not-the-lake").as_uri(),
        "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(REPO / "include")]),
    }
    env.pop("LAKE_S3_ENDPOINT", None)
    # the auth manager checks tokens against the revoked ones in the metadata DB
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, check=True)
    argv = [sys.executable, "-m", "uvicorn", "--factory", "airflow.api_fastapi.app:create_app"]
    log = (home / "api-server.log").open("w")
    proc = subprocess.Popen(
        [*argv, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (home / "api-server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the API server did not start"
            try:
                httpx.get(f"{base}/equity-lake/health/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def token(server: str) -> str:
    answer = httpx.post(f"{server}/auth/token", json={"username": USER, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def client(server: str, token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server, headers=headers, timeout=30) as client:
        yield client


def raw_get(base: str, path: str, token: str) -> tuple[int, str]:
    """GET ``path`` byte for byte as given (no client normalises ``..`` or encodings)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        answer = conn.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_the_health_page_and_the_docs_index_are_served_as_html(client, lake):
    health = client.get("/equity-lake/health/")
    assert health.status_code == 200
    assert health.headers["content-type"] == "text/html; charset=utf-8"
    assert health.content == (lake / "data/quality/health/index.html").read_bytes()
    index = client.get("/equity-lake/docs/")
    assert index.status_code == 200
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.text == SITE["index.html"]
    assert client.get("/equity-lake/docs/index.html").text == SITE["index.html"]
    # the UI shows them in a frame of its own origin, and a rebuilt page is never stale
    assert health.headers["x-frame-options"] == "SAMEORIGIN"
    assert health.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("rel", "content_type"),
    [
        ("static/styles/docs.css", "text/css; charset=utf-8"),
        ("static/fonts/font.woff2", "font/woff2"),
        ("static/images/logo.png", "image/png"),
    ],
)
def test_site_files_have_the_content_type_of_their_extension(client, rel, content_type):
    answer = client.get(f"/equity-lake/docs/{rel}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == content_type
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_relative_links_resolve_under_the_routes(client):
    """What a browser does with the pages' links: the health page's ``../docs/...`` reaches
    the site, the index reaches a nested validation page (GX's percent-encoded file name),
    and that page reaches the site's static files and index again."""
    seen = {}
    todo = ["/equity-lake/health/"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        answer = client.get(url)
        seen[url] = answer.status_code
        if answer.headers.get("content-type", "").startswith("text/html"):
            todo += [urljoin(url, link) for link in re.findall(r'href="([^"]+)"', answer.text)]
    assert set(seen.values()) == {200}, seen
    assert f"/equity-lake/docs/{PAGE_LINK}" in seen
    assert "/equity-lake/docs/static/styles/docs.css" in seen
    page = client.get(f"/equity-lake/docs/{PAGE_LINK}")
    assert page.text == SITE[PAGE]


def test_without_the_trailing_slash_a_page_redirects_to_it(client):
    for name in ("health", "docs"):
        answer = client.get(f"/equity-lake/{name}", follow_redirects=False)
        assert answer.status_code == 307
        assert answer.headers["location"] == f"{name}/"  # relative: any mount point
        assert client.get(f"/equity-lake/{name}", follow_redirects=True).status_code == 200


def test_a_page_not_built_yet_is_a_404_that_says_what_builds_it(client, lake):
    missing = client.get("/equity-lake/docs/validations/nothing-here.html")
    assert missing.status_code == 404
    assert missing.text == (
        "'validations/nothing-here.html' is not in the Data Docs site "
        "(`equity-lake health` or the record step of any dataset DAG rebuilds it)"
    )
    for key, url, name in [
        ("data/quality/health/index.html", "/equity-lake/health/", "The lake-health page"),
        (f"{DOCS}/index.html", "/equity-lake/docs/", "The Data Docs site"),
    ]:
        path = lake / key
        kept = path.read_bytes()
        path.unlink()
        try:
            answer = client.get(url)
        finally:
            path.write_bytes(kept)
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text == (
            f"{name} has not been built yet: `equity-lake health` or the record step of "
            "any dataset DAG builds it"
        )
        assert "\n" not in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/equity-lake/docs/../secret.html",
        "/equity-lake/docs/..%2Fsecret.html",
        "/equity-lake/docs/%2e%2e/secret.html",
        "/equity-lake/docs/static/..%2F..%2Fsecret.html",
        "/equity-lake/docs/%2e%2e%2F%2e%2e%2F%2e%2e%2Fquality/secret.html",
        "/equity-lake/docs/..%5Csecret.html",
        "/equity-lake/docs//secret.html",
        "/equity-lake/docs/./secret.html",
        "/equity-lake/docs/results.parquet",  # in the site's folder, but no page of it
        "/equity-lake/docs/static/%00.css",
        "/equity-lake/health/..%2Fsecret.html",
    ],
)
def test_paths_outside_the_sites_are_refused(server, token, path):
    status, body = raw_get(server, path, token)
    assert status in (400, 404), (status, body)
    assert "SECRET" not in body


def test_a_folder_is_no_page(client):
    answer = client.get("/equity-lake/docs/validations")
    assert answer.status_code == 404
    assert "not a page of the Data Docs site" in answer.text


def test_anonymous_users_get_no_page(server, token):
    for url in ("/equity-lake/health/", "/equity-lake/docs/", f"/equity-lake/docs/{PAGE_LINK}"):
        script = httpx.get(f"{server}{url}")
        assert script.status_code == 401
        assert "log in to Airflow" in script.text
        assert "Lake health" not in script.text and "Succeeded" not in script.text
        # a browser is sent to Airflow's login page, which brings it back afterwards
        browser = httpx.get(
            f"{server}{url}", headers={"Accept": "text/html"}, follow_redirects=False
        )
        assert browser.status_code == 303
        login = httpx.URL(browser.headers["location"])
        assert login.path == "/auth/login"
        assert login.params["next"] == unquote(f"{server}{url}")
    forged = httpx.get(f"{server}/equity-lake/health/", headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code in (401, 403)
    assert "Lake health" not in forged.text
    # the UI's session cookie is what a browser (and the UI's frame) presents
    with httpx.Client(base_url=server, cookies={"_token": token}) as browser:
        assert browser.get("/equity-lake/health/").status_code == 200


def test_airflow_lists_the_app_and_the_external_views(client):
    plugins = client.get("/api/v2/plugins").json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "equity_lake_views")
    assert [a["url_prefix"] for a in ours["fastapi_apps"]] == ["/equity-lake"]
    views = {v["name"]: v for v in ours["external_views"]}
    assert views["Lake health"]["href"] == "equity-lake/health/"
    assert views["Data Docs"]["href"] == "equity-lake/docs/"
    for view in views.values():
        assert view["destination"] == "nav"
        assert view["category"] == "browse"
        # the UI frames the view at /plugin/<url_route>; href resolves against its base URL
        assert view["url_route"] and not view["href"].startswith("/")
    errors = client.get("/api/v2/plugins/importErrors").json()
    assert errors["total_entries"] == 0, errors


def test_the_plugin_module_imports_no_heavy_library():
    code = (
        "import sys\n"
        "import equity_lake_views\n"
        "heavy = ('pandas', 'pyarrow', 'great_expectations', 'boto3',\n"
        "         'airflow.api_fastapi.core_api.security')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(REPO / "include")])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_task_logs_link_the_pages_on_the_api_server(monkeypatch):
    from equity_lake_airflow.lake_views import page_urls

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:28080/")
    assert page_urls() == {
        "data_docs": "http://127.0.0.1:28080/equity-lake/docs/",
        "health": "http://127.0.0.1:28080/equity-lake/health/",
    }
