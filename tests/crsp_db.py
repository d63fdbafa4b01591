"""A small CRSP schema for the local PostgreSQL: WRDS's real table and column names and types.

CRSP rows are licensed, so none are copied here. AAPL, MSFT, BRK.A and ZEN trade on the
public Quandl WIKI sample in ``../shared/fixtures`` (raw prices and AAPL's 7-for-1 split on
2014-06-09); everything else is invented (marked SYNTHETIC) to cover what the brief asks for:

* a split (AAPL, 2014-06-09, facpr 6) and a reverse split (QFBC, 2012, facpr -0.75);
* a delisting with a delisting return (CVNM, last trade 2014-06-10, dlret -0.35);
* a negative ``prc`` (QFBC's bid/ask-average closes on 2014-06-04 and 06-10), an ``askhi``
  below the close (06-06), a missing open (06-03) and no price at all (06-12);
* a ticker change (LRKS -> LRKH on 2014-06-05; LRKS was another company's until 2003);
* a company with two share classes (Berkshire: PERMNOs 17778 and 83443, both ticker BRK);
* an ETF (TMKT).

Both generations are loaded: SIZ (``dsf``, ``dsenames``, ``dsedelist``, ``dsedist``; WRDS
serves their numbers as double precision) and CIZ (``dsf_v2``, ``stksecurityinfohist``,
``stkdelists``, ``stkdistributions`` with their full column lists). The schema ``crsp`` has
both; ``crsp_legacy`` only the SIZ tables (views), as an account without CIZ would see.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from standins.postgres import LocalPostgres

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
QUANDL = FIXTURES / "ohlcv" / "daily" / "quandl_WIKI_PRICES_sample_AAPL_BRK_A_MSFT_ZEN_2014.csv"

DB = "wrds"
USER = "wrds_reader"
#: a password a URL must quote (':', '@', '/', '%'): wrds' own URL building breaks on it
PASSWORD = "r3@d:only/p%w"
END = dt.date(2014, 12, 31)  # the last date of this little database
SESSIONS = [dt.date(2014, 6, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
SPLIT_DAY = dt.date(2014, 6, 9)
RENAME_DAY = dt.date(2014, 6, 5)
DELIST_DAY = dt.date(2014, 6, 10)


@dataclass(frozen=True)
class Name:
    permno: int
    permco: int
    start: dt.date
    end: dt.date
    ticker: str | None
    tsymbol: str | None
    shrcls: str | None
    comnam: str
    exchcd: int
    shrcd: int = 11
    siccd: int = 0


D = dt.date
NAMES = [
    Name(14593, 7, D(1980, 12, 12), END, "AAPL", "AAPL", None, "APPLE INC", 3, siccd=3571),
    Name(10107, 8048, D(1986, 3, 13), END, "MSFT", "MSFT", None, "MICROSOFT CORP", 3),
    Name(17778, 540, D(1990, 1, 2), D(2001, 12, 31), "BRK", None, "A", "BERKSHIRE HATHAWAY", 1),
    Name(17778, 540, D(2002, 1, 2), END, "BRK", "BRKA", "A", "BERKSHIRE HATHAWAY", 1),
    Name(83443, 540, D(1996, 5, 9), D(2001, 12, 31), "BRK", None, "B", "BERKSHIRE HATHAWAY", 1),
    Name(83443, 540, D(2002, 1, 2), END, "BRK", "BRKB", "B", "BERKSHIRE HATHAWAY", 1),
    # SYNTHETIC from here on
    Name(90001, 90001, D(2009, 7, 1), END, "QFBC", "QFBC", None, "QUILLFEATHER BANCORP", 3),
    Name(90002, 90002, D(2005, 3, 1), D(2010, 12, 31), "LRKS", "LRKS", None, "LARKSPUR SYS", 1),
    Name(90002, 90002, D(2011, 1, 3), D(2014, 6, 4), "LRKS", "LRKS", None, "LARKSPUR SYS", 1,
         siccd=7372),
    Name(90002, 90002, RENAME_DAY, END, "LRKH", "LRKH", None, "LARKSPUR HOLDINGS", 1, siccd=7372),
    Name(90003, 90003, D(2008, 4, 15), DELIST_DAY, "CVNM", "CVNM", None, "CORVANE MINING", 2),
    Name(90004, 90004, D(2014, 5, 15), END, "ZEN", "ZEN", None, "ZENDESK INC", 1),
    Name(90005, 90005, D(2010, 2, 1), END, "TMKT", "TMKT", None, "ALDERWAY TOTAL MKT ETF", 4, 73),
    Name(90006, 90006, D(1995, 1, 3), D(2003, 6, 30), "LRKS", "LRKS", None, "LARKIN RESOURCES", 1),
]  # fmt: skip

#: SIZ exchcd -> CIZ primaryexch
PRIMARY = {1: "N", 2: "A", 3: "Q", 4: "R", 5: "B"}

# (permno, distcd, divamt, facpr, exdt); CIZ type from the first digit of distcd
DISTRIBUTIONS = [
    (14593, 1232, 3.29, 0.0, D(2014, 5, 8)),
    (14593, 5523, 0.0, 6.0, SPLIT_DAY),
    (14593, 1232, 0.47, 0.0, D(2014, 8, 7)),
    (10107, 1232, 0.28, 0.0, D(2014, 5, 13)),
    (90002, 1232, 0.15, 0.0, D(2014, 6, 11)),  # SYNTHETIC
    (90001, 5523, 0.0, -0.75, D(2012, 3, 1)),  # SYNTHETIC 1-for-4 reverse split
]
# (permno, dlstdt, dlstcd, dlret, dlprc, dlamt, next price, CIZ action type)
DELISTINGS = [
    (90003, DELIST_DAY, 560, -0.35, -0.52, 0.0, 0.52),  # SYNTHETIC: dropped by the exchange
    (90006, D(2003, 6, 30), 231, 0.12, 18.5, 18.5, 18.5),  # SYNTHETIC: merger, cash
]
#: SIZ keeps a row for every PERMNO; code 100 = still trading
ACTIVE_DELIST_ROWS = [14593, 10107, 17778, 83443, 90001, 90002, 90004, 90005]


@dataclass
class Day:
    """One security-day as the test expects to read it back."""

    permno: int
    day: dt.date
    open: float | None
    high: float | None
    low: float | None
    close: float | None  # None: no price at all
    volume: int | None
    quote: bool = False  # no closing trade: the close is the bid/ask average
    bid: float | None = None
    ask: float | None = None


def _quandl(ticker: str, permno: int) -> list[Day]:
    out = []
    with QUANDL.open(newline="") as fh:
        for row in csv.DictReader(fh):
            day = dt.date.fromisoformat(row["date"])
            if row["ticker"] == ticker and day in SESSIONS:
                out.append(
                    Day(
                        permno,
                        day,
                        float(row["open"]),
                        float(row["high"]),
                        float(row["low"]),
                        float(row["close"]),
                        int(float(row["volume"])),
                    )
                )
    assert len(out) == len(SESSIONS), ticker
    return out


def _synthetic(permno: int, rows: list[tuple]) -> list[Day]:
    return [Day(permno, day, *values) for day, values in zip(SESSIONS, rows, strict=False)]


def daily_rows() -> list[Day]:
    """Every security-day of the window, as traded."""
    days = [*_quandl("AAPL", 14593), *_quandl("MSFT", 10107), *_quandl("BRK_A", 17778)]
    days += _quandl("ZEN", 90004)
    # SYNTHETIC: BRK.B near BRK.A / 1500
    for i, a in enumerate(_quandl("BRK_A", 83443)):
        days.append(
            Day(
                83443,
                a.day,
                *(round(v / 1500, 2) for v in (a.open, a.high, a.low, a.close)),
                3_100_000 + 97_000 * i,
            )
        )
    # SYNTHETIC QFBC: quotes on 06-04 and 06-10, askhi below the close on 06-06, no open on
    # 06-03, no price at all on 06-12
    days += _synthetic(
        90001,
        [
            (12.40, 12.55, 12.31, 12.50, 18_200),
            (None, 12.62, 12.45, 12.58, 9_100),
            (None, 12.70, 12.50, 12.60, 0, True, 12.50, 12.70),
            (12.55, 12.80, 12.50, 12.75, 15_300),
            (12.70, 12.74, 12.60, 12.90, 4_000),
            (12.85, 12.95, 12.70, 12.80, 21_000),
            (None, 12.74, 12.66, 12.70, 0, True, 12.66, 12.74),
            (12.72, 12.88, 12.65, 12.84, 11_800),
            (None, None, None, None, None),
            (12.80, 12.99, 12.78, 12.95, 25_400),
        ],
    )
    days += _synthetic(
        90002,
        [
            (24.10, 24.35, 23.95, 24.20, 410_000),
            (24.25, 24.60, 24.10, 24.55, 388_000),
            (24.50, 24.70, 24.30, 24.40, 402_100),
            (24.45, 25.10, 24.40, 25.05, 951_300),
            (25.00, 25.40, 24.90, 25.30, 620_400),
            (25.35, 25.50, 25.05, 25.20, 512_000),
            (25.15, 25.25, 24.80, 24.90, 475_500),
            (24.95, 25.15, 24.85, 25.10, 430_900),
            (25.05, 25.60, 25.00, 25.55, 560_200),
            (25.50, 25.70, 25.30, 25.45, 498_700),
        ],
    )
    days += _synthetic(
        90003,
        [
            (1.52, 1.55, 1.41, 1.44, 612_000),
            (1.43, 1.47, 1.30, 1.31, 845_000),
            (1.30, 1.36, 1.22, 1.25, 990_500),
            (1.24, 1.29, 1.15, 1.18, 1_204_000),
            (1.17, 1.20, 1.05, 1.08, 1_567_000),
            (1.06, 1.10, 0.92, 0.95, 2_210_000),
            (0.94, 0.98, 0.78, 0.80, 3_105_000),
        ],
    )
    days += _synthetic(
        90005,
        [
            (50.10, 50.30, 49.95, 50.25, 1_200_000),
            (50.20, 50.40, 50.05, 50.35, 1_100_500),
            (50.30, 50.55, 50.20, 50.50, 980_000),
            (50.55, 50.90, 50.45, 50.85, 1_350_200),
            (50.90, 51.10, 50.80, 51.05, 1_010_000),
            (51.00, 51.20, 50.85, 51.10, 870_300),
            (51.05, 51.15, 50.90, 51.00, 905_000),
            (50.95, 51.05, 50.60, 50.70, 1_420_000),
            (50.70, 50.95, 50.55, 50.90, 1_030_000),
            (50.95, 51.30, 50.90, 51.25, 990_100),
        ],
    )
    return days


def expected_bar(d: Day) -> dict[str, float] | None:
    """What the lake must publish for ``d`` (the rules in equity_lake.sources.crsp)."""
    if d.close is None:
        return None
    open_ = d.open if d.open else d.close
    top, bottom = max(open_, d.close), min(open_, d.close)
    trusted = not d.quote and d.high >= top and d.low <= bottom
    return {
        "open": open_,
        "high": d.high if trusted else top,
        "low": d.low if trusted else bottom,
        "close": d.close,
        "volume": d.volume or 0,
    }


def _name_on(permno: int, day: dt.date) -> Name:
    return next(n for n in NAMES if n.permno == permno and n.start <= day <= n.end)


def _cfacpr(permno: int, day: dt.date) -> float:
    return 7.0 if permno == 14593 and day < SPLIT_DAY else 1.0


SIZ_DDL = """
CREATE TABLE {s}.dsf (
    cusip varchar(8), permno double precision, permco double precision,
    issuno double precision, hexcd double precision, hsiccd double precision, date date,
    bidlo double precision, askhi double precision, prc double precision,
    vol double precision, ret double precision, bid double precision, ask double precision,
    shrout double precision, cfacpr double precision, cfacshr double precision,
    openprc double precision, numtrd double precision, retx double precision);
CREATE TABLE {s}.dsenames (
    permno double precision, namedt date, nameendt date, shrcd double precision,
    exchcd double precision, siccd double precision, ncusip varchar(8), ticker varchar(5),
    comnam varchar(35), shrcls varchar(1), tsymbol varchar(7), naics varchar(7),
    primexch varchar(1), trdstat varchar(1), secstat varchar(4), permco double precision,
    compno double precision, issuno double precision, hexcd double precision,
    hsiccd double precision, cusip varchar(8));
CREATE TABLE {s}.dsedelist (
    permno double precision, dlstdt date, dlstcd double precision, nwperm double precision,
    nwcomp double precision, nextdt date, dlamt double precision, dlretx double precision,
    dlprc double precision, dlpdt date, dlret double precision, permco double precision,
    compno double precision, issuno double precision, hexcd double precision,
    hsiccd double precision, cusip varchar(8), acperm double precision,
    accomp double precision);
CREATE TABLE {s}.dsedist (
    permno double precision, distcd double precision, divamt double precision,
    facpr double precision, facshr double precision, dclrdt date, exdt date, rcrddt date,
    paydt date, acperm double precision, accomp double precision, permco double precision,
    compno double precision, issuno double precision, hexcd double precision,
    hsiccd double precision, cusip varchar(8));
"""

CIZ_DDL = """
CREATE TABLE {s}.dsf_v2 (
    permno integer, hdrcusip varchar(8), permco integer, siccd integer, nasdissuno integer,
    yyyymmdd integer, sharetype varchar(4), securitytype varchar(4),
    securitysubtype varchar(4), usincflg varchar(1), issuertype varchar(4),
    primaryexch varchar(1), conditionaltype varchar(4), tradingstatusflg varchar(1),
    dlycaldt date, dlydelflg varchar(1), dlyprc numeric(14,6), dlyprcflg varchar(2),
    dlycap numeric(18,2), dlycapflg varchar(2), dlyprevprc numeric(14,6),
    dlyprevprcflg varchar(2), dlyprevdt date, dlyprevcap numeric(18,2),
    dlyprevcapflg varchar(2), dlyret numeric(10,6), dlyretx numeric(10,6),
    dlyreti numeric(10,6), dlyretmissflg varchar(2), dlyretdurflg varchar(2),
    dlyorddivamt numeric(14,6), dlynonorddivamt numeric(14,6), dlyfacprc numeric(14,6),
    dlydistretflg varchar(2), dlyvol numeric(18,0), dlyclose numeric(14,6),
    dlylow numeric(14,6), dlyhigh numeric(14,6), dlybid numeric(14,6),
    dlyask numeric(14,6), dlyopen numeric(14,6), dlynumtrd integer, dlymmcnt smallint,
    dlyprcvol numeric(22,1), dlycumfacpr numeric(24,12), dlycumfacshr numeric(24,12),
    cusip varchar(8), ticker varchar(8), exchangetier varchar(4), shrout bigint);
CREATE TABLE {s}.stksecurityinfohist (
    permno integer, secinfostartdt date, secinfoenddt date, securitybegdt date,
    securityenddt date, securityhdrflg varchar(1), hdrcusip varchar(8), hdrcusip9 varchar(9),
    cusip varchar(8), cusip9 varchar(9), primaryexch varchar(1), conditionaltype varchar(4),
    exchangetier varchar(4), tradingstatusflg varchar(1), securitynm varchar(100),
    shareclass varchar(4), usincflg varchar(1), issuertype varchar(4),
    securitytype varchar(4), securitysubtype varchar(4), sharetype varchar(4),
    securityactiveflg varchar(1), delactiontype varchar(4), delstatustype varchar(4),
    delreasontype varchar(4), delpaymenttype varchar(4), ticker varchar(8),
    tradingsymbol varchar(8), permco integer, siccd integer, naics varchar(7),
    icbindustry varchar(8), uesindustry varchar(8), nasdcompno integer, nasdissuno integer,
    issuernm varchar(100));
CREATE TABLE {s}.stkdelists (
    permno integer, delistingdt date, deldtprc numeric(14,6), deldtprcflg varchar(2),
    delactiontype varchar(4), delstatustype varchar(4), delreasontype varchar(4),
    delpaymenttype varchar(4), delpermno integer, delpermco integer, delret numeric(10,6),
    delretmisstype varchar(2), delnextdt date, delnextprc numeric(14,6),
    delnextprcflg varchar(2), delamtdt date, deldivamt numeric(14,6), deldistype varchar(4),
    deldlydt date);
CREATE TABLE {s}.stkdistributions (
    permno integer, disexdt date, disseqnbr integer, disordinaryflg varchar(1),
    distype varchar(4), disfreqtype varchar(4), dispaymenttype varchar(4),
    disdetailtype varchar(8), distaxtype varchar(4), disorigcurtype varchar(4),
    disdivamt numeric(14,6), disfacpr numeric(14,6), disfacshr numeric(14,6),
    disdeclaredt date, disrecorddt date, dispaydt date, dispermno integer,
    dispermco integer, disamountsourcetype varchar(4));
"""


def _insert(cur, table: str, rows: list[dict[str, object]]) -> None:
    from psycopg2 import sql

    if not rows:
        return
    columns = list(rows[0])
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.SQL(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(sql.Placeholder(c) for c in columns),
    )
    cur.executemany(statement, rows)


def siz_rows() -> dict[str, list[dict[str, object]]]:
    dsf = []
    for d in daily_rows():
        n = _name_on(d.permno, d.day)
        if d.close is None:
            prc = None
        else:
            prc = -d.close if d.quote else d.close
        dsf.append(
            {
                "permno": d.permno,
                "permco": n.permco,
                "date": d.day,
                "bidlo": d.bid if d.quote else d.low,
                "askhi": d.ask if d.quote else d.high,
                "prc": prc,
                "vol": d.volume,
                "bid": d.bid,
                "ask": d.ask,
                "openprc": d.open,
                "cfacpr": _cfacpr(d.permno, d.day),
                "cfacshr": _cfacpr(d.permno, d.day),
            }
        )
    names = [
        {
            "permno": n.permno,
            "namedt": n.start,
            "nameendt": n.end,
            "shrcd": n.shrcd,
            "exchcd": n.exchcd,
            "siccd": n.siccd,
            "ticker": n.ticker,
            "comnam": n.comnam,
            "shrcls": n.shrcls,
            "tsymbol": n.tsymbol,
            "primexch": PRIMARY[n.exchcd],
            "permco": n.permco,
        }
        for n in NAMES
    ]
    delist = [
        {"permno": p, "dlstdt": END, "dlstcd": 100, "dlret": None, "dlprc": None, "dlamt": None}
        for p in ACTIVE_DELIST_ROWS
    ] + [
        {"permno": p, "dlstdt": day, "dlstcd": code, "dlret": ret, "dlprc": prc, "dlamt": amt}
        for p, day, code, ret, prc, amt, _ in DELISTINGS
    ]
    dist = [
        {"permno": p, "distcd": code, "divamt": amt, "facpr": fac, "facshr": fac, "exdt": ex}
        for p, code, amt, fac, ex in DISTRIBUTIONS
    ]
    return {"dsf": dsf, "dsenames": names, "dsedelist": delist, "dsedist": dist}


def ciz_rows() -> dict[str, list[dict[str, object]]]:
    dsf = []
    for d in daily_rows():
        n = _name_on(d.permno, d.day)
        flag = "MP" if d.close is None else ("BA" if d.quote else "TR")
        dsf.append(
            {
                "permno": d.permno,
                "permco": n.permco,
                "yyyymmdd": int(d.day.strftime("%Y%m%d")),
                "dlycaldt": d.day,
                "dlydelflg": "N",
                "dlyprc": d.close,
                "dlyprcflg": flag,
                "dlyvol": d.volume,
                "dlyclose": None if d.quote else d.close,
                "dlyopen": d.open,
                "dlyhigh": None if d.quote else d.high,
                "dlylow": None if d.quote else d.low,
                "dlybid": d.bid,
                "dlyask": d.ask,
                "dlycumfacpr": _cfacpr(d.permno, d.day),
                "dlycumfacshr": _cfacpr(d.permno, d.day),
                "ticker": n.ticker,
                "primaryexch": PRIMARY[n.exchcd],
                "securitytype": "FUND" if n.shrcd == 73 else "EQTY",
                "securitysubtype": "ETF" if n.shrcd == 73 else "COM",
                "sharetype": "NS",
            }
        )
    # the day after CVNM's last trade: CRSP's delisting row (a price after delisting)
    dsf.append(
        {
            **{k: None for k in dsf[0]},
            "permno": 90003,
            "permco": 90003,
            "yyyymmdd": 20140611,
            "dlycaldt": D(2014, 6, 11),
            "dlydelflg": "Y",
            "dlyprc": 0.52,
            "dlyprcflg": "DP",
        }
    )
    info = []
    for n in NAMES:
        row = {
            "permno": n.permno,
            "secinfostartdt": n.start,
            "secinfoenddt": n.end,
            "primaryexch": PRIMARY[n.exchcd],
            "shareclass": n.shrcls,
            "securitytype": "FUND" if n.shrcd == 73 else "EQTY",
            "securitysubtype": "ETF" if n.shrcd == 73 else "COM",
            "sharetype": "NS",
            "ticker": n.ticker,
            "tradingsymbol": n.tsymbol,
            "permco": n.permco,
            "siccd": n.siccd,
            "issuernm": n.comnam,
            "delactiontype": "N/A",
        }
        info.append(row)
    # like CRSP's last interval of a delisted security: its delisting day, without a ticker
    cvnm = next(r for r in info if r["permno"] == 90003)
    info.append(
        {
            **cvnm,
            "secinfostartdt": D(2014, 6, 11),
            "secinfoenddt": D(2014, 6, 11),
            "ticker": None,
            "tradingsymbol": None,
            "delactiontype": "GDR",
        }
    )
    delists = [
        {
            "permno": p,
            "delistingdt": day,
            "deldtprc": None,
            "delactiontype": "GDR",
            "delret": ret,
            "delnextprc": nxt,
            "deldivamt": 0.0,
            "deldlydt": day + dt.timedelta(days=1),
        }
        for p, day, _code, ret, _prc, _amt, nxt in DELISTINGS
    ]
    dists = [
        {
            "permno": p,
            "disexdt": ex,
            "disseqnbr": 1,
            "distype": "CD" if code // 1000 == 1 else "FRS",
            "disdivamt": amt if code // 1000 == 1 else None,
            "disfacpr": fac,
            "disfacshr": fac,
        }
        for p, code, amt, fac, ex in DISTRIBUTIONS
    ]
    return {
        "dsf_v2": dsf,
        "stksecurityinfohist": info,
        "stkdelists": delists,
        "stkdistributions": dists,
    }


@dataclass(frozen=True)
class CrspDatabase:
    server: LocalPostgres
    #: the library-side environment that points the crsp source at it
    env: dict[str, str]


def load(pg: LocalPostgres) -> CrspDatabase:
    """Create the database, the read-only WRDS-like user and both table sets."""
    pg.run_sql(f"CREATE ROLE {USER} LOGIN PASSWORD %s", (PASSWORD,))
    pg.run_sql(f"CREATE DATABASE {DB}")
    conn = pg.connect(DB)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE SCHEMA crsp; CREATE SCHEMA crsp_legacy; CREATE SCHEMA crsp_none")
            cur.execute(SIZ_DDL.format(s="crsp") + CIZ_DDL.format(s="crsp"))
            for table, rows in {**siz_rows(), **ciz_rows()}.items():
                _insert(cur, f"crsp.{table}", rows)
            for table in ("dsf", "dsenames", "dsedelist", "dsedist"):
                cur.execute(f"CREATE VIEW crsp_legacy.{table} AS SELECT * FROM crsp.{table}")
            cur.execute(
                f"GRANT USAGE ON SCHEMA crsp, crsp_legacy TO {USER};"
                f"GRANT SELECT ON ALL TABLES IN SCHEMA crsp, crsp_legacy TO {USER};"
                f"GRANT USAGE ON SCHEMA crsp_none TO {USER};"
            )
    finally:
        conn.close()
    return CrspDatabase(server=pg, env=env(pg))


def env(pg: LocalPostgres) -> dict[str, str]:
    return {
        "WRDS_HOST": pg.host,
        "WRDS_PORT": str(pg.port),
        "WRDS_DB": DB,
        "WRDS_USERNAME": USER,
        "WRDS_PASSWORD": PASSWORD,
        "WRDS_SSLMODE": "disable",
    }
