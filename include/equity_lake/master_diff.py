"""The no-WRDS security master: Nasdaq Trader's directory + SEC's tickers, diffed day by day.

A directory snapshot says what is listed on the day it was written, nothing about history. The
history is made by diffing each snapshot against the master already in the lake:

* a listed symbol the master already has active stays with its security (its exchange may
  change: that opens a new period) unless SEC gives both a different CIK;
* a security whose symbol vanished and a new symbol that appeared are one security renamed
  when they share the CIK (one of each instrument kind for that CIK) or, without CIKs, the
  same issuer name (again exactly one candidate each way);
* what vanished otherwise is delisted: its period ends on the session before the snapshot;
* what appeared otherwise is a new listing and gets the next unused ``security_id``.

So previously known securities keep their ids whatever the snapshot, ids are never reused, and
delisted securities stay in the master forever. The first snapshot starts every period on its
own day (what was listed before it is not known from a directory).

CIKs come from SEC's ``company_tickers_exchange.json`` by symbol, and only when SEC's company
name and the directory's security name agree: a ticker SEC now gives to another company (the
two files are not always from the same day) must not lend its CIK.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar, symbols
from equity_lake.lake import keys
from equity_lake.lake.schemas import CORPORATE_ACTIONS, SECURITY_MASTER, conform_master
from equity_lake.lake.store import LakeStore

SOURCE = "sec"
#: security ids of this master are SEC_ID_BASE + 1, + 2, ... in order of first sight
SEC_ID_BASE = 2_000_000_000

_DESCRIPTORS = re.compile(
    r"\s+-\s+|\s+(common|ordinary|class\s+[a-z]\b|american depositary|depositary|warrants?\b|"
    r"units?\b|rights?\b|preferred|shares of beneficial|series\s+[a-z0-9]+\b|\d+(\.\d+)?%)",
    re.IGNORECASE,
)
_STOP = {
    "the", "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited",
    "plc", "llc", "lp", "l", "p", "sa", "nv", "ag", "se", "de", "of", "and", "holdings",
    "holding", "group", "trust", "fund", "new", "common", "stock", "shares", "class", "a",
}  # fmt: skip


class MasterDiffError(ValueError):
    """The snapshot cannot be applied to the master in the lake; the message says why."""


def issuer_name(security_name: str) -> str:
    """The issuer part of a directory security name ("Apple Inc. - Common Stock" -> "Apple
    Inc."); fund names without a descriptor are kept whole."""
    head = _DESCRIPTORS.split(security_name, maxsplit=1)[0].strip(" ,-")
    return head or security_name.strip()


def name_tokens(name: str | None) -> frozenset[str]:
    words = re.findall(r"[a-z0-9]+", (name or "").lower().replace("&", " and "))
    return frozenset(w for w in words if w not in _STOP)


def names_agree(a: str | None, b: str | None) -> bool:
    """Two spellings of one issuer: most significant words shared, or one name's words all
    in the other with the same first word ("Alphabet" / "Alphabet Inc. Class C")."""
    return _Name(a).agrees(_Name(b))


def _first_token(name: str | None) -> str | None:
    for w in re.findall(r"[a-z0-9]+", (name or "").lower()):
        if w not in _STOP:
            return w
    return None


LISTED = pa.schema(
    [
        ("symbol", pa.string()),
        ("company", pa.string()),
        ("cik", pa.string()),
        ("exchange", pa.string()),
        ("is_etf", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class Listed:
    """What one snapshot says is listed, joined with SEC's CIKs."""

    day: dt.date
    table: pa.Table
    cik_matches: int
    cik_refused: int


def listed(listings: pa.Table, tickers: pa.Table, day: dt.date) -> Listed:
    """Directory listings (symbol, security_name, exchange, is_etf) + SEC tickers -> LISTED."""
    sec = {r["symbol"]: r for r in tickers.to_pylist()}
    rows = []
    matched = refused = 0
    for r in listings.to_pylist():
        company = issuer_name(r["security_name"])
        cik = None
        hit = sec.get(r["symbol"])
        if hit is not None:
            if names_agree(hit["name"], company):
                cik, company = hit["cik"], hit["name"]
                matched += 1
            else:
                refused += 1
        rows.append(
            {
                "symbol": r["symbol"],
                "company": company,
                "cik": cik,
                "exchange": r["exchange"],
                "is_etf": r["is_etf"],
            }
        )
    table = pa.Table.from_pylist(rows, schema=LISTED).sort_by("symbol")
    return Listed(day=snapshot_session(day), table=table, cik_matches=matched, cik_refused=refused)


def snapshot_session(day: dt.date) -> dt.date:
    """The session a snapshot describes: its own day, or the last session before a weekend
    or holiday file."""
    return day if calendar.is_session(day) else calendar.previous_session(day)


@dataclass
class Diff:
    """A snapshot applied to a master: the new master, the events and what changed."""

    master: pa.Table
    actions: pa.Table
    listings: list[str] = field(default_factory=list)
    delistings: list[str] = field(default_factory=list)
    renames: list[tuple[str, str]] = field(default_factory=list)
    exchange_changes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "listings": len(self.listings),
            "delistings": len(self.delistings),
            "renames": len(self.renames),
            "exchange_changes": len(self.exchange_changes),
        }


def apply(previous: pa.Table | None, now: Listed) -> Diff:
    """Apply one snapshot to ``previous`` (the lake's master, or None for the first one)."""
    day = now.day
    rows = [] if previous is None else _previous_rows(previous, day)
    before = calendar.previous_session(day)
    new_by_symbol = {r["symbol"]: r for r in now.table.to_pylist()}
    active = [r for r in rows if r["end_date"] is None]
    diff = Diff(master=None, actions=None)  # type: ignore[arg-type]
    events: list[dict[str, object]] = []
    added: list[dict[str, object]] = []
    next_id = max([SEC_ID_BASE, *(r["security_id"] for r in rows)]) + 1

    def close(row: dict[str, object], successor: dict[str, object] | None = None) -> None:
        """End ``row`` the session before the snapshot; ``successor`` opens the next period."""
        if row["start_date"] > before:
            # opened by an earlier run for this same day: amend it, never drop it (its id
            # may already be in use)
            if successor is None:
                row["end_date"] = row["start_date"]
            else:
                row.update({k: v for k, v in successor.items() if k in _AMENDABLE})
            return
        row["end_date"] = before
        if successor is not None:
            added.append(_period(row["security_id"], successor, day))

    # 1. symbols still listed
    vanished = []
    for row in active:
        hit = new_by_symbol.get(row["symbol"])
        if hit is None or (row["cik"] and hit["cik"] and row["cik"] != hit["cik"]):
            vanished.append(row)
            continue
        new_by_symbol.pop(row["symbol"])
        if hit["exchange"] != row["exchange"]:
            close(row, {**hit, "company": row["company"] or hit["company"]})
            diff.exchange_changes.append(row["symbol"])
            continue
        if row["cik"] is None and hit["cik"] is not None:
            row["cik"] = hit["cik"]
        if row["is_etf"] is None and hit["is_etf"] is not None:
            row["is_etf"] = hit["is_etf"]
    fresh = sorted(new_by_symbol.values(), key=lambda r: r["symbol"])

    # 2. renames: same CIK, else same issuer name, one candidate each way and of the same kind
    for old, new in _pairs(vanished, fresh, by_cik=True) + _pairs(vanished, fresh, by_cik=False):
        if old not in vanished or new not in fresh:
            continue
        vanished.remove(old)
        fresh.remove(new)
        close(old, new)
        events.append(
            _event(old["security_id"], day, "symbol_change", old["symbol"], new["symbol"])
        )
        diff.renames.append((old["symbol"], new["symbol"]))

    # 3. delistings and 4. listings
    for old in vanished:
        close(old)
        events.append(_event(old["security_id"], before, "delisting", old["symbol"], None))
        diff.delistings.append(old["symbol"])
    for new in fresh:
        added.append(_period(next_id, new, day))
        if previous is not None:
            events.append(_event(next_id, day, "listing", None, new["symbol"]))
        diff.listings.append(new["symbol"])
        next_id += 1

    master = pa.Table.from_pylist(rows + added, schema=SECURITY_MASTER)
    diff.master = master.sort_by([("security_id", "ascending"), ("start_date", "ascending")])
    diff.actions = pa.Table.from_pylist(events, schema=CORPORATE_ACTIONS)
    return diff


_AMENDABLE = ("symbol", "company", "cik", "exchange", "is_etf")


def _previous_rows(previous: pa.Table, day: dt.date) -> list[dict[str, object]]:
    sources = set(previous.column("source").to_pylist())
    if sources - {SOURCE}:
        raise MasterDiffError(
            f"the lake's security master was built from {', '.join(sorted(map(str, sources)))};"
            " the sec master only continues a master it built (use an empty lake)"
        )
    latest = max(
        [
            *previous.column("start_date").to_pylist(),
            *(
                calendar.next_session(d) if calendar.is_session(d) else d
                for d in pc.drop_null(previous.column("end_date")).to_pylist()
            ),
        ],
        default=None,
    )
    if latest is not None and day < latest:
        raise MasterDiffError(
            f"the directory snapshot is from {day} but the master already has changes on "
            f"{latest}: snapshots must be applied in date order"
        )
    rows = previous.select(SECURITY_MASTER.names).to_pylist()
    per_security: dict[int, int] = {}
    for r in rows:
        if r["end_date"] is None:
            per_security[r["security_id"]] = per_security.get(r["security_id"], 0) + 1
    doubled = [sid for sid, n in per_security.items() if n > 1]
    if doubled:
        raise MasterDiffError(f"security {doubled[0]} has two open symbol periods in the master")
    return rows


def _kind(symbol: str) -> str:
    try:
        parts = symbols.parse(symbol, "dot")
    except symbols.SymbolError:
        return "unknown"
    return f"{parts.kind}:{parts.share_class}"


def _pairs(
    vanished: list[dict[str, object]], fresh: list[dict[str, object]], *, by_cik: bool
) -> list[tuple[dict[str, object], dict[str, object]]]:
    """(old, new) pairs that can only be each other: one candidate each way."""
    old_kind = [_kind(r["symbol"]) for r in vanished]  # type: ignore[arg-type]
    new_kind = [_kind(r["symbol"]) for r in fresh]  # type: ignore[arg-type]
    old_to_new: dict[int, list[int]] = {}
    new_to_old: dict[int, list[int]] = {}

    def link(i: int, j: int) -> None:
        old_to_new.setdefault(i, []).append(j)
        new_to_old.setdefault(j, []).append(i)

    if by_cik:
        index: dict[object, list[int]] = {}
        for j, new in enumerate(fresh):
            if new["cik"]:
                index.setdefault((new["cik"], new_kind[j]), []).append(j)
        for i, old in enumerate(vanished):
            if old["cik"]:
                for j in index.get((old["cik"], old_kind[i]), []):
                    link(i, j)
    else:
        new_names = [_Name(r["company"]) for r in fresh]  # type: ignore[arg-type]
        by_token: dict[str, list[int]] = {}
        for j, name in enumerate(new_names):
            for token in name.tokens:
                by_token.setdefault(token, []).append(j)
        for i, old in enumerate(vanished):
            name = _Name(old["company"])  # type: ignore[arg-type]
            candidates: set[int] = set()
            for token in name.tokens:
                candidates.update(by_token.get(token, ()))
            for j in sorted(candidates):
                new = fresh[j]
                if (
                    new_kind[j] == old_kind[i]
                    and new["exchange"] == old["exchange"]
                    and name.agrees(new_names[j])
                    and not (old["cik"] and new["cik"] and old["cik"] != new["cik"])
                ):
                    link(i, j)
    pairs = []
    for i, js in sorted(old_to_new.items()):
        if len(js) == 1 and len(new_to_old[js[0]]) == 1:
            pairs.append((vanished[i], fresh[js[0]]))
    return pairs


class _Name:
    """An issuer name's significant words, computed once for many comparisons."""

    __slots__ = ("first", "tokens")

    def __init__(self, name: str | None) -> None:
        self.tokens = name_tokens(name)
        self.first = _first_token(name)

    def agrees(self, other: _Name) -> bool:
        a, b = self.tokens, other.tokens
        if not a or not b:
            return False
        if len(a & b) * 2 >= len(a | b):
            return True
        return (a <= b or b <= a) and self.first == other.first


def _period(sid: int, listing: dict[str, object], day: dt.date) -> dict[str, object]:
    return {
        "security_id": sid,
        "symbol": listing["symbol"],
        "company": listing["company"],
        "cik": listing["cik"],
        "exchange": listing["exchange"],
        "start_date": day,
        "end_date": None,
        "source": SOURCE,
        "permno": None,
        "is_etf": listing["is_etf"],
    }


def _event(sid: object, day: dt.date, action: str, old: object, new: object) -> dict[str, object]:
    return {
        "security_id": sid,
        "ex_date": day,
        "action": action,
        "ratio": None,
        "amount": None,
        "old_symbol": old,
        "new_symbol": new,
    }


def build(store: LakeStore) -> tuple[pa.Table, pa.Table, dict[str, object]]:
    """Today's directory (``NASDAQ_TRADER_URL``) and SEC tickers (``SEC_TICKERS_URL``) applied
    to the master in ``store``: the new master, the day's events (merged into each security's
    stored actions when published) and a summary."""
    from equity_lake.sources import nasdaq, sec_tickers

    snapshot = nasdaq.snapshot()
    tickers = sec_tickers.fetch()
    now = listed(snapshot.listings, tickers.table, snapshot.day)
    previous = store.read_table(keys.SECURITY_MASTER)
    if previous is not None:
        previous = conform_master(previous)
    diff = apply(previous, now)
    notes: dict[str, object] = {
        "snapshot": now.day.isoformat(),
        "listed": now.table.num_rows,
        "test_issues_dropped": snapshot.test_issues,
        "cik_matches": now.cik_matches,
        "cik_name_mismatches": now.cik_refused,
        "sec_tickers_skipped": len(tickers.skipped),
        **diff.summary(),
    }
    return diff.master, diff.actions, notes
