"""Ticker symbology: the ONE place where provider symbol forms become the lake's canonical form.

Every source writes the same instrument differently. Berkshire's class B shares are ``BRK.B``
(canonical, Nasdaq Trader's ACT and NASDAQ columns, CQS since 2016), ``BRK/B`` (CQS before),
``BRK-B`` (SEC ``company_tickers*.json``), ``BRKB`` (CRSP's trading symbol) and ``BRK`` with
share class ``B`` (CRSP's ticker column). A preferred series is ``ABR$D`` (ACT), ``ABRpD``
(CQS), ``ABR-D`` (NASDAQ) and ``ABR-PD`` (SEC). The master keys securities by symbol, so every
form is turned into one canonical spelling here and nowhere else.

Canonical form (it always passes :func:`equity_lake.lake.keys.symbol`)::

    ROOT            common stock, ETF, ADR, ...          AAPL, GOOGL, AACBW (Nasdaq 5th letter)
    ROOT.X          share class X                        BRK.B, BF.A
    ROOT-P[S]       preferred stock [series S]           JPM-PD, BCS-P
    ROOT.WS[X]      warrants [class X]                   AIG.WS, BAC.WSA
    ROOT.U          units                                GRP.U
    ROOT.RT         rights                               GAB.RT
    ...WI / ...CL / ...WD appended for when-issued, called and when-distributed issues:
    LDOS.WI, NXG.RTWI, ASB-PBCL, DRU.CL

Styles accepted by :func:`normalize`:

* ``cqs``     CQS symbols (Nasdaq Trader ``otherlisted.txt`` column "CQS Symbol"):
  ``/A`` or ``.A`` class, ``p``/``pA`` preferred, ``/WS``/``.WS`` (``/WS/A``) warrants,
  ``/U``/``.U`` units, ``r`` rights, ``w`` when-issued, ``/CL`` called, ``/WD``.
* ``nasdaq``  Nasdaq Integrated Platform suffixes (column "NASDAQ Symbol", and the
  ``nasdaqlisted.txt`` symbols): ``.A`` class, ``-``/``-A`` preferred, ``+``/``+A`` warrants,
  ``=`` units, ``^`` rights, ``#`` when-issued, ``*`` called.
* ``act``     ACT symbols (column "ACT Symbol"): ``$``/``$A`` preferred, ``.A`` class. ACT
  writes warrants and units with one letter too (``AIG.W``, ``GRP.U``), so ``.X`` is read as
  a share class: prefer the CQS or NASDAQ column when there is one.
* ``sec``     SEC / EDGAR dash form: ``BRK-B`` class, ``JPM-PD`` and ``X-P`` preferred,
  ``-WT``/``-WTA`` warrants, ``-UN`` units, ``-RT`` rights, ``-WI`` when-issued.
* ``dot``     the canonical form itself (idempotent; ``/`` is accepted for ``.``).

``BRKB``-style compact symbols cannot be split without knowing what is listed: see
:func:`resolve_compact`; CRSP's ticker + trading symbol + share class go through
:func:`from_crsp`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

STYLES = ("cqs", "nasdaq", "act", "sec", "dot")
MAX_ROOT = 10
MAX_SUFFIX = 4

_ROOT = re.compile(r"^[A-Z][A-Z0-9]{0,9}")
_CANONICAL = re.compile(r"^[A-Z][A-Z0-9]{0,9}([.\-][A-Z0-9]{1,4})?$")


class SymbolError(ValueError):
    """A symbol that cannot be read in the given style; the message names both."""


@dataclass(frozen=True)
class Parts:
    """What a symbol says about the instrument, independent of how it was spelled."""

    root: str
    share_class: str = ""
    preferred: bool = False
    series: str = ""
    warrant: bool = False
    warrant_class: str = ""
    unit: bool = False
    right: bool = False
    when_issued: bool = False
    called: bool = False
    when_distributed: bool = False

    @property
    def kind(self) -> str:
        """The instrument kind: common, preferred, warrant, unit or right."""
        if self.preferred:
            return "preferred"
        if self.warrant:
            return "warrant"
        if self.unit:
            return "unit"
        if self.right:
            return "right"
        return "common"


def render(parts: Parts) -> str:
    """The canonical spelling of ``parts`` (SymbolError if it does not fit the key rules)."""
    if parts.preferred:
        sep, suffix = "-", "P" + parts.series
    else:
        sep, suffix = ".", parts.share_class
        if parts.warrant:
            suffix += "WS" + parts.warrant_class
        if parts.unit:
            suffix += "U"
        if parts.right:
            suffix += "RT"
    if parts.when_issued:
        suffix += "WI"
    if parts.called:
        suffix += "CL"
    if parts.when_distributed:
        suffix += "WD"
    text = parts.root + (sep + suffix if suffix else "")
    if len(parts.root) > MAX_ROOT or len(suffix) > MAX_SUFFIX or not _CANONICAL.match(text):
        raise SymbolError(f"symbol {text!r} does not fit the lake's ticker rules")
    return text


def normalize(raw: str, style: str) -> str:
    """``raw`` written in ``style`` (see the module doc) -> the canonical symbol."""
    return render(parse(raw, style))


def parse(raw: str, style: str) -> Parts:
    """Read ``raw`` as written in ``style``; SymbolError names the symbol and the style."""
    if style not in _PARSERS:
        raise SymbolError(f"unknown symbol style {style!r}; choose one of {', '.join(STYLES)}")
    if not isinstance(raw, str):
        raise SymbolError(f"symbol {raw!r} is not text")
    text = raw.strip()
    if style != "cqs":  # CQS uses lower-case suffix letters as markers
        text = text.upper()
    match = _ROOT.match(text)
    if not match:
        raise SymbolError(f"{style} symbol {raw!r} does not start with a ticker root")
    root, rest = match.group(0), text[match.end() :]
    try:
        return _PARSERS[style](root, rest)
    except _Unreadable:
        raise SymbolError(f"cannot read {style} symbol {raw!r} (suffix {rest!r})") from None


def user_forms(raw: str) -> list[str]:
    """The canonical symbols a user may mean by ``raw``, most likely first.

    People type the canonical form (``BRK.B``, ``brk/b``) or EDGAR's dash form (``BRK-B``);
    both are read here, so a typed symbol goes through the one normaliser like any source's.
    Non-ASCII text is refused before upper-casing (``ß`` would become ``SS``).
    """
    if not isinstance(raw, str) or not raw.strip():
        raise SymbolError(f"symbol {raw!r} is empty")
    text = raw.strip()
    if not text.isascii():
        raise SymbolError(f"symbol {raw!r} has characters that are not ASCII letters or digits")
    forms: list[str] = []
    for style in ("dot", "sec"):
        try:
            form = normalize(text, style)
        except SymbolError:
            continue
        if form not in forms:
            forms.append(form)
    if not forms:
        raise SymbolError(f"symbol {raw!r} is not a ticker (e.g. AAPL, BRK.B or BRK-B)")
    return forms


def user_symbol(raw: str) -> str:
    """A typed symbol, checked (see ``user_forms``) and upper-cased as typed: the universe
    resolves it against what is listed."""
    user_forms(raw)
    return raw.strip().upper()


def kind(symbol: str) -> str:
    """The instrument kind of a canonical symbol (common, preferred, warrant, unit, right)."""
    return parse(symbol, "dot").kind


class _Unreadable(Exception):
    pass


def _parse_cqs(root: str, rest: str) -> Parts:
    flags: dict[str, object] = {}
    # CQS markers: p (preferred), r (rights), w (when-issued), then /-or-. separated words
    pos = 0
    while pos < len(rest):
        ch = rest[pos]
        if ch == "p":
            flags["preferred"] = True
            if pos + 1 < len(rest) and rest[pos + 1].isupper():
                flags["series"] = rest[pos + 1]
                pos += 1
            pos += 1
        elif ch == "r":
            flags["right"] = True
            pos += 1
        elif ch == "w":
            flags["when_issued"] = True
            pos += 1
        elif ch in "/.":
            word = re.match(r"[A-Z]+", rest[pos + 1 :])
            if not word:
                raise _Unreadable
            token = word.group(0)
            pos += 1 + len(token)
            if token == "WS":
                flags["warrant"] = True
            elif token == "U":
                flags["unit"] = True
            elif token == "CL":
                flags["called"] = True
            elif token == "WD":
                flags["when_distributed"] = True
            elif token == "WI":
                flags["when_issued"] = True
            elif len(token) == 1 and flags.get("warrant"):
                flags["warrant_class"] = token
            elif len(token) == 1 and not flags.get("share_class"):
                flags["share_class"] = token
            else:
                raise _Unreadable
        else:
            raise _Unreadable
    return Parts(root=root, **flags)  # type: ignore[arg-type]


def _parse_nasdaq(root: str, rest: str) -> Parts:
    flags: dict[str, object] = {}
    m = re.fullmatch(
        r"(\.(?P<cls>[A-Z]))?(?P<kind>[-+=^])?(?P<letter>[A-Z])?(?P<marks>[#*]*)", rest
    )
    if not m:
        raise _Unreadable
    if m.group("cls"):
        flags["share_class"] = m.group("cls")
    letter = m.group("letter") or ""
    match m.group("kind"):
        case "-":
            flags["preferred"], flags["series"] = True, letter
        case "+":
            flags["warrant"], flags["warrant_class"] = True, letter
        case "=":
            flags["unit"] = True
        case "^":
            flags["right"] = True
        case None:
            pass
    if letter and m.group("kind") not in ("-", "+"):
        raise _Unreadable
    marks = m.group("marks")
    flags["when_issued"] = "#" in marks
    flags["called"] = "*" in marks
    return Parts(root=root, **flags)  # type: ignore[arg-type]


def _parse_act(root: str, rest: str) -> Parts:
    if not rest:
        return Parts(root=root)
    m = re.fullmatch(r"\$(?P<series>[A-Z]?)", rest)
    if m:
        return Parts(root=root, preferred=True, series=m.group("series"))
    m = re.fullmatch(r"\.(?P<cls>[A-Z])", rest)
    if m:
        return Parts(root=root, share_class=m.group("cls"))
    raise _Unreadable


_SEC_SUFFIX = {
    "WT": {"warrant": True},
    "WS": {"warrant": True},
    "UN": {"unit": True},
    "U": {"unit": True},
    "RT": {"right": True},
    "WI": {"when_issued": True},
}


def _parse_sec(root: str, rest: str) -> Parts:
    if not rest:
        return Parts(root=root)
    if not re.fullmatch(r"[-.][A-Z]{1,4}", rest):
        raise _Unreadable
    suffix = rest[1:]
    if suffix in _SEC_SUFFIX:
        return Parts(root=root, **_SEC_SUFFIX[suffix])  # type: ignore[arg-type]
    if re.fullmatch(r"WT[A-Z]", suffix):
        return Parts(root=root, warrant=True, warrant_class=suffix[2])
    if re.fullmatch(r"P[A-Z]?", suffix):
        return Parts(root=root, preferred=True, series=suffix[1:])
    if len(suffix) == 1:
        return Parts(root=root, share_class=suffix)
    raise _Unreadable


def _parse_dot(root: str, rest: str) -> Parts:
    if not rest:
        return Parts(root=root)
    sep, body = rest[0], rest[1:]
    tail = {"when_issued": False, "called": False, "when_distributed": False}
    marks = {"WI": "when_issued", "CL": "called", "WD": "when_distributed"}
    while len(body) >= 2 and body[-2:] in marks and not tail[marks[body[-2:]]]:
        tail[marks[body[-2:]]] = True
        body = body[:-2]
    if sep == "-":
        m = re.fullmatch(r"P([A-Z]?)", body)
        if not m:
            raise _Unreadable
        return Parts(root=root, preferred=True, series=m.group(1), **tail)
    if sep not in "./" or not (body or any(tail.values())):
        raise _Unreadable
    if body == "U":
        return Parts(root=root, unit=True, **tail)
    cls = ""
    if len(body) == 1 or (len(body) > 1 and body[1:] in ("U", "RT") or body[1:3] == "WS"):
        cls, body = body[:1], body[1:]
    m = re.fullmatch(r"(?P<ws>WS(?P<wcls>[A-Z])?)?(?P<u>U)?(?P<rt>RT)?", body)
    if not m:
        raise _Unreadable
    return Parts(
        root=root,
        share_class=cls,
        warrant=bool(m.group("ws")),
        warrant_class=m.group("wcls") or "",
        unit=bool(m.group("u")),
        right=bool(m.group("rt")),
        **tail,
    )


def _tail(text: str) -> dict[str, bool]:
    return {"when_issued": "WI" in text, "called": "CL" in text, "when_distributed": "WD" in text}


_PARSERS = {
    "cqs": _parse_cqs,
    "nasdaq": _parse_nasdaq,
    "act": _parse_act,
    "sec": _parse_sec,
    "dot": _parse_dot,
}


def from_crsp(
    ticker: str | None, trading_symbol: str | None, share_class: str | None
) -> str | None:
    """CRSP's ticker / trading symbol / share class -> canonical symbol (None: no ticker).

    CRSP keeps the root in ``ticker`` (``BRK``) and the class in ``shrcls``/``shareclass``;
    ``tsymbol``/``tradingsymbol`` is the compact form (``BRKB``). When the trading symbol is
    the root plus the class letter, the class is part of the symbol (``BRK.B``); when it
    equals the ticker (``GOOGL`` class A, ``FB`` class A) it is not. Where CRSP gives no
    trading symbol the class is added only if another share class holds the same ticker at
    the same time (the caller knows that: see :func:`with_class`).
    """
    root = (ticker or "").strip().upper()
    if not root:
        return None
    cls = (share_class or "").strip().upper()
    tsym = (trading_symbol or "").strip().upper()
    if cls and len(cls) == 1 and tsym and tsym != root and tsym == root + cls:
        return render(Parts(root=root, share_class=cls))
    return render(Parts(root=root))


def with_class(symbol: str, share_class: str | None) -> str:
    """``symbol`` with CRSP's share class letter added (``BRK`` + ``A`` -> ``BRK.A``)."""
    cls = (share_class or "").strip().upper()
    parts = parse(symbol, "dot")
    if not cls or len(cls) != 1 or parts.share_class or parts.kind != "common":
        return symbol
    return render(Parts(root=parts.root, share_class=cls))


def resolve_compact(raw: str, known: Collection[str]) -> str | None:
    """A compact symbol (``BRKB``) -> the known canonical symbol it means, or None.

    The compact form drops the separator, so ``BRKB`` is ``BRKB`` if that is listed and
    ``BRK.B`` if that is; both listed (or neither) is ambiguous and returns None.
    """
    text = raw.strip().upper()
    candidates = {text} if text in known else set()
    if len(text) >= 2:
        dotted = f"{text[:-1]}.{text[-1]}"
        if dotted in known:
            candidates.add(dotted)
    return candidates.pop() if len(candidates) == 1 else None
