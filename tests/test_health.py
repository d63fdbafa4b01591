"""The lake-health page: its figures from a lake the engine fed, the page in a browser with no
network, and ``equity-lake health``."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from equity_lake import cli, datasets, health, health_page, master_build, runs
from equity_lake.config import LakeConfig
from equity_lake.datasets import daily_ticks
from equity_lake.engine import runner
from equity_lake.engine.chunks import Chunk
from equity_lake.engine.dataset import Run
from equity_lake.engine.wap import QualityGateFailed
from equity_lake.lake import commits, keys
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster
from equity_lake.sources import registry
from tests.datasets.test_daily_ticks import CorruptSource

#: sessions fed: 2024-12-23 is skipped (a gap), 2024-12-24 has a quarantined chunk
FED = {dt.date(2024, 12, 19): 20, dt.date(2024, 12, 20): 20, dt.date(2024, 12, 24): 10}
GAP = dt.date(2024, 12, 23)
#: the page is built after the close of 2024-12-27: 2024-12-26 and 27 are missing
NOW = dt.datetime(2024, 12, 27, 22, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> LakeStore:
    """A lake the engine fed as the daily-ticks DAG does (ingest, then record), with a gap and
    a quarantined chunk, and its Data Docs built."""
    registry.DAILY_SOURCES["corrupt"] = CorruptSource
    store = LakeStore(LakeConfig((tmp_path_factory.mktemp("health") / "lake").as_uri()))
    built = master_build.build("sample").master
    store.write_table(keys.SECURITY_MASTER, built)
    symbols = SecurityMaster(built).active_on(GAP).column("symbol").to_pylist()[:20]
    spec = datasets.get("daily-ticks")
    try:
        for day in FED:
            run = f"run-{day}"
            chunks = 2 if day == dt.date(2024, 12, 24) else 1
            daily_ticks.ingest(store, day, chunk=Chunk(1, chunks), symbols=symbols, run_id=run)
            if chunks == 2:
                with pytest.raises(QualityGateFailed):
                    daily_ticks.ingest(
                        store, day, source="corrupt", chunk=Chunk(2, 2), symbols=symbols, run_id=run
                    )
            planned = [Chunk(i, chunks).label for i in range(1, chunks + 1)]
            runner.record(spec, store, Run(day, run), planned=planned)
    finally:
        registry.DAILY_SOURCES.pop("corrupt")
    runs.publish_data_docs(store)
    return store


def test_the_figures_come_from_what_the_engine_committed(lake):
    figures = health.gather(lake, now=NOW)
    assert figures.window[1:] == ("2024-12-24", health.WINDOW)
    assert figures.last_complete == "2024-12-27"
    ticks = next(d for d in figures.datasets if d.name == "daily-ticks")
    assert ticks.latest == health.Latest("2024-12-24", ("chunk-0001-of-0002",), "run-2024-12-24")
    assert ticks.behind == ["2024-12-26", "2024-12-27"]
    assert ticks.gaps == [GAP.isoformat()]
    assert ticks.rows == {d.isoformat(): n for d, n in FED.items()}
    assert ticks.securities == ticks.rows  # one bar per security and day
    listed = SecurityMaster.load(lake).active_on(GAP).num_rows
    assert ticks.coverage["2024-12-24"][0] == 10 and ticks.coverage[GAP.isoformat()] == (0, listed)
    assert ticks.validations == {"2024-12-19": (1, 0, 0), "2024-12-20": (1, 0, 0),
                                 "2024-12-24": (1, 1, 0)}  # fmt: skip
    assert ticks.objects == 20 and ticks.rows_held == 50 and ticks.bytes_estimate > 0
    # the quarantined chunk, with its Data Docs validation page
    [bad] = figures.quarantined
    assert (bad.dataset, bad.day, bad.partition, bad.current, bad.resolved) == (
        "daily-ticks", "2024-12-24", "chunk-0002-of-0002", True, False
    )  # fmt: skip
    assert any("high" in line for line in bad.failures)
    assert bad.page is not None and lake.exists(f"{keys.DATA_DOCS_PREFIX}/{bad.page}")
    assert figures.ranked[0][1:] == ("critical", 1) and "high" in figures.ranked[0][0]
    # nothing else was fed: other datasets say so rather than fail
    assert all(not d.rows for d in figures.datasets if d.name != "daily-ticks")
    listed_last = SecurityMaster.load(lake).active_on(dt.date(2024, 12, 24)).num_rows
    assert figures.master is not None and figures.master.listed[-1] == listed_last
    # bounded: per dataset three listings of names (its day folders, results, summaries), then
    # the window's days that have commits or results, and the quarantine
    assert figures.listings == 3 * len(figures.datasets) + 2 * len(FED) + 1
    assert figures.reads < 50  # the records, the quarantine, a few sizes


def test_the_page_links_the_quarantined_partition_to_its_validation_page(lake):
    uri = health_page.publish_health(lake, now=NOW)
    assert uri == lake.uri(keys.HEALTH_PAGE)
    page = Path(lake.path(keys.HEALTH_PAGE))
    html = page.read_text()
    [href] = re.findall(r"href='(\.\./docs/validations/[^']+)'", html)
    assert (page.parent / unquote(href)).resolve().is_file()
    assert "chunk-0002-of-0002" in html and "https://" not in html.split("<script")[0]


def test_the_cli_rebuilds_the_docs_and_the_page(lake, monkeypatch, capsys):
    monkeypatch.setenv("LAKE_URI", lake.config.uri)
    lake.delete(keys.HEALTH_PAGE)
    assert cli.main(["health"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["health"] == lake.uri(keys.HEALTH_PAGE) and lake.exists(keys.HEALTH_PAGE)
    assert result["data_docs"] == lake.uri(f"{keys.DATA_DOCS_PREFIX}/index.html")


def test_the_cli_on_a_lake_without_a_master_says_what_to_run(local_env, capsys):
    assert cli.main(["health"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no security master" in err and "equity-lake master build" in err
    assert not LakeStore().exists(keys.HEALTH_PAGE)


def test_the_page_draws_each_metric_offline_with_its_figures_beside_it(lake, tmp_path):
    from tests import browser

    try:
        browser.chromium()
    except browser.ChromiumMissing as exc:
        pytest.skip(str(exc))
    health_page.publish_health(lake, now=NOW)
    shot = tmp_path / "health.png"
    dom = browser.render(Path(lake.path(keys.HEALTH_PAGE)), shot, height=3200)
    assert shot.stat().st_size > 10_000
    cards = {c.split('"', 1)[0]: c for c in dom.split('data-metric="')[1:]}
    assert set(cards) == {
        "daily-ticks: rows per day",
        "daily-ticks: securities per day",
        "daily-ticks: coverage of the active universe (published / listed)",
        "daily-ticks: validations per day",
        "objects written in the window",
        "bytes of those objects (estimated)",
        "security master: listed, delisted (all time), ticker changes",
    }
    assert dom.count('class="plot-container plotly"') == len(cards)  # one chart per metric
    for title, card in cards.items():
        chart = re.sub(r"<script.*?</script>", "", card, flags=re.S).split("<table", 1)[0]
        assert 'class="main-svg"' in chart, title
        assert _marks(chart) > 0, f"{title}: nothing drawn"
    figures = {tuple(r.cells) for r in browser.rows(dom) if len(r.cells) == 2}
    assert ("latest", "10 (2024-12-24)") in figures  # rows and securities of the last day
    assert ("daily-ticks", "20") in figures  # objects
    [row] = browser.rows(dom, "quarantine")
    assert row.cells[:3] == ["2024-12-24", "daily-ticks", "chunk-0002-of-0002"]
    assert row.links[0].startswith("../docs/validations/")


def _marks(svg: str) -> int:
    """Drawn marks of a plotly chart: bars of non-zero height, line paths, markers."""
    bars = re.findall(r'<g class="point"><path d="M[\d.]+,([\d.]+)V([\d.]+)', svg)
    lines = re.findall(r'class="js-line" d="M[^"]*L', svg)
    markers = re.findall(r'<path class="point" transform=', svg)
    return sum(a != b for a, b in bars) + len(lines) + len(markers)


def test_the_record_step_on_a_lake_without_a_master_still_gets_a_page(local_env):
    store = LakeStore()
    uri = health_page.publish_health(store, now=NOW)
    html = store.read_bytes(keys.HEALTH_PAGE).decode()
    assert uri == store.uri(keys.HEALTH_PAGE)
    assert "no security master" in html and html.count("never run") == len(datasets.names())


def test_rows_and_entities_per_day_count_what_the_lake_holds():
    day, next_day = "2024-12-23", "2024-12-24"

    def record(run, at, objects, per_day, **extra):
        first, last = min(per_day), max(per_day)
        objects = {key: {"rows": rows, "sha256": "x"} for key, rows in objects.items()}
        return {"run_id": run, "at": at, "objects": objects, "per_day": per_day,
                "first": first, "last": last, **extra}  # fmt: skip

    rerun = [
        record("a", "1", {"o1": 1, "o2": 1}, {day: 2}),
        record("b", "2", {"o1": 1}, {day: 1}),  # a re-run of one security adds nothing
    ]
    assert commits.held_per_day(rerun) == ({day: 2}, {day: 2})
    backfill = record("c", "3", {"o1": 7}, {day: 3, next_day: 4})  # rows per day, not object
    assert commits.held_per_day([*rerun, backfill])[0] == {day: 3, next_day: 4}
    company = record("d", "4", {"ttm": 5, "metrics": 9}, {day: 14}, stored=["0000320193"])
    assert commits.held_per_day([company]) == ({day: 14}, {day: 1})  # one company, two objects


def test_rows_dated_outside_the_windows_sessions_still_make_a_page(local_env):
    """Derived metrics commit rows dated by the filings they come from (years back): the
    dataset's section says nothing fell on the window's sessions instead of failing."""
    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, master_build.build("sample").master)
    day = dt.date(2024, 12, 20)
    commits.commit(
        store,
        dataset="derived-metrics",
        day=day,
        run_id="r1",
        partition="chunk-0001-of-0001",
        record={"run_id": "r1", "day": "2024-12-20", "partition": "chunk-0001-of-0001",
                "at": "2024-12-20T22:00:00+00:00", "first": "2015-03-02",
                "last": "2015-03-02", "per_day": {"2015-03-02": 5},
                "objects": {"data/derived/x.parquet": {"rows": 5, "sha256": "0"}}},
    )  # fmt: skip
    uri = health_page.publish_health(store, now=NOW)
    page = store.read_bytes(keys.HEALTH_PAGE).decode()
    assert uri.endswith(keys.HEALTH_PAGE)
    assert "Nothing committed for the window" in page


def test_a_series_with_no_value_on_the_windows_sessions_still_gets_its_card():
    """Rows counted per day with no entity count that day (a range's commit): the card
    says so instead of failing the page (found by make demo on derived metrics)."""
    card = health_page._series_card(
        "x: companies per day", ["2024-12-20"], {}, health_page._Charts()
    )
    assert "0 of 1" in card
