"""Symbol normalisation: every provider spelling of one instrument -> one canonical symbol."""

from __future__ import annotations

import json

import pytest

from equity_lake import symbols
from equity_lake.lake import keys
from tests.conftest import FIXTURES

DIRECTORY = FIXTURES / "nasdaqtrader"


@pytest.mark.parametrize(
    "raw, style, canonical",
    [
        # Berkshire class B in every spelling
        ("BRK.B", "dot", "BRK.B"),
        ("BRK/B", "cqs", "BRK.B"),  # CQS before 2016
        ("BRK.B", "cqs", "BRK.B"),  # CQS since
        ("BRK.B", "nasdaq", "BRK.B"),
        ("BRK.B", "act", "BRK.B"),
        ("BRK-B", "sec", "BRK.B"),
        ("brk/b", "dot", "BRK.B"),
        # preferreds
        ("BRK$A", "act", "BRK-PA"),
        ("ABRpD", "cqs", "ABR-PD"),
        ("ABR-D", "nasdaq", "ABR-PD"),
        ("JPM-PD", "sec", "JPM-PD"),
        ("BCS$", "act", "BCS-P"),
        ("BCSp/CL", "cqs", "BCS-PCL"),
        ("BCS-*", "nasdaq", "BCS-PCL"),
        # warrants, units, rights, when-issued
        ("AIG/WS", "cqs", "AIG.WS"),
        ("AIG.WS", "cqs", "AIG.WS"),
        ("AIG+", "nasdaq", "AIG.WS"),
        ("AP-WT", "sec", "AP.WS"),
        ("BAC/WS/A", "cqs", "BAC.WSA"),
        ("BAC+A", "nasdaq", "BAC.WSA"),
        ("GRP/U", "cqs", "GRP.U"),
        ("GRP=", "nasdaq", "GRP.U"),
        ("GRP-UN", "sec", "GRP.U"),
        ("GABr", "cqs", "GAB.RT"),
        ("GAB^", "nasdaq", "GAB.RT"),
        ("LDOSw", "cqs", "LDOS.WI"),
        ("LDOS#", "nasdaq", "LDOS.WI"),
        ("NXGrw", "cqs", "NXG.RTWI"),
        ("DRU/CL", "cqs", "DRU.CL"),
        # plain and Nasdaq five-letter symbols stay as they are
        ("GOOGL", "nasdaq", "GOOGL"),
        ("AACBW", "nasdaq", "AACBW"),
        (" aapl ", "sec", "AAPL"),
    ],
)
def test_each_spelling_has_one_canonical_form(raw, style, canonical):
    assert symbols.normalize(raw, style) == canonical
    assert keys.symbol(canonical) == canonical  # usable in keys and the DAG param
    assert symbols.normalize(canonical, "dot") == canonical  # idempotent


def test_crsp_ticker_trading_symbol_and_share_class():
    assert symbols.from_crsp("BRK", "BRKB", "B") == "BRK.B"
    assert symbols.from_crsp("GOOGL", "GOOGL", "A") == "GOOGL"  # the class is in the ticker
    assert symbols.from_crsp("FB", "FB", "A") == "FB"
    assert symbols.from_crsp("BRK", None, "B") == "BRK"  # master adds the class on collision
    assert symbols.with_class("BRK", "B") == "BRK.B"
    assert symbols.with_class("BRK.B", "B") == "BRK.B"
    assert symbols.from_crsp(None, None, None) is None


def test_compact_symbols_resolve_only_against_what_is_listed():
    assert symbols.resolve_compact("BRKB", {"BRK.A", "BRK.B"}) == "BRK.B"
    assert symbols.resolve_compact("AAPL", {"AAPL"}) == "AAPL"
    assert symbols.resolve_compact("BRKB", {"BRKB", "BRK.B"}) is None  # ambiguous
    assert symbols.resolve_compact("ZZZZ", {"AAPL"}) is None


@pytest.mark.parametrize(
    "raw, style, message",
    [
        ("BRK..B", "dot", "cannot read dot symbol 'BRK..B'"),
        ("123", "sec", "does not start with a ticker root"),
        ("ABC/XYZW", "cqs", "cannot read cqs symbol"),
        ("AAPL", "bloomberg", "unknown symbol style 'bloomberg'"),
        ("ABCDEFGHIJK", "dot", "cannot read"),
    ],
)
def test_unreadable_symbols_are_refused_by_name(raw, style, message):
    with pytest.raises(symbols.SymbolError, match=message):
        symbols.normalize(raw, style)


def test_the_three_otherlisted_columns_agree_for_every_real_row():
    """CQS and NASDAQ spellings give the same symbol for all 17,057 rows of the three files;
    ACT (one letter per suffix) agrees except for called and when-issued issues."""
    rows = 0
    act_differs = set()
    for path in sorted(DIRECTORY.glob("*/otherlisted.txt")):
        for line in path.read_text().splitlines()[1:-1]:
            act, _name, _exch, cqs, _etf, _lot, _test, nasdaq = line.split("|")
            canonical = symbols.normalize(cqs, "cqs")
            assert symbols.normalize(nasdaq, "nasdaq") == canonical, line
            keys.symbol(canonical)
            parts = symbols.parse(canonical, "dot")
            if parts.kind in ("common", "preferred") and not parts.share_class:
                if symbols.normalize(act, "act") != canonical:
                    act_differs.add(canonical)
            rows += 1
    assert rows == 17_057
    assert act_differs and all(s.endswith(("CL", "WI")) for s in act_differs)


def test_sec_tickers_normalise_or_are_named():
    data = json.loads((FIXTURES / "sec" / "tickers" / "company_tickers.json").read_text())
    unreadable = []
    for entry in data.values():
        try:
            keys.symbol(symbols.normalize(entry["ticker"], "sec"))
        except symbols.SymbolError:
            unreadable.append(entry["ticker"])
    assert unreadable == ["CELG-RI"]  # a contingent value right: no canonical form
