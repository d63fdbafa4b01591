"""Data Docs: a static HTML site built from stored gate results, readable with no network.

Gate results are kept as JSON (`GateResult.result`), one per partition and run. To publish
them, `build_site` loads them into the validation results store of a throwaway file-mode
GX context and lets GX's own site builder render one page per validation (and per suite),
writing straight into `out_dir`.

The site must work where the lake is read, which may have no internet access. GX's pages
pull jQuery, Bootstrap, bootstrap-table and Font Awesome from public CDNs, and GX's index is
built by bootstrap-table in the browser (offline it is a title and two buttons). So the
index is our own page (`templates/data_docs_index.html.j2`: one row per validation, sorted
and filtered by DataTables), and GX's pages are rewritten to local copies of the assets,
taken from the XStatic packages into `static/vendor/`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from equity_lake.quality.gate import is_warning, quiet_gx_logging

logger = logging.getLogger(__name__)

_SITE = "equity_lake"
# What GX's site builder owns inside the site directory; cleared before a rebuild so the
# site shows exactly the results passed in, not pages left over from an earlier build.
_SITE_ENTRIES = ("index.html", "validations", "expectations", "static")
#: where the third-party assets go inside the site
VENDOR_DIR = "static/vendor"
#: the assets the pages use, as (XStatic package, file in its data dir); copied to
#: VENDOR_DIR/<package>/<file>, so a stylesheet's relative url() (fonts) still resolves.
VENDOR_FILES = (
    ("jquery", "jquery.min.js"),
    ("bootstrap", "css/bootstrap.min.css"),
    ("bootstrap", "js/bootstrap.bundle.min.js"),  # with popper: GX's collapses and tooltips
    ("font_awesome", "css/fontawesome.min.css"),
    ("font_awesome", "css/solid.min.css"),  # GX's pages use solid icons only (fas)
    ("font_awesome", "webfonts/fa-solid-900.woff2"),
    ("font_awesome", "webfonts/fa-solid-900.ttf"),
    ("datatables", "js/jquery.dataTables.min.js"),
    ("datatables", "js/dataTables.bootstrap4.min.js"),
    ("datatables", "css/dataTables.bootstrap4.min.css"),
)
# GX's CDN assets, matched by a fragment of their URL, and the local copies that replace
# them. Every other external script or stylesheet (bootstrap-table, its filter control,
# datepicker, bootstrap-dark, vega) is dropped: GX's pages are server-rendered tables that
# need none of them.
_LOCAL_COPIES = (
    ("jquery", ("jquery/jquery.min.js",)),
    ("bootstrap.min.js", ("bootstrap/js/bootstrap.bundle.min.js",)),
    ("bootstrap.min.css", ("bootstrap/css/bootstrap.min.css",)),
    ("font-awesome", ("font_awesome/css/fontawesome.min.css", "font_awesome/css/solid.min.css")),
)
# What the pages still use of the 4 MB GX copies into static/ (the rest is never linked).
_GX_STATIC_KEPT = ("images/favicon.ico", "images/logo-long.png")
_EXTERNAL_ASSET = re.compile(
    r'<script\b[^>]*\bsrc="(https?://[^"]*)"[^>]*>\s*</script>'
    r'|<link\b[^>]*\bhref="(https?://[^"]*)"[^>]*>',
    re.IGNORECASE,
)
_REMOTE_LOGO = re.compile(r'src="https?://[^"]*/logo-long\.png[^"]*"')
# The dark-mode logo of GX's inline styles: the <img> logo (local) shows instead.
_REMOTE_CSS_URL = re.compile(r"""url\(\s*['"]?https?://[^)]*\)""")
# GX links the favicon one level short on validation pages (validations/static/...).
_FAVICON = re.compile(r'href="(?:\.\./)*static/images/favicon\.ico"')
_NEWSLETTER = re.compile(r"<footer>(?:(?!</footer>).)*greatexpectations\.io.*?</footer>", re.DOTALL)
_TEMPLATE = "data_docs_index.html.j2"


@dataclass(frozen=True)
class IndexRow:
    """One validation as the index lists it."""

    dataset: str
    date: str
    partition: str
    success: bool
    failed: tuple[str, ...]
    warnings: tuple[str, ...]
    run_name: str
    validated_at: str
    #: the validation's GX page, relative to the site root (URL-quoted)
    href: str


def build_site(results: Iterable[dict], out_dir: Path) -> Path:
    """Render validation results (GateResult.result dicts) as a Data Docs site in out_dir.

    Returns the path of the site's index.html. Results may come from many runs and days;
    each becomes one row of the index and one page under validations/. No page of the site
    loads anything from the network.
    """
    quiet_gx_logging()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    for entry in _SITE_ENTRIES:
        path = out_dir / entry
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    rows = _render_gx_pages(results, out_dir)
    _make_offline(out_dir)
    index = out_dir / "index.html"
    index.write_text(render_index(rows, _suite_pages(out_dir)), encoding="utf-8")
    return index


def _render_gx_pages(results: Iterable[dict], out_dir: Path) -> list[IndexRow]:
    """Let GX's site builder write a page per validation and per suite into out_dir; return
    the index rows of the validations, in the order given."""
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )

    schema = ExpectationSuiteValidationResultSchema()
    rows: list[IndexRow] = []
    with tempfile.TemporaryDirectory(prefix="equity-lake-docs-") as tmp:
        context = gx.get_context(mode="file", project_root_dir=tmp)
        context.add_data_docs_site(
            site_name=_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(out_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                # No GX tutorial buttons and newsletter footer on our published site.
                "show_how_to_buttons": False,
            },
        )
        latest: dict[str, tuple[str, dict]] = {}
        for raw in results:
            key = _result_key(raw)
            context.validation_results_store.set(key, schema.load(raw))
            rows.append(index_row(raw, key))
            run_time = key.run_id.run_time.isoformat()
            suite_name = raw["suite_name"]
            if suite_name not in latest or run_time >= latest[suite_name][0]:
                latest[suite_name] = (run_time, raw)
        for suite_name, (_, raw) in latest.items():
            _add_suite(context, suite_name, raw)
        context.build_data_docs(site_names=[_SITE])
    return rows


def _result_key(raw: dict) -> Any:
    """Store key (suite, run name, run time, batch) for a result, from the meta the gate wrote.

    Results from elsewhere may lack that meta; they still get a key, from GX's own fields.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    meta = raw.get("meta") or {}
    run = meta.get("run_id") or {}
    run_time = run.get("run_time") or meta.get("validation_time")
    if not run_time:
        run_time = dt.datetime.now(dt.UTC)
    run_id = RunIdentifier(run_name=run.get("run_name") or "unnamed", run_time=run_time)
    ours = meta.get("equity_lake") or {}
    label = ours.get("batch_label") or raw.get("batch_id") or "batch"
    return ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=raw["suite_name"]),
        run_id=run_id,
        batch_identifier=_key_part(str(label)),
    )


def validation_page(raw: dict, key: Any = None) -> str:
    """Where the site has the validation page of a result, relative to its root (GX's site
    builder names it by the store key): ``validations/{suite}/{run}/{time}/{batch}.html``."""
    key = _result_key(raw) if key is None else key
    return "validations/" + "/".join(key.to_tuple()) + ".html"


def _key_part(text: str) -> str:
    """GX's filesystem store forbids path separators in key parts; keep the label readable.

    "chunk 3/12" becomes "chunk 3∕12" (U+2215 DIVISION SLASH), which renders the same.
    """
    return text.replace("/", "\u2215").replace("\\", "\u29f5")


def _add_suite(context: Any, suite_name: str, raw: dict) -> None:
    """Give the site a page for the suite, rebuilt from the latest result that used it.

    The suite is rebuilt per run with that run's parameters, so the page says which run
    its values (trading date, row bounds) come from. A suite that cannot be rebuilt only
    costs its page; the validation pages are what matter.
    """
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    try:
        expectations = []
        for outcome in raw.get("results", []):
            config = outcome["expectation_config"]
            kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}
            expectations.append(
                ExpectationConfiguration(
                    type=config["type"], kwargs=kwargs, meta=config.get("meta") or {}
                ).to_domain_obj()
            )
        ours = (raw.get("meta") or {}).get("equity_lake") or {}
        source = ours.get("batch_label") or "the latest run"
        note = f"Expectations as run for {source}; run parameters vary by run."
        context.suites.add(
            gx.ExpectationSuite(
                name=suite_name,
                expectations=expectations,
                notes=note,
            )
        )
    except Exception:  # noqa: BLE001 - a missing suite page must not block the docs
        logger.warning("could not rebuild suite %s for Data Docs", suite_name, exc_info=True)


# --- the index -------------------------------------------------------------------------------


def index_row(raw: dict, key: Any) -> IndexRow:
    """What the index shows of one result: the gate's own meta where it wrote it (dataset,
    label "<dataset> <date> <partition>"), GX's fields otherwise."""
    meta = raw.get("meta") or {}
    ours = meta.get("equity_lake") or {}
    dataset = ours.get("dataset") or raw["suite_name"]
    label = str(ours.get("batch_label") or raw.get("batch_id") or "")
    date, partition = _date_and_partition(dataset, label, ours.get("params") or {})
    if not date:
        date = key.run_id.run_time.date().isoformat()
    outcomes = [r for r in raw.get("results", []) if not r.get("success", True)]
    return IndexRow(
        dataset=dataset,
        date=date,
        partition=partition,
        success=bool(raw.get("success")),
        failed=tuple(expectation_name(r) for r in outcomes if not is_warning(r)),
        warnings=tuple(expectation_name(r) for r in outcomes if is_warning(r)),
        run_name=key.run_id.run_name,
        validated_at=key.run_id.run_time.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        href=quote(validation_page(raw, key)),
    )


def _date_and_partition(dataset: str, label: str, params: dict) -> tuple[str, str]:
    """Split a gate label ("daily-ticks 2024-12-23 chunk 3/12") into date and partition;
    a label of another shape is the partition, dated by the run's parameters if they say."""
    words = label.split(" ", 2)
    if len(words) >= 2 and words[0] == dataset and _is_date(words[1]):
        return words[1], words[2] if len(words) == 3 else ""
    for name in ("trading_date", "as_of", "date"):
        if _is_date(str(params.get(name, ""))):
            return str(params[name]), label
    return "", label


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def expectation_name(outcome: dict) -> str:
    """An expectation as a person reads it in a list: its type and the columns it checks,
    e.g. "expect_column_values_to_be_between(volume)"."""
    config = outcome.get("expectation_config") or {}
    kwargs = config.get("kwargs") or {}
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    columns += list(kwargs.get("column_list") or [])
    return f"{config.get('type', 'expectation')}({', '.join(map(str, columns))})"


def _suite_pages(site: Path) -> list[tuple[str, str]]:
    """(suite name, site-relative link) of each suite page GX wrote: "a.b" is at
    expectations/a/b.html."""
    pages = sorted(site.glob("expectations/**/*.html"))
    return [
        (
            ".".join(p.relative_to(site / "expectations").with_suffix("").parts),
            quote(p.relative_to(site).as_posix()),
        )
        for p in pages
    ]


def render_index(rows: list[IndexRow], suites: list[tuple[str, str]]) -> str:
    """The index page: one row per validation, newest first, with per-column filters, and
    links to the suites' pages ((name, site-relative link) pairs)."""
    import jinja2

    source = files("equity_lake.quality").joinpath("templates", _TEMPLATE).read_text("utf-8")
    template = jinja2.Environment(autoescape=True).from_string(source)
    ordered = sorted(rows, key=lambda r: (r.date, r.validated_at), reverse=True)
    return template.render(
        rows=ordered,
        suites=suites,
        vendor=VENDOR_DIR,
        failed=sum(not r.success for r in rows),
        choices={
            "dataset": sorted({r.dataset for r in rows}),
            "date": sorted({r.date for r in rows}, reverse=True),
            "partition": sorted({r.partition for r in rows}),
            "result": ["failed", "passed"],
        },
    )


# --- offline assets --------------------------------------------------------------------------


def _make_offline(site: Path) -> None:
    """Give the site local copies of its assets and point GX's pages at them."""
    _keep_used_gx_static(site / "static")
    copy_vendor(site)
    for page in site.glob("*/**/*.html"):
        depth = len(page.relative_to(site).parts) - 1
        page.write_text(offline_page(page.read_text("utf-8"), "../" * depth), "utf-8")


def copy_vendor(site: Path) -> None:
    """Copy the third-party assets the pages use from the XStatic packages into the site
    (only those files: the site is rebuilt and uploaded by every DAG run)."""
    for package, name in VENDOR_FILES:
        base = Path(importlib.import_module(f"xstatic.pkg.{package}").BASE_DIR)
        target = site / VENDOR_DIR / package / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base / name, target)


def offline_page(html: str, root: str) -> str:
    """A GX page with its CDN scripts and stylesheets pointed at the site's copies, or
    dropped; root is the relative path from the page to the site's root ("../../")."""

    def local(match: re.Match[str]) -> str:
        url = match.group(1) or match.group(2)
        for fragment, copies in _LOCAL_COPIES:
            if fragment in url:
                return "".join(_asset_tag(f"{root}{VENDOR_DIR}/{copy}") for copy in copies)
        return ""

    html = _EXTERNAL_ASSET.sub(local, html)
    html = _REMOTE_LOGO.sub(f'src="{root}static/images/logo-long.png"', html)
    html = _REMOTE_CSS_URL.sub("none", html)
    html = _FAVICON.sub(f'href="{root}static/images/favicon.ico"', html)
    return _NEWSLETTER.sub("", html)


def _asset_tag(href: str) -> str:
    if href.endswith(".js"):
        return f'<script src="{href}"></script>'
    return f'<link rel="stylesheet" href="{href}">'


def _keep_used_gx_static(static: Path) -> None:
    """Drop what GX copies into static/ but no page links (fonts, tutorial images, styles
    that are inlined anyway): 4 MB uploaded by every DAG run for nothing."""
    kept = {name: (static / name).read_bytes() for name in _GX_STATIC_KEPT}
    shutil.rmtree(static)
    for name, data in kept.items():
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_bytes(data)
