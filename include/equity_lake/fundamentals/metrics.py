"""Fundamental ratios, point in time: one row per metric per date its value changed.

Every metric is computed from the TTM rows (``ttm.py``) known on its ``as_of_date`` (the
latest row of each input on or before that date), so it was computable then and never uses
a value filed later; the row names its inputs (concept, period end, accession) as provenance.
A missing input or a zero denominator gives no row, never inf or a sentinel; ratios combine
values of one unit only.

Averages (ROA, ROE, asset turnover, accruals) use the balance at the TTM's end and the one
closest to a year before it (within ``YEAR_TOLERANCE_DAYS``), both as known that day; growth
compares the TTM with the TTM ending a year before, as known that day.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

METRICS_SCHEMA = pa.schema(
    [
        ("cik", pa.string()),
        ("as_of_date", pa.date32()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        # the end of the latest period among the inputs (the TTM's end)
        ("period_end", pa.date32()),
        # "concept end accession" of each input, "; "-separated
        ("inputs", pa.string()),
        # the latest as_of_date among the inputs (on or before as_of_date)
        ("inputs_known", pa.date32()),
    ]
)
#: how far from a year before a comparison period may end (52/53-week years, calendar drift)
YEAR_TOLERANCE_DAYS = 10
_YEAR = dt.timedelta(days=365)


@dataclass(frozen=True)
class Known:
    """The TTM rows of one company known on one day: concept -> unit -> rows by end."""

    rows: dict[str, dict[str, list[dict]]]

    def latest(self, concept: str, unit: str) -> dict | None:
        """The concept's latest-ending row in ``unit`` (the current TTM or balance)."""
        found = self.rows.get(concept, {}).get(unit)
        return found[-1] if found else None

    def year_before(self, concept: str, unit: str, end: dt.date) -> dict | None:
        """The concept's row ending about a year before ``end`` (as known that day)."""
        target = end - _YEAR
        best = None
        for row in self.rows.get(concept, {}).get(unit, []):
            gap = abs((row["end"] - target).days)
            if gap <= YEAR_TOLERANCE_DAYS and (best is None or gap < best[0]):
                best = (gap, row)
        return None if best is None else best[1]


def known_on(ttm_rows: list[dict], day: dt.date) -> Known:
    """Per concept and unit, for each period end, the row with the latest as_of_date on or
    before ``day`` (``ttm_rows`` sorted by as_of_date)."""
    by_end: dict[tuple[str, str, dt.date], dict] = {}
    for row in ttm_rows:
        if row["as_of_date"] > day:
            break
        by_end[(row["concept"], row["unit"], row["end"])] = row
    out: dict[str, dict[str, list[dict]]] = {}
    for (concept, unit, _), row in sorted(by_end.items(), key=lambda kv: kv[0][2]):
        out.setdefault(concept, {}).setdefault(unit, []).append(row)
    return Known(out)


def known_by_change(ttm_rows: list[dict]) -> tuple[list[dt.date], list[Known]]:
    """Each day the TTM rows changed, and what was known on it (``ttm_rows`` sorted by
    as_of_date): what is known on any day is that of the last change on or before it."""
    days = sorted({r["as_of_date"] for r in ttm_rows})
    return days, [known_on(ttm_rows, day) for day in days]


#: metric -> how it is computed from what is known: (value, the rows used) or None
Formula = Callable[[Known, str], tuple[float, list[dict]] | None]


def _ratio(numerator: str, denominator: str) -> Formula:
    def formula(k: Known, unit: str) -> tuple[float, list[dict]] | None:
        top, bottom = k.latest(numerator, unit), k.latest(denominator, unit)
        if top is None or bottom is None or top["end"] != bottom["end"] or not bottom["value"]:
            return None
        return top["value"] / bottom["value"], [top, bottom]

    return formula


def _over_average(numerator: str, balance: str) -> Formula:
    """A TTM flow over the average of a balance at the TTM's end and a year before."""

    def formula(k: Known, unit: str) -> tuple[float, list[dict]] | None:
        flow = k.latest(numerator, unit)
        if flow is None:
            return None
        now = next(
            (r for r in k.rows.get(balance, {}).get(unit, []) if r["end"] == flow["end"]), None
        )
        before = k.year_before(balance, unit, flow["end"])
        if now is None or before is None or not now["value"] + before["value"]:
            return None
        return flow["value"] / ((now["value"] + before["value"]) / 2), [flow, now, before]

    return formula


def _growth(concept: str) -> Formula:
    def formula(k: Known, unit: str) -> tuple[float, list[dict]] | None:
        now = k.latest(concept, unit)
        if now is None:
            return None
        before = k.year_before(concept, unit, now["end"])
        if before is None or not before["value"]:
            return None
        return now["value"] / before["value"] - 1, [now, before]

    return formula


def _gross_margin(k: Known, unit: str) -> tuple[float, list[dict]] | None:
    return _ratio("gross_profit", "revenue")(k, unit) or _revenue_less_cost(k, unit)


def _revenue_less_cost(k: Known, unit: str) -> tuple[float, list[dict]] | None:
    revenue, cost = k.latest("revenue", unit), k.latest("cost_of_revenue", unit)
    if revenue is None or cost is None or revenue["end"] != cost["end"] or not revenue["value"]:
        return None
    return (revenue["value"] - cost["value"]) / revenue["value"], [revenue, cost]


_DEBT = ("short_term_debt", "current_portion_long_term_debt", "long_term_debt")


def total_debt(k: Known, unit: str, end: dt.date | None = None) -> tuple[float, list[dict]] | None:
    """Short-term debt, the current portion and the long-term debt (at least the latter)."""
    parts = [k.latest(c, unit) for c in _DEBT]
    long_term = parts[-1]
    if long_term is None or (end is not None and long_term["end"] != end):
        return None
    used = [p for p in parts if p is not None and p["end"] == long_term["end"]]
    return sum(p["value"] for p in used), used


def _debt_to_equity(k: Known, unit: str) -> tuple[float, list[dict]] | None:
    equity = k.latest("equity", unit)
    debt = total_debt(k, unit, equity["end"] if equity else None)
    if equity is None or debt is None or not equity["value"]:
        return None
    return debt[0] / equity["value"], [*debt[1], equity]


def _free_cash_flow(k: Known, unit: str) -> tuple[float, list[dict]] | None:
    ocf, capex = k.latest("operating_cash_flow", unit), k.latest("capex", unit)
    if ocf is None or capex is None or ocf["end"] != capex["end"]:
        return None
    return ocf["value"] - capex["value"], [ocf, capex]


def _accruals(k: Known, unit: str) -> tuple[float, list[dict]] | None:
    """(net income - operating cash flow) / average total assets (Sloan's accruals)."""
    income, ocf = k.latest("net_income", unit), k.latest("operating_cash_flow", unit)
    if income is None or ocf is None or income["end"] != ocf["end"]:
        return None
    average = _over_average("net_income", "total_assets")(k, unit)
    if average is None:
        return None
    assets = average[1][1:]
    mean = (assets[0]["value"] + assets[1]["value"]) / 2
    return (income["value"] - ocf["value"]) / mean, [income, ocf, *assets]


#: every fundamental metric; the names a suite accepts
FORMULAS: dict[str, Formula] = {
    "gross_margin": _gross_margin,
    "operating_margin": _ratio("operating_income", "revenue"),
    "net_margin": _ratio("net_income", "revenue"),
    "roa": _over_average("net_income", "total_assets"),
    "roe": _over_average("net_income", "equity"),
    "debt_to_equity": _debt_to_equity,
    "current_ratio": _ratio("current_assets", "current_liabilities"),
    "asset_turnover": _over_average("revenue", "total_assets"),
    "free_cash_flow": _free_cash_flow,
    "revenue_growth": _growth("revenue"),
    "eps_growth": _growth("eps_diluted"),
    "accruals": _accruals,
}


def fundamental_metrics(cik: str, ttm_table: pa.Table) -> pa.Table:
    """The company's metrics (METRICS_SCHEMA) on each day its TTM rows changed."""
    rows = sorted(ttm_table.to_pylist(), key=lambda r: r["as_of_date"])
    units = sorted({r["unit"] for r in rows})
    out, last = [], {}
    for day, known in zip(*known_by_change(rows), strict=True):
        for metric, formula in FORMULAS.items():
            for unit in units:
                found = _unit_of(metric, unit, known, formula)
                if found is None:
                    continue
                value, inputs = found
                key = (value, tuple((r["concept"], r["end"], r["accn"]) for r in inputs))
                if last.get((metric, unit)) == key:
                    continue
                last[(metric, unit)] = key
                out.append(_row(cik, day, metric, value, unit, inputs))
    return pa.Table.from_pylist(out, schema=METRICS_SCHEMA)


def _unit_of(metric: str, unit: str, known: Known, formula: Formula):  # noqa: ANN202
    """Ratios need their inputs in one currency: EPS growth is in USD/shares, the rest in
    the company's currency units (a ratio of two USD values is unitless: "ratio")."""
    if (metric == "eps_growth") != ("/shares" in unit):
        return None
    found = formula(known, unit)
    if found is None or found[0] != found[0] or abs(found[0]) == float("inf"):
        return None
    return found


def _row(cik: str, day: dt.date, metric: str, value: float, unit: str, inputs: list[dict]) -> dict:
    return {
        "cik": cik,
        "as_of_date": day,
        "metric": metric,
        "value": float(value),
        "unit": unit if metric == "free_cash_flow" else "ratio",
        "period_end": max(r["end"] for r in inputs),
        "inputs": "; ".join(f"{r['concept']} {r['end']} {r['accn']}" for r in inputs),
        "inputs_known": max(r["as_of_date"] for r in inputs),
    }


#: metrics that need the day's price: one row per trading day per company
MARKET_METRICS = ("market_cap", "pe", "pb", "ps", "ev_ebit")


def market_metrics(cik: str, ttm_table: pa.Table, prices: pa.Table, unit: str = "USD") -> pa.Table:
    """Market-value metrics (METRICS_SCHEMA) on each trading day of ``prices`` (security_id,
    timestamp, close: the raw close, as traded), each from the TTM rows known that day: the
    share count filed by then (never one filed later), the TTM flows, debt and cash.

    market_cap = close x shares outstanding; pe = close / diluted EPS (TTM); pb, ps = market
    cap / equity, / revenue (TTM); ev_ebit = (market cap + debt - cash) / operating income
    (TTM). A missing input or a zero denominator gives no row for that metric and day."""
    rows = sorted(ttm_table.to_pylist(), key=lambda r: r["as_of_date"])
    changed, knowns = known_by_change(rows)
    out: list[dict] = []
    priced = prices.sort_by([("timestamp", "ascending")]).to_pylist()
    for bar in priced:
        day, close = bar["timestamp"], bar["close"]
        if close is None or not close > 0:
            continue
        at = bisect.bisect_right(changed, day) - 1
        if at < 0:
            continue  # nothing filed yet: no metric needs only the price
        k = knowns[at]
        quote = {
            "concept": "close",
            "end": day,
            "accn": f"security {bar['security_id']}",
            "as_of_date": day,
            "value": close,
        }
        shares = k.latest("shares_outstanding", "shares")
        cap = None
        if shares is not None and shares["value"] > 0:
            cap = close * shares["value"]
            out.append(_row(cik, day, "market_cap", cap, unit, [quote, shares]))
        eps = k.latest("eps_diluted", f"{unit}/shares")
        if eps is not None and eps["value"]:
            out.append(_row(cik, day, "pe", close / eps["value"], "ratio", [quote, eps]))
        if cap is None:
            continue
        for metric, concept in (("pb", "equity"), ("ps", "revenue")):
            base = k.latest(concept, unit)
            if base is not None and base["value"]:
                out.append(
                    _row(cik, day, metric, cap / base["value"], "ratio", [quote, shares, base])
                )
        ebit, cash = k.latest("operating_income", unit), k.latest("cash", unit)
        debt = total_debt(k, unit)
        if ebit is not None and ebit["value"] and cash is not None and debt is not None:
            value = (cap + debt[0] - cash["value"]) / ebit["value"]
            out.append(
                _row(cik, day, "ev_ebit", value, "ratio", [quote, shares, *debt[1], cash, ebit])
            )
    for row in out:
        row["unit"] = unit if row["metric"] == "market_cap" else "ratio"
    return pa.Table.from_pylist(out, schema=METRICS_SCHEMA)
