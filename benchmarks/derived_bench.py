"""Derived metrics in `make bench` (called from benchmarks/run.py, or alone: ``python
benchmarks/derived_bench.py``).

1. fundamentals scale: 1,000 synthetic companies with 15 years of facts (10-Qs and 10-Ks as
   EDGAR's companyfacts carries them: quarters, years to date, prior-year comparatives, cash
   flows year to date only, balances with the prior year end, a few restatements) on a local
   lake; every chunk of the default size run as its mapped task runs it (the CLI in-process),
   no security master (fundamental metrics only). Time per company, divided by plain
   ``pyarrow.parquet.read_table`` of every company's fundamentals file. The quality gate's
   share is reported (two validations per company: its TTM and its metrics).
2. market value, one day: every company of the sample universe trading on the day (the
   master's ``cik``) gets a few years of synthetic facts, the day's daily bars of the full
   universe are ingested, and ``derive`` runs with ``--start``/``--end`` the day; divided by
   plain pyarrow reads of each company's fundamentals file and its securities' monthly ticks
   files. ``MARKET_COMPANIES`` of the universe's companies by default (projected to all).
3. memory: peak RSS (VmHWM) of one mapped task of each (one chunk of the default size, in a
   fresh process, on a copy of the lake made before any derive ran). Target < 1 GiB.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run alone: the library and benchmarks/ as run.py has them
    sys.path[:0] = [str(ROOT / "include"), str(ROOT), str(ROOT / "benchmarks")]

from common import gate_clock  # noqa: E402 - benchmarks/ is on sys.path

DAY = dt.date(2024, 12, 23)
SEED = 20_241_223
COMPANIES = 1000
YEARS = 15
#: the market-value part: a few years of facts per company (TTM, growth and averages need two)
MARKET_YEARS = 3
#: how many of the sample universe's companies trading on DAY part B derives (spread over the
#: CIKs; the report projects the full universe from them); None: every one (about 6,000, over
#: an hour here before the gate checked 50 companies at once: a validation is 0.25-0.45 s)
MARKET_COMPANIES: int | None = 1000
ROUNDS = 3  # of the (cheap) baselines; each derive runs once (a second run merges nothing)
GIB = 1024**3
#: synthetic CIKs of the fundamentals-scale part (no sample security carries them)
FIRST_CIK = 9_100_000_000

#: run in a fresh process: one chunk as a LocalExecutor task runs it, then its peak RSS (the
#: process image's own high-water mark, VmHWM: ru_maxrss keeps the forking parent's)
_ONE_TASK = """
import json, sys, time
from equity_lake import cli
t = time.perf_counter()
result = cli.run(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
print(json.dumps({"companies": result["companies"], "rows": result["rows"],
                  "seconds": time.perf_counter() - t, "peak_rss": peak}))
"""

# --- synthetic companyfacts ----------------------------------------------------------------
G = "us-gaap"
#: income-statement flows: a 10-Q reports the quarter and the year to date, each with the
#: prior year's comparative; (concept label, tag, unit)
INCOME = (
    ("revenue", "Revenues", "USD"),
    ("cost_of_revenue", "CostOfRevenue", "USD"),
    ("gross_profit", "GrossProfit", "USD"),
    ("research_development", "ResearchAndDevelopmentExpense", "USD"),
    ("sga", "SellingGeneralAndAdministrativeExpense", "USD"),
    ("operating_income", "OperatingIncomeLoss", "USD"),
    ("interest_expense", "InterestExpense", "USD"),
    (
        "pretax_income",
        "IncomeLossFromContinuingOperationsBeforeIncomeTaxesExtraordinaryItemsNoncontrollingInterest",
        "USD",
    ),
    ("income_tax", "IncomeTaxExpenseBenefit", "USD"),
    ("net_income", "NetIncomeLoss", "USD"),
    ("eps_basic", "EarningsPerShareBasic", "USD/shares"),
    ("eps_diluted", "EarningsPerShareDiluted", "USD/shares"),
    ("diluted_shares", "WeightedAverageNumberOfDilutedSharesOutstanding", "shares"),
)
#: cash-flow flows: a 10-Q reports the year to date only
CASH = (
    ("operating_cash_flow", "NetCashProvidedByUsedInOperatingActivities", "USD"),
    ("capex", "PaymentsToAcquirePropertyPlantAndEquipment", "USD"),
    ("depreciation_amortization", "DepreciationDepletionAndAmortization", "USD"),
    ("dividends_paid", "PaymentsOfDividends", "USD"),
)
#: balances: at the period's end and at the prior fiscal year's end
BALANCES = (
    ("total_assets", "Assets", "USD"),
    ("current_assets", "AssetsCurrent", "USD"),
    ("cash", "CashAndCashEquivalentsAtCarryingValue", "USD"),
    ("receivables", "AccountsReceivableNetCurrent", "USD"),
    ("inventory", "InventoryNet", "USD"),
    ("total_liabilities", "Liabilities", "USD"),
    ("current_liabilities", "LiabilitiesCurrent", "USD"),
    ("short_term_debt", "ShortTermBorrowings", "USD"),
    ("current_portion_long_term_debt", "LongTermDebtCurrent", "USD"),
    ("long_term_debt", "LongTermDebtNoncurrent", "USD"),
    ("equity", "StockholdersEquity", "USD"),
    ("shares_outstanding", "CommonStockSharesOutstanding", "shares"),
)
#: per-share values and share counts are averages, not sums
_AVERAGED = {"eps_basic", "eps_diluted", "diluted_shares"}
#: revenue moved to the ASC 606 tag in 2018 at about half the companies (a same-line switch)
ASC606 = "RevenueFromContractWithCustomerExcludingAssessedTax"
ASC606_FROM = dt.date(2018, 1, 1)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return _month_end(index // 12, index % 12 + 1)


def company_document(cik: int, index: int, years: int, day: dt.date = DAY) -> dict:
    """A companyfacts document of ``years`` fiscal years of filings, the last filed by ``day``.

    Deterministic in (SEED, index). The fiscal year ends in a month of the company's own; each
    quarter is filed 25-45 days after it ends (a 10-Q) or, the fourth, 55-75 days (a 10-K,
    which reports three fiscal years and no fourth quarter); two more years are drawn for the
    first filings' comparatives. About one 10-K in thirty restates the prior year's revenue
    and net income.
    """
    import numpy as np

    rng = np.random.default_rng((SEED, index))
    fye_month = int(rng.choice([12, 12, 12, 9, 6, 3, 1, 10]))
    # the latest quarter whose 10-Q/10-K is out by `day`, then `years` fiscal years of them
    last = _months_back(day, 2)
    while (last.month - fye_month) % 3 or (
        last.month == fye_month and last.toordinal() + 75 > day.toordinal()
    ):
        last = _months_back(last, 1)
    n = (years + 3) * 4
    ends = [_months_back(last, 3 * (n - 1 - i)) for i in range(n)]
    starts = [None] + [e + dt.timedelta(days=1) for e in ends[:-1]]
    starts[0] = _months_back(ends[0], 3) + dt.timedelta(days=1)
    fq = [4 - ((fye_month - e.month) % 12) // 3 for e in ends]  # fiscal quarter, 4 at year end
    first = next(i for i in range(n - 4 * years, n) if fq[i] == 1)  # filings start at a Q1
    has_rd, pays = rng.random() < 0.5, rng.random() < 0.6
    switches = rng.random() < 0.5

    # quarterly flows
    scale = float(np.exp(rng.uniform(np.log(5e7), np.log(2e10))))
    growth = np.cumsum(rng.normal(0.012, 0.05, n))
    season = 1 + 0.08 * np.sin(np.arange(n) * np.pi / 2 + rng.uniform(0, 2 * np.pi))
    revenue = scale * np.exp(growth) * season
    gm = np.clip(rng.uniform(0.25, 0.65) + rng.normal(0, 0.02, n), 0.05, 0.9)
    cost = revenue * (1 - gm)
    rd = revenue * rng.uniform(0.03, 0.15) * has_rd
    sga = revenue * np.clip(rng.uniform(0.08, 0.25) + rng.normal(0, 0.01, n), 0.02, 0.5)
    operating = revenue - cost - rd - sga
    interest = revenue * rng.uniform(0.002, 0.02)
    pretax = operating - interest
    tax = np.where(pretax > 0, pretax * 0.21, 0.0)
    net = pretax - tax
    shares0 = scale / rng.uniform(2, 40)
    shares = shares0 * np.exp(np.cumsum(rng.normal(-0.003, 0.004, n)))
    ocf = net + revenue * rng.uniform(0.02, 0.08) + rng.normal(0, 0.02, n) * revenue
    capex = revenue * np.clip(rng.uniform(0.02, 0.1) + rng.normal(0, 0.01, n), 0.0, 0.3)
    da = revenue * rng.uniform(0.02, 0.06)
    dividends = np.maximum(net, 0) * rng.uniform(0.2, 0.5) * pays
    flows = {
        "revenue": revenue,
        "cost_of_revenue": cost,
        "gross_profit": revenue - cost,
        "research_development": rd,
        "sga": sga,
        "operating_income": operating,
        "interest_expense": interest,
        "pretax_income": pretax,
        "income_tax": tax,
        "net_income": net,
        "diluted_shares": shares * 1.01,
        "operating_cash_flow": ocf,
        "capex": capex,
        "depreciation_amortization": da,
        "dividends_paid": dividends,
    }
    # balances at each quarter end
    assets = revenue * 4 * rng.uniform(0.6, 2.5) * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    liabilities = assets * np.clip(rng.uniform(0.3, 0.7) + rng.normal(0, 0.01, n), 0.1, 0.95)
    current_assets = assets * rng.uniform(0.25, 0.5)
    lt_debt = liabilities * rng.uniform(0.2, 0.5)
    balances = {
        "total_assets": assets,
        "current_assets": current_assets,
        "cash": current_assets * rng.uniform(0.2, 0.5),
        "receivables": current_assets * rng.uniform(0.2, 0.4),
        "inventory": current_assets * rng.uniform(0.0, 0.3),
        "total_liabilities": liabilities,
        "current_liabilities": liabilities * rng.uniform(0.2, 0.5),
        "short_term_debt": liabilities * rng.uniform(0.0, 0.05),
        "current_portion_long_term_debt": lt_debt * rng.uniform(0.03, 0.1),
        "long_term_debt": lt_debt,
        "equity": assets - liabilities,
        "shares_outstanding": shares,
    }

    def span(concept: str, lo: int, hi: int) -> float:
        """The flow over quarters lo..hi (inclusive): a sum, or an average per share."""
        if concept in ("eps_basic", "eps_diluted"):
            return float(flows["net_income"][lo : hi + 1].sum() / shares[lo : hi + 1].mean())
        values = flows[concept][lo : hi + 1]
        return float(values.mean() if concept in _AVERAGED else values.sum())

    def rounded(concept: str, value: float) -> float | int:
        return round(value, 2) if concept in ("eps_basic", "eps_diluted") else int(round(value))

    facts: dict[tuple[str, str], list[dict]] = {}

    def add(concept, tag, unit, start, end, value, filing) -> None:  # noqa: ANN001
        if concept == "revenue" and switches and (start or end) >= ASC606_FROM:
            tag = ASC606
        item = {"end": end.isoformat(), "val": rounded(concept, value), **filing}
        if start is not None:
            item = {"start": start.isoformat(), **item}
        facts.setdefault((tag, unit), []).append(item)

    seq = 0
    for q in range(first, n):
        k = fq[q]
        fy_end = _months_back(ends[q], 3 * (k - 4))
        y0 = q - k + 1  # the fiscal year's first quarter
        lag = int(rng.integers(55, 76) if k == 4 else rng.integers(25, 46))
        filed = ends[q] + dt.timedelta(days=lag)
        seq += 1
        form = "10-K" if k == 4 else "10-Q"
        filing = {
            "accn": f"{cik:010d}-{filed.year % 100:02d}-{seq:06d}",
            "fy": fy_end.year,
            "fp": "FY" if k == 4 else f"Q{k}",
            "form": form,
            "filed": filed.isoformat(),
        }
        restate = k == 4 and rng.random() < 1 / 30
        prior_end = ends[y0 - 1]
        if k == 4:  # three fiscal years of every flow
            for concept, tag, unit in INCOME + CASH:
                if (concept == "research_development" and not has_rd) or (
                    concept == "dividends_paid" and not pays
                ):
                    continue
                for back in range(3):
                    lo = y0 - 4 * back
                    value = span(concept, lo, lo + 3)
                    if restate and back == 1 and concept in ("revenue", "net_income"):
                        value *= 1 + rng.normal(0, 0.02)
                    add(concept, tag, unit, starts[lo], ends[lo + 3], value, filing)
        else:
            for concept, tag, unit in INCOME:
                if concept == "research_development" and not has_rd:
                    continue
                for back in (0, 4):  # the quarter and the prior year's
                    add(concept, tag, unit, starts[q - back], ends[q - back],
                        span(concept, q - back, q - back), filing)  # fmt: skip
                    if k > 1:  # the year to date
                        add(concept, tag, unit, starts[y0 - back], ends[q - back],
                            span(concept, y0 - back, q - back), filing)  # fmt: skip
            for concept, tag, unit in CASH:
                if concept == "dividends_paid" and not pays:
                    continue
                for back in (0, 4):
                    add(concept, tag, unit, starts[y0 - back], ends[q - back],
                        span(concept, y0 - back, q - back), filing)  # fmt: skip
        for concept, tag, unit in BALANCES:
            add(concept, tag, unit, None, ends[q], float(balances[concept][q]), filing)
            add(concept, tag, unit, None, prior_end, float(balances[concept][y0 - 1]), filing)
    return {
        "cik": cik,
        "entityName": f"Synthetic Company {index}",
        "facts": {
            G: {
                tag: {"units": {unit: items for (t, unit), items in facts.items() if t == tag}}
                for tag in dict.fromkeys(t for t, _ in facts)
            }
        },
    }


def write_facts(store: Any, ciks: list[int], years: int) -> int:
    """Normalise each company's synthetic document into the lake's fundamentals file; the
    number of facts written."""
    from equity_lake.fundamentals.normalize import normalize
    from equity_lake.lake import keys

    total = 0
    for i, cik in enumerate(ciks):
        table = normalize(company_document(cik, i, years))
        store.write_table(keys.fundamentals(cik), table)
        total += table.num_rows
    return total


# --- measuring -----------------------------------------------------------------------------
def _say(message: str) -> None:
    """Progress on stderr (the figures go to stdout)."""
    print(f"derived bench: {message}", file=sys.stderr, flush=True)


def _fresh_lake(lakes: list[str], name: str) -> Any:
    from equity_lake.lake.store import LakeStore

    lakes.append(tempfile.mkdtemp(prefix=f"bench-derived-{name}-"))
    os.environ["LAKE_URI"] = Path(lakes[-1]).as_uri()
    return LakeStore()


def _warm_gate() -> None:
    """The gate's imports and GX context, outside the timed region (one company's TTM)."""
    from equity_lake.engine import wap
    from equity_lake.fundamentals import metrics, ttm
    from equity_lake.fundamentals.normalize import normalize

    rows = ttm.ttm("0000000001", normalize(company_document(1, 10**6, 2)))
    wap.validate_table("derived-ttm", rows, {"ciks": ["0000000001"]})
    found = metrics.fundamental_metrics("0000000001", rows)
    wap.validate_table("derived-metrics", found, {"ciks": ["0000000001"]})


def _derive_all(store: Any, params: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Every chunk of the plan, each as its mapped task runs it (the CLI in-process)."""
    from equity_lake.cli import run as cli_run
    from equity_lake.datasets.derived_metrics import DERIVED
    from equity_lake.engine.dataset import Run

    found = DERIVED.plan(store, Run(DAY, run_id, params))
    companies = rows = 0
    with gate_clock() as gate:
        started = time.perf_counter()
        for p in found.partitions:
            result = cli_run(list(p.argv))
            if result["rejected"] or result["missing"]:
                raise RuntimeError(f"{p.label}: {result['rejected'] or result['missing']}")
            companies += result["companies"]
            rows += result["rows"]
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "gate_s": gate.seconds,
        "companies": companies,
        "rows": rows,
        "chunks": len(found.partitions),
        "argv": list(found.partitions[0].argv),
    }


def _best(fn: Callable[[], Any], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def _compute_only(store: Any, ciks: list[str]) -> float:
    """Seconds of TTM and fundamental metrics alone (no engine, no gate) over ``ciks``."""
    from equity_lake.fundamentals import metrics, ttm
    from equity_lake.lake import keys

    started = time.perf_counter()
    for cik in ciks:
        rows = ttm.ttm(cik, store.read_table(keys.fundamentals(cik)))
        metrics.fundamental_metrics(cik, rows)
    return time.perf_counter() - started


def _one_task(lake: str, argv: list[str]) -> dict[str, Any]:
    """One chunk's command in a fresh process on ``lake``: its result and peak RSS."""
    run_id = argv.index("--run-id") + 1
    argv = [*argv[:run_id], "bench-memory", *argv[run_id + 1 :]]
    env = {
        **os.environ,
        "LAKE_URI": Path(lake).as_uri(),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT)]),
    }
    env.pop("LAKE_S3_ENDPOINT", None)
    done = subprocess.run(
        [sys.executable, "-c", _ONE_TASK, *argv], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"one derive task failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fundamentals_scale(companies: int = COMPANIES, years: int = YEARS) -> dict[str, Any]:
    """Part 1: derive over ``companies`` x ``years`` of facts / pyarrow reads of their files."""
    import pyarrow.parquet as pq

    from equity_lake.lake import keys

    lakes: list[str] = []
    try:
        store = _fresh_lake(lakes, "facts")
        ciks = [FIRST_CIK + i for i in range(companies)]
        started = time.perf_counter()
        facts = write_facts(store, ciks, years)
        synth_s = time.perf_counter() - started
        _say(f"A: {facts:,} facts of {companies:,} companies written in {synth_s:.0f} s")
        copy = tempfile.mkdtemp(prefix="bench-derived-facts-memory-")
        lakes.append(copy)
        shutil.copytree(lakes[0], copy, dirs_exist_ok=True)  # before any derive
        paths = [store.path(keys.fundamentals(c)) for c in ciks]
        _warm_gate()
        baseline_s = _best(lambda: [pq.read_table(p) for p in paths])
        derived = _derive_all(store, {"chunk_size": 50}, "bench-derived-facts")
        _say(f"A: derived in {derived['seconds']:.0f} s")
        baseline_s = min(baseline_s, _best(lambda: [pq.read_table(p) for p in paths]))
        per_chunk = [keys.cik(c) for c in ciks[: derived["companies"] // derived["chunks"]]]
        compute_s = _compute_only(store, per_chunk) * companies / len(per_chunk)
        memory = _one_task(copy, derived["argv"])
        _say(f"A: one task in a fresh process, {memory['seconds']:.0f} s")
        return {
            "companies": companies,
            "years": years,
            "facts": facts,
            "synth_s": synth_s,
            "baseline_s": baseline_s,
            "compute_s": compute_s,
            "memory": memory,
            **derived,
        }
    finally:
        for lake in lakes:
            shutil.rmtree(lake, ignore_errors=True)


def market_value(limit: int | None = MARKET_COMPANIES, years: int = MARKET_YEARS) -> dict:
    """Part 2: derive with market-value metrics for DAY over the sample universe's companies
    / pyarrow reads of their fundamentals files and their securities' monthly ticks files."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from equity_lake import master_build
    from equity_lake.datasets import daily_ticks
    from equity_lake.lake import keys
    from equity_lake.master import SecurityMaster

    lakes: list[str] = []
    try:
        built = master_build.build("sample")
        table = built.master
        active = SecurityMaster(table).active_on(DAY).column("security_id")
        on_day = table.filter(pc.is_in(table.column("security_id"), value_set=active))
        universe = sorted({c for c in on_day.column("cik").to_pylist() if c})
        ciks = universe if limit is None else universe[:: max(1, len(universe) // limit)][:limit]
        chosen = set(ciks)
        sids: dict[str, set[int]] = {}
        for row in table.select(["cik", "security_id"]).to_pylist():
            if row["cik"] in chosen:
                sids.setdefault(row["cik"], set()).add(row["security_id"])

        store = _fresh_lake(lakes, "market")
        store.write_table(keys.SECURITY_MASTER, table)
        started = time.perf_counter()
        ticks = daily_ticks.ingest(store, DAY, source="sample", run_id="bench-derived-ticks")
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        facts = write_facts(store, [int(c) for c in ciks], years)
        synth_s = time.perf_counter() - started
        _say(f"B: {ticks['rows']:,} bars ingested in {ingest_s:.0f} s, {facts:,} facts of "
             f"{len(ciks):,} companies written in {synth_s:.0f} s")  # fmt: skip
        copy = tempfile.mkdtemp(prefix="bench-derived-market-memory-")
        lakes.append(copy)
        shutil.copytree(lakes[0], copy, dirs_exist_ok=True)  # before any derive

        paths = [store.path(keys.fundamentals(c)) for c in ciks]
        months = [
            store.path(keys.daily_ticks_month(sid, DAY))
            for c in ciks
            for sid in sorted(sids[c])
            if store.exists(keys.daily_ticks_month(sid, DAY))
        ]

        def baseline() -> None:
            for path in paths:
                pq.read_table(path)
            for path in months:
                pq.read_table(path)

        _warm_gate()
        baseline_s = _best(baseline)
        params = {"chunk_size": 50, "start": DAY, "end": DAY}
        derived = _derive_all(store, params, "bench-derived-market")
        _say(f"B: derived in {derived['seconds']:.0f} s")
        baseline_s = min(baseline_s, _best(baseline))
        priced = 0
        for c in ciks:
            found = store.read_table(keys.derived_metrics(c), columns=["as_of_date", "metric"])
            if found is None:
                continue
            day = pc.equal(found.column("as_of_date"), DAY)
            if pc.any(pc.and_(day, pc.equal(found.column("metric"), "market_cap"))).as_py():
                priced += 1
        memory = _one_task(copy, derived["argv"])
        return {
            "universe": len(universe),
            "companies": len(ciks),
            "years": years,
            "facts": facts,
            "bars": ticks["rows"],
            "ticks_files": len(months),
            "priced": priced,
            "ingest_s": ingest_s,
            "synth_s": synth_s,
            "baseline_s": baseline_s,
            "memory": memory,
            **derived,
        }
    finally:
        for lake in lakes:
            shutil.rmtree(lake, ignore_errors=True)


def report(a: dict[str, Any], b: dict[str, Any]) -> None:
    """A small table: time per company, ratio, gate share, peak memory."""
    header = (
        f"{'derived metrics':<34}{'companies':>10}{'derive':>10}{'per co.':>10}"
        f"{'baseline':>10}{'per co.':>10}{'ratio':>8}{'gate':>7}{'no gate':>9}{'peak':>9}"
    )
    print(header)
    for name, m in (
        (f"A: {a['years']} y of facts, no prices", a),
        (f"B: {b['years']} y of facts + {DAY}", b),
    ):
        n = m["companies"]
        gateless = (m["seconds"] - m["gate_s"]) / m["baseline_s"]
        print(
            f"{name:<34}{n:>10,}{m['seconds']:>9.1f}s{m['seconds'] / n * 1000:>8.0f}ms"
            f"{m['baseline_s']:>9.2f}s{m['baseline_s'] / n * 1000:>8.2f}ms"
            f"{m['seconds'] / m['baseline_s']:>7.0f}x{m['gate_s'] / m['seconds']:>7.0%}"
            f"{gateless:>8.0f}x{m['memory']['peak_rss'] / 2**20:>6.0f}MiB"
        )
    print(
        f"A: {a['facts']:,} facts ({a['facts'] // a['companies']:,} a company), {a['rows']:,} "
        f"rows derived in {a['chunks']} chunks; gate {a['gate_s']:.1f} s over "
        f"{2 * a['companies']} validations ({a['gate_s'] / (2 * a['companies']) * 1000:.0f} ms "
        f"each); TTM + metrics alone ~{a['compute_s']:.0f} s (from one chunk's companies); "
        f"synthesis {a['synth_s']:.0f} s (not timed)"
    )
    print(
        f"B: {b['companies']:,} of the {b['universe']:,} companies trading on {DAY}, "
        f"{b['priced']:,} with a market cap that day ({b['bars']:,} bars ingested, "
        f"{b['ticks_files']:,} monthly ticks files read by the baseline); {b['facts']:,} facts; "
        f"{b['rows']:,} rows in {b['chunks']} chunks; gate {b['gate_s']:.1f} s"
    )
    if a["companies"] != COMPANIES:
        scale = COMPANIES / a["companies"]
        print(
            f"A projected to {COMPANIES:,} companies (linear: each company is read, derived, "
            f"gated and published alone): derive {a['seconds'] * scale / 60:.0f} min, of which "
            f"gate {a['gate_s'] * scale / 60:.0f} min; baseline {a['baseline_s'] * scale:.1f} s"
        )
    if b["companies"] != b["universe"]:
        scale = b["universe"] / b["companies"]
        print(
            f"B projected to the full universe ({b['universe']:,} companies): derive "
            f"{b['seconds'] * scale / 60:.0f} min, of which gate {b['gate_s'] * scale / 60:.0f} "
            f"min; baseline {b['baseline_s'] * scale:.1f} s"
        )
    for part, m in (("A", a), ("B", b)):
        mem = m["memory"]
        print(
            f"{part}: one mapped task ({mem['companies']} companies, {mem['rows']:,} rows, "
            f"{mem['seconds']:.1f} s in a fresh process): peak memory "
            f"{mem['peak_rss'] / 2**20:.0f} MiB (target < 1024 MiB)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=COMPANIES, help="part A's companies")
    parser.add_argument("--years", type=int, default=YEARS, help="part A's years of facts")
    parser.add_argument(
        "--market-companies",
        type=int,
        default=MARKET_COMPANIES,
        help="cap part B's companies (0: the full sample universe)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    a = fundamentals_scale(args.companies, args.years)
    b = market_value(args.market_companies or None)
    report(a, b)
    print(f"derived bench: {time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
