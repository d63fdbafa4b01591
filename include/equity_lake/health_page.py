"""The lake-health page as one self-contained HTML file (``health.gather``'s figures in).

The page is read where the lake is, which may have no internet: plotly's JavaScript is
inlined once, before the first chart, and nothing else is fetched. Every chart is small and
shows one metric, with its figures in a table beside it, so the page reads at a glance and
its numbers survive a browser without scripts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from equity_lake.health import (
    DatasetHealth,
    Health,
    MasterCounts,
    Quarantined,
    docs_link,
    gather,
)
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;background:#fafafa}
h1{margin:0 0 .3rem}h2{margin:2rem 0 .5rem;border-bottom:1px solid #ccc}h3{margin:1.2rem 0 .3rem}
.note{color:#555;max-width:70rem}.bad{color:#b00020;font-weight:600}.ok{color:#1b7f3b}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5rem .7rem}
.card h4{margin:0 0 .3rem;font-size:13px}table.figures{font-size:12px}
.card .body{display:flex;gap:.7rem;align-items:center}
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;vertical-align:top}
table.figures td:last-child,td.n{text-align:right;font-variant-numeric:tabular-nums}
table.list{background:#fff;border:1px solid #ddd}table.list th{background:#eee}
table.list td{border-top:1px solid #eee}
"""
_CONFIG = {"displayModeBar": False, "staticPlot": False, "responsive": False}


def publish_health(store: LakeStore, *, now: dt.datetime | None = None) -> str:
    """Rebuild the lake-health page (``keys.HEALTH_PAGE``) and return its URI. Build the Data
    Docs first (``runs.publish_data_docs``): the page links only to validation pages that
    exist."""
    store.write_bytes(keys.HEALTH_PAGE, render(gather(store, now=now)).encode())
    return store.uri(keys.HEALTH_PAGE)


class _Charts:
    """Renders plotly figures as divs: the library with the first, none after."""

    def __init__(self) -> None:
        self.count = 0

    def div(self, traces: list[dict], *, percent: bool = False, stacked: bool = False) -> str:
        import plotly.graph_objects as go

        figure = go.Figure(
            data=traces,
            layout={
                "width": 380,
                "height": 180,
                "margin": {"l": 50, "r": 10, "t": 30 if len(traces) > 1 else 10, "b": 30},
                "template": "plotly_white",
                "showlegend": len(traces) > 1,
                "legend": {"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
                "barmode": "stack" if stacked else "group",
                # sessions, not calendar time: a missing session is a hole, a weekend none
                "xaxis": {"type": "category", "nticks": 6},
                "yaxis": {"rangemode": "tozero", **({"ticksuffix": "%"} if percent else {})},
            },
        )
        self.count += 1
        return figure.to_html(
            full_html=False,
            include_plotlyjs=self.count == 1,
            config=_CONFIG,
            validate=False,
            div_id=f"chart-{self.count}",  # stable ids: the same lake, the same page
        )


def render(health: Health) -> str:
    """The page's HTML."""
    charts = _Charts()
    body = [
        _header(health),
        "<h2>Datasets</h2>",
        _freshness_table(health),
        *(_dataset_section(d, charts) for d in health.datasets),
        "<h2>Quality</h2>",
        _quality_section(health, charts),
        "<h2>The lake</h2>",
        _lake_section(health, charts),
        f'<p class="note">Built in {health.seconds} s from {health.listings} listings and '
        f"{health.reads} reads of the lake's metadata.</p>",
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Lake health: {escape(health.lake)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def _header(health: Health) -> str:
    first, last, count = health.window
    return (
        f"<h1>Lake health</h1><p>Lake <code>{escape(health.lake)}</code>, built "
        f"{escape(health.built_at)}. Window: the last {count} NYSE sessions to {escape(last)} "
        f"(from {escape(first)}), ending on the lake's latest recorded run; freshness against "
        f"the last complete session, {escape(health.last_complete)}. "
        f'<a href="{escape(docs_link("index.html"))}">Data Docs</a></p>'
    )


def _freshness_table(health: Health) -> str:
    rows = []
    for d in health.datasets:
        latest = d.latest
        if latest is not None:
            when = f"{latest.day}"
            parts = latest.partitions
            named = (
                ", ".join(parts) if len(parts) <= 3 else f"{len(parts)}: {parts[0]} .. {parts[-1]}"
            )
            what = f"{named} (run {latest.run_id})"
        else:
            when = "none in the window"
            what = f"last recorded run: {d.recorded}" if d.recorded else "no run recorded"
        behind = _behind(d)
        gaps = ", ".join(d.gaps[:8]) + (f" and {len(d.gaps) - 8} more" if len(d.gaps) > 8 else "")
        rows.append(
            f"<tr><td><a href='#{escape(d.name)}'>{escape(d.name)}</a></td><td>{escape(when)}"
            f"</td><td>{escape(what)}</td><td>{behind}</td><td>{escape(gaps) or 'none'}</td></tr>"
        )
    return (
        '<table class="list" id="freshness"><thead><tr><th>dataset</th><th>latest day</th>'
        "<th>latest partitions</th><th>sessions missing since</th><th>gaps in the window</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "<p class='note'>From the commit records of the window's days (a partition counts "
        "once its publish committed) and the run summaries' names.</p>"
    )


def _behind(d: DatasetHealth) -> str:
    if d.latest is None and d.recorded is None:
        return "never run"
    if d.run_day == "year_end":
        return "yearly"
    if not d.behind:
        return "<span class='ok'>up to date</span>"
    listed = ", ".join(d.behind[:5]) + (" ..." if len(d.behind) > 5 else "")
    return f"<span class='bad'>{len(d.behind)}</span>: {escape(listed)}"


def _dataset_section(d: DatasetHealth, charts: _Charts) -> str:
    head = f"<h3 id='{escape(d.name)}'>{escape(d.name)}</h3>"
    if not any(day in d.rows for day in d.days):  # derived metrics: rows dated by filings
        return head + "<p class='note'>Nothing committed for the window's sessions.</p>"
    cards = [
        _series_card(f"{d.name}: {d.rows_word} per day", d.days, d.rows, charts),
        _series_card(f"{d.name}: {d.entities} per day", d.days, d.securities, charts),
    ]
    if d.coverage:
        cards.append(_coverage_card(d, charts))
    return head + f"<div class='cards'>{''.join(cards)}</div>"


def _series_card(title: str, days: list[str], values: dict[str, int], charts: _Charts) -> str:
    shown = [day for day in days if day in values]
    chart = charts.div([{"type": "bar", "x": days, "y": [values.get(x) for x in days]}])
    if not shown:  # counted on other days (a backfill range's rows, not its securities)
        return _card(title, chart, [("days with values", f"0 of {len(days)}")])
    latest = shown[-1]
    numbers = [values[x] for x in shown]
    figures = [
        ("latest", f"{values[latest]:,} ({latest})"),
        ("lowest", f"{min(numbers):,}"),
        ("highest", f"{max(numbers):,}"),
        ("days with rows", f"{len(shown)} of {len(days)}"),
    ]
    return _card(title, chart, figures)


def _coverage_card(d: DatasetHealth, charts: _Charts) -> str:
    days = list(d.coverage)
    percent = [_percent(*d.coverage[x]) for x in days]
    chart = charts.div(
        [{"type": "scatter", "mode": "lines+markers", "x": days, "y": percent}], percent=True
    )
    published, expected = d.coverage[days[-1]]
    worst = min(days, key=lambda x: _percent(*d.coverage[x]))
    figures = [
        ("latest", f"{published:,} of {expected:,} ({_percent(published, expected):.1f}%)"),
        ("lowest", f"{_percent(*d.coverage[worst]):.1f}% ({worst})"),
        ("sessions under 100%", str(sum(p < 100 for p in percent))),
    ]
    title = f"{d.name}: coverage of the active universe (published / listed)"
    return _card(title, chart, figures)


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 100.0


def _card(title: str, chart: str, figures: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in figures)
    return (
        f"<div class='card' data-metric='{escape(title)}'><h4>{escape(title)}</h4>"
        f"<div class='body'><div class='chart'>{chart}</div>"
        f"<table class='figures'><tbody>{cells}</tbody></table></div></div>"
    )


def _quality_section(health: Health, charts: _Charts) -> str:
    cards = [_validations_card(d, charts) for d in health.datasets if d.validations]
    parts = [
        f"<div class='cards'>{''.join(cards)}</div>"
        if cards
        else "<p class='note'>No validations in the window.</p>",
        "<h3>Failed expectations, most frequent first</h3>",
        _ranked_table(health.ranked),
        "<h3>Quarantined partitions</h3>",
        _quarantine_table(health.quarantined),
        "<p class='note'>Validations: the gate results stored for the window's days (one per "
        "gated partition; a re-run replaces its partition's); failures: the quarantine's "
        "validation records; warnings: the commit records. Data Docs keep the last days' "
        "validation pages only.</p>",
    ]
    return "".join(parts)


def _validations_card(d: DatasetHealth, charts: _Charts) -> str:
    days = sorted(d.validations)
    series = list(zip(*(d.validations[x] for x in days), strict=True))
    names = ("passed", "failed", "warnings")
    colours = ("#1b7f3b", "#b00020", "#e69500")
    chart = charts.div(
        [
            {"type": "bar", "name": n, "x": days, "y": list(ys), "marker": {"color": c}}
            for n, ys, c in zip(names, series, colours, strict=True)
        ],
        stacked=True,
    )
    totals = [sum(ys) for ys in series]
    figures = [(n, f"{t:,}") for n, t in zip(names, totals, strict=True)]
    figures.append(("latest day", f"{days[-1]}: " + " / ".join(map(str, d.validations[days[-1]]))))
    return _card(f"{d.name}: validations per day", chart, figures)


def _ranked_table(ranked: list[tuple[str, str, int]]) -> str:
    if not ranked:
        return "<p class='note ok'>No expectation failed in the window.</p>"
    rows = "".join(
        f"<tr><td>{escape(head)}</td><td>{escape(sev)}</td><td class='n'>{n}</td></tr>"
        for head, sev, n in ranked
    )
    return (
        "<table class='list' id='ranked'><thead><tr><th>expectation</th><th>severity</th>"
        f"<th>partitions</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _quarantine_table(quarantined: list[Quarantined]) -> str:
    if not quarantined:
        return "<p class='note ok'>No partition was quarantined in the window.</p>"
    rows = []
    for q in quarantined:
        if q.page is not None:
            link = f"<a href='{escape(docs_link(q.page))}'>validation</a>"
        else:
            link = "no page (older than the Data Docs' days, or replaced)"
        state = _state(q)
        rows.append(
            f"<tr class='quarantined'><td>{escape(q.day)}</td><td>{escape(q.dataset)}</td>"
            f"<td>{escape(q.partition)}</td><td>{escape(q.run)}</td><td>{state}</td>"
            f"<td>{escape('; '.join(q.failures))}</td><td>{link}</td></tr>"
        )
    return (
        "<table class='list' id='quarantine'><thead><tr><th>day</th><th>dataset</th>"
        "<th>partition</th><th>run</th><th>state</th><th>failed expectations</th>"
        f"<th>Data Docs</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _state(q: Quarantined) -> str:
    if q.current:
        return "<span class='bad'>failing</span>"
    if q.resolved:
        return "<span class='ok'>passed later</span>"
    return "failed again later"


def _lake_section(health: Health, charts: _Charts) -> str:
    held = [d for d in health.datasets if d.objects]
    cards = []
    if held:
        names = [d.name for d in held]
        objects = charts.div([{"type": "bar", "x": names, "y": [d.objects for d in held]}])
        cards.append(
            _card(
                "objects written in the window", objects, [(d.name, f"{d.objects:,}") for d in held]
            )
        )
        sized = [d for d in held if d.bytes_estimate is not None]
        volume = charts.div([{"type": "bar", "x": [d.name for d in sized],
                              "y": [d.bytes_estimate for d in sized]}])  # fmt: skip
        cards.append(
            _card(
                "bytes of those objects (estimated)",
                volume,
                [(d.name, f"{_size(d.bytes_estimate or 0)} ({d.sampled} sized)") for d in sized],
            )
        )
    if health.master is not None:
        cards.append(_master_card(health.master, charts))
    note = (
        "<p class='note'>Objects: those the window's commit records name (the lake's whole "
        "history is not listed); bytes: the mean size of a few of them times their number. "
        "Security master: its periods (a period per ticker; delisted securities stay).</p>"
    )
    missing = f"<p class='bad'>{escape(health.master_note)}</p>" if health.master_note else ""
    return f"<div class='cards'>{''.join(cards)}</div>{missing}{note}"


def _master_card(master: MasterCounts, charts: _Charts) -> str:
    series = {"listed": master.listed, "delisted": master.delisted, "renamed": master.renamed}
    chart = charts.div(
        [
            {"type": "scatter", "mode": "lines", "name": name, "x": master.days, "y": ys}
            for name, ys in series.items()
        ]
    )
    figures = [
        (f"{name} on {master.days[-1]}", f"{ys[-1]:,} ({ys[-1] - ys[0]:+,} since {master.days[0]})")
        for name, ys in series.items()
    ]
    return _card("security master: listed, delisted (all time), ticker changes", chart, figures)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:,.1f} {unit}" if unit != "B" else f"{n:,} B"
        value /= 1024
    return f"{n:,} B"
