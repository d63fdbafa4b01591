"""Data Docs as a person sees them in a browser with no network: headless Chromium, every
host but 127.0.0.1 unreachable (tests/browser.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.server
import json
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from equity_lake import runs
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from equity_lake.quality import validate_table
from equity_lake.quality.docs import build_site
from tests.browser import Row, render, rows
from tests.quality.quality_tables import ROWS, make_daily_ticks, set_cell

DAY1, DAY2 = dt.date(2024, 12, 23), dt.date(2024, 12, 24)
#: (day, partition, passes): what the gate saw, as the engine labels it
PARTITIONS = (
    (DAY1, "chunk-0001-of-0002", True),
    (DAY1, "chunk-0002-of-0002", True),
    (DAY2, "chunk-0001-of-0001", False),
)
FAILED = "expect_column_values_to_be_between(volume)"
# What loads a resource: a script or image source, a stylesheet link, a CSS url() or @import.
_REMOTE_RESOURCE = re.compile(
    r"""<(?:script|img|iframe|source|embed)\b[^>]*\bsrc=["']?(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref=["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)
# A page's link to a file of the site, or a stylesheet's (url(...) to its fonts).
_LOCAL_REFERENCE = re.compile(
    r"""(?:src|href)="(?!https?:|#|mailto:|javascript:)([^"#?]+)"""
    r"""|url\(\s*["']?(?!data:|https?:|#)([^"')?#]+)"""
)


@pytest.fixture(scope="module")
def results() -> list[dict]:
    """Gate results of three partitions over two days, one failed, stored as the lake
    stores them (JSON round trip)."""
    stored = []
    for day, partition, passes in PARTITIONS:
        table = make_daily_ticks(day=day)
        if not passes:
            table = set_cell(table, "volume", 4, -1)
        outcome = validate_table(
            "daily-ticks",
            table,
            {"trading_date": day, "expected_rows": ROWS, "min_rows": ROWS - 5},
            run_name=f"scheduled__{day}",
            batch_label=f"daily-ticks {day} {partition}",
        )
        assert outcome.success is passes
        stored.append(json.loads(json.dumps(outcome.result)))
    return stored


@pytest.fixture(scope="module")
def site(results: list[dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(results, tmp_path_factory.mktemp("docs") / "site").parent


def _validations(dom: str) -> list[Row]:
    return rows(dom, "validations")


def _by_partition(listed: list[Row]) -> dict[str, Row]:
    return {row.cells[2]: row for row in listed}


def test_the_browser_reaches_127_0_0_1_and_nothing_else(tmp_path: Path) -> None:
    """The harness itself: a page that pulls a script from another host (standing in for a
    CDN: localhost and 127.0.0.2 reach the same server) runs without it."""
    for name, marker in (("local.js", "LOCAL"), ("cdn.js", "FROM-CDN")):
        (tmp_path / name).write_text(f"document.body.dataset.{marker.lower()[:5]} = '{marker}';")
    with _serving(tmp_path) as port:
        (tmp_path / "page.html").write_text(
            "<html><body><p>page</p>"
            f'<script src="http://127.0.0.1:{port}/local.js"></script>'
            f'<script src="http://localhost:{port}/cdn.js"></script>'
            f'<script src="http://127.0.0.2:{port}/cdn.js"></script>'
            "</body></html>"
        )
        dom = render(f"http://127.0.0.1:{port}/page.html", tmp_path / "shot.png", wait_ms=2000)

    assert 'data-local="LOCAL"' in dom
    assert "FROM-CDN" not in dom


def test_the_index_lists_every_validation_with_its_outcome(site: Path, tmp_path: Path) -> None:
    shot, console = tmp_path / "index.png", []
    dom = render(site / "index.html", shot, console=console)

    listed = _by_partition(_validations(dom))
    assert sorted(listed) == sorted(p for _, p, _ in PARTITIONS)
    failed = listed["chunk-0001-of-0001"]
    assert failed.cells[:4] == ["daily-ticks", str(DAY2), "chunk-0001-of-0001", "failed"]
    assert failed.cells[4] == FAILED
    for partition in ("chunk-0001-of-0002", "chunk-0002-of-0002"):
        assert listed[partition].cells[1:5] == [str(DAY1), partition, "passed", ""]
    assert "Showing 1 to 3 of 3 entries" in dom  # DataTables ran on local assets
    assert shot.stat().st_size > 20_000  # a rendered table, not a blank page
    assert _errors(console) == []  # no script failed


def test_filters_leave_only_the_matching_validations(site: Path, tmp_path: Path) -> None:
    """The filters, set from the URL as a bookmark would: failed ones, then one day."""
    failed = _validations(render(f"{site / 'index.html'}#result=failed", tmp_path / "f.png"))
    one_day = _validations(render(f"{site / 'index.html'}#date={DAY1}", tmp_path / "d.png"))

    assert [row.cells[2:5] for row in failed] == [["chunk-0001-of-0001", "failed", FAILED]]
    assert sorted(row.cells[2] for row in one_day) == ["chunk-0001-of-0002", "chunk-0002-of-0002"]


def test_a_validation_page_renders_its_tables(site: Path, tmp_path: Path) -> None:
    index = (site / "index.html").read_text("utf-8")
    [href] = _by_partition(_validations(index))["chunk-0001-of-0001"].links
    page = site / urllib.parse.unquote(href)

    console: list[str] = []
    dom = render(page, tmp_path / "page.png", console=console)

    body_rows = rows(dom)
    assert len(body_rows) > 20  # statistics and one row per expectation
    assert any("must be greater than or equal to" in " ".join(r.cells) for r in body_rows)
    assert "Failed" in dom and 'src="../../../../static/images/logo-long.png"' in dom
    assert _errors(console) == []  # GX's own scripts run on the local jQuery and Bootstrap


def test_no_page_loads_anything_from_the_network(site: Path) -> None:
    """Over every text file of the site (pages, stylesheets, scripts): nothing remote, and
    every local link of a page or stylesheet resolves to a file of the site."""
    texts = {path: _text(path) for path in site.rglob("*") if path.is_file()}
    texts = {path: text for path, text in texts.items() if text is not None}
    assert len([p for p in texts if p.suffix == ".html"]) == len(PARTITIONS) + 2  # + index, suite
    assert any(p.suffix == ".js" for p in texts) and any(p.suffix == ".css" for p in texts)

    remote = {str(p.relative_to(site)): _REMOTE_RESOURCE.findall(t) for p, t in texts.items()}
    assert {name: found for name, found in remote.items() if found} == {}
    missing = [
        (str(path.relative_to(site)), ref)
        for path, text in texts.items()
        if path.suffix in (".html", ".css")
        for ref in (a or b for a, b in _LOCAL_REFERENCE.findall(text))
        if not (path.parent / urllib.parse.unquote(ref)).exists()
    ]
    assert missing == []


def test_the_site_on_s3_is_served_to_a_browser(
    s3_env: dict[str, str], results: list[dict], tmp_path: Path
) -> None:
    """Published under the lake on S3 and read straight from the S3 server over HTTP."""
    store = LakeStore()
    for (day, partition, _), result in zip(PARTITIONS, results, strict=True):
        store.write_json(keys.quality_result("daily-ticks", day, partition), result)
    runs.publish_data_docs(store, days=2)
    _let_anyone_read(s3_env, store.root, keys.DATA_DOCS_PREFIX)
    site = f"{s3_env['LAKE_S3_ENDPOINT']}/{store.root}/{keys.DATA_DOCS_PREFIX}"

    assert _content_type(f"{site}/index.html") == "text/html"
    assert _content_type(f"{site}/static/vendor/bootstrap/css/bootstrap.min.css") == "text/css"
    assert "javascript" in _content_type(f"{site}/static/vendor/jquery/jquery.min.js")
    listed = _validations(render(f"{site}/index.html", tmp_path / "s3.png"))
    assert len(listed) == len(PARTITIONS)


def _let_anyone_read(env: dict[str, str], bucket: str, prefix: str) -> None:
    """What a deployment that serves the site from S3 does: a bucket policy letting anyone
    read the site's prefix (and only it). Without it S3 answers 403 to a browser."""
    import boto3

    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
    }
    client = boto3.client(
        "s3",
        endpoint_url=env["LAKE_S3_ENDPOINT"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    client.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )


def _text(path: Path) -> str | None:
    """A file's text, or None for a binary one (fonts, images)."""
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError:
        return None


def _errors(console: list[str]) -> list[str]:
    return [line for line in console if line.startswith("Uncaught")]


def _content_type(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get_content_type()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@contextlib.contextmanager
def _serving(folder: Path) -> Iterator[int]:
    """A static file server for folder on 127.0.0.1 (a free port, yielded) for one `with`."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
