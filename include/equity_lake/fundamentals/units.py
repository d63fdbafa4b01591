"""The units EDGAR facts come in, and which of them a canonical concept may use.

Monetary facts are in an ISO 4217 currency (``USD``, ``EUR``...), per-share facts in
``{currency}/shares``, counts of shares in ``shares`` and ratios in ``pure``. Filers also mint
their own count units (``segment``, ``Store``, ``private_placement``); those are kept as filed,
but can never be the unit of a canonical concept. Values in different units are never added
or compared: every query keeps the unit beside the value.
"""

from __future__ import annotations

import re

#: ISO 4217 codes of currencies in use (plus a few recent historical ones seen in filings)
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BYR BZD CAD CDF CHF CLF CLP CNH CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD
    IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD
    MAD MDL MGA MKD MMK MNT MOP MRO MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR
    PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS
    SRD SSP STD STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VEF
    VES VND VUV WST XAF XAG XAU XCD XDR XOF XPD XPF XPT YER ZAR ZMK ZMW ZWL
    """.split()
)


def _alternation(codes: frozenset[str]) -> str:
    """Codes as a regex grouped by first letter (``A(?:ED|FN)|B(?:AM)``): matching stays fast
    on hundreds of thousands of rows, where a flat 170-way alternation is not."""
    by_letter: dict[str, list[str]] = {}
    for code in sorted(codes):
        by_letter.setdefault(code[0], []).append(code[1:])
    return "|".join(f"{first}(?:{'|'.join(rest)})" for first, rest in by_letter.items())


_CURRENCY_ALT = _alternation(CURRENCIES)
#: a monetary unit: an ISO currency
MONETARY = rf"(?:{_CURRENCY_ALT})"
#: a per-share unit: a currency per share
PER_SHARE = rf"(?:{_CURRENCY_ALT})/shares"
SHARES = "shares"
PURE = "pure"

#: what a canonical concept's ``unit_kind`` allows, as a full-match regex
KIND_PATTERNS = {
    "monetary": MONETARY,
    "per_share": PER_SHARE,
    "shares": SHARES,
    "pure": PURE,
}

#: any unit a filer may use: XBRL measure names, optionally a ratio of two (``USD/shares``,
#: ``Rate``, ``segment``, ``private_placement``). Not known: blanks, spaces, punctuation.
WELL_FORMED = r"[A-Za-z][A-Za-z0-9_.\-]{0,63}(?:/[A-Za-z][A-Za-z0-9_.\-]{0,63})?"

_KIND_RE = {kind: re.compile(pattern) for kind, pattern in KIND_PATTERNS.items()}
_WELL_FORMED_RE = re.compile(WELL_FORMED)


def kind_of(unit: str) -> str | None:
    """``"monetary"``, ``"per_share"``, ``"shares"``, ``"pure"``, or None for other units."""
    for kind, pattern in _KIND_RE.items():
        if pattern.fullmatch(unit):
            return kind
    return None


def currency_of(unit: str) -> str | None:
    """The currency of a monetary or per-share unit (``"EUR/shares"`` -> ``"EUR"``)."""
    kind = kind_of(unit)
    if kind == "monetary":
        return unit
    if kind == "per_share":
        return unit.split("/", 1)[0]
    return None


def is_well_formed(unit: str) -> bool:
    return bool(_WELL_FORMED_RE.fullmatch(unit))
