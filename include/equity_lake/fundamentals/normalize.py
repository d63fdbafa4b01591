"""companyfacts JSON -> the long fundamentals table (one row per fact per filing).

EDGAR's companyfacts document nests facts as ``facts[taxonomy][tag]["units"][unit] = [fact,
...]`` where each fact carries ``start`` (durations only), ``end``, ``val``, ``accn``, ``fy``,
``fp``, ``form``, ``filed`` and, for one fact per period, ``frame``. Every fact is kept: a value
restated in a later filing is another row with that filing's ``accn`` and ``filed``.

The conversion is columnar: one pass collects each field into a list, the repeated columns
(cik, taxonomy, tag, unit, concept) are built by index, and dates are parsed by Arrow. It costs
about as much again as ``json.loads`` of the same bytes (see ``make bench``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from equity_lake.fundamentals.concepts import concept_of
from equity_lake.lake import keys
from equity_lake.lake.schemas import FUNDAMENTALS

_FIELDS = ("end", "start", "val", "accn", "fy", "fp", "form", "filed", "frame")


class CompanyFactsError(ValueError):
    """A companyfacts document does not have EDGAR's shape; the message says where."""


def parse(raw: bytes | str) -> dict[str, Any]:
    """Decode a companyfacts body, naming the problem when it is not JSON."""
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise CompanyFactsError(f"companyfacts body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CompanyFactsError(f"companyfacts body is a {type(doc).__name__}, not an object")
    return doc


def normalize(doc: Mapping[str, Any] | bytes | str, *, cik: object | None = None) -> pa.Table:
    """The facts of one companyfacts document as a FUNDAMENTALS table.

    ``cik``, when given, must match the document's own (a server answering for the wrong
    company is an error, not data).
    """
    if isinstance(doc, bytes | bytearray | str):
        doc = parse(doc)
    own = _document_cik(doc)
    if cik is not None and keys.cik(cik) != own:
        raise CompanyFactsError(f"companyfacts for CIK {keys.cik(cik)} describes CIK {own}")
    facts = doc.get("facts")
    if facts is None or (isinstance(facts, list) and not facts):
        facts = {}  # EDGAR sends "facts": {} (or []) for a company without XBRL
    if not isinstance(facts, Mapping):
        raise CompanyFactsError(f"CIK {own}: 'facts' is a {type(facts).__name__}")

    groups: list[tuple[str, str, str, str | None]] = []
    sizes: list[int] = []
    rows: list[tuple] = []
    for taxonomy, tags in facts.items():
        if not isinstance(tags, Mapping):
            raise CompanyFactsError(f"CIK {own}: facts[{taxonomy!r}] is not an object")
        for tag, body in tags.items():
            units = body.get("units") if isinstance(body, Mapping) else None
            if not isinstance(units, Mapping):
                raise CompanyFactsError(f"CIK {own}: {taxonomy}:{tag} has no 'units' object")
            concept = concept_of(taxonomy, tag)
            for unit, items in units.items():
                try:
                    rows.extend(
                        [
                            (
                                f["end"],
                                f.get("start"),
                                f["val"],
                                f["accn"],
                                f.get("fy"),
                                f.get("fp"),
                                f["form"],
                                f["filed"],
                                f.get("frame"),
                            )
                            for f in items
                        ]
                    )
                except (KeyError, TypeError, AttributeError) as exc:
                    raise CompanyFactsError(
                        f"CIK {own}: a {taxonomy}:{tag} fact in {unit} lacks {exc}"
                    ) from None
                groups.append((taxonomy, tag, unit, concept))
                sizes.append(len(items))
    return _table(own, groups, sizes, rows)


def known_by(table: pa.Table, day: dt.date) -> pa.Table:
    """The facts filed on or before ``day`` (what a run for ``day`` may know)."""
    return table.filter(pc.less_equal(table.column("filed"), pa.scalar(day, pa.date32())))


def _document_cik(doc: Mapping[str, Any]) -> str:
    try:
        return keys.cik(doc["cik"])
    except KeyError:
        raise CompanyFactsError("companyfacts document has no 'cik'") from None
    except keys.InvalidIdentifier as exc:
        raise CompanyFactsError(f"companyfacts document: {exc}") from None


def _table(
    cik: str,
    groups: list[tuple[str, str, str, str | None]],
    sizes: list[int],
    rows: list[tuple],
) -> pa.Table:
    n = len(rows)
    if n == 0:
        return FUNDAMENTALS.empty_table()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_FIELDS)
    by_field = dict(zip(_FIELDS, columns, strict=True))
    group_index = pa.array(np.repeat(np.arange(len(groups), dtype=np.int32), sizes))

    def repeated(values: list[str | None]) -> pa.Array:
        return pa.array(values, pa.string()).take(group_index)

    try:
        arrays = {
            "cik": pa.array([cik], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32))),
            "taxonomy": repeated([g[0] for g in groups]),
            "tag": repeated([g[1] for g in groups]),
            "concept": repeated([g[3] for g in groups]),
            "unit": repeated([g[2] for g in groups]),
            "start": _dates(by_field["start"], "start"),
            "end": _dates(by_field["end"], "end"),
            "value": pa.array(by_field["val"], pa.float64()),
            "accn": pa.array(by_field["accn"], pa.string()),
            "form": pa.array(by_field["form"], pa.string()),
            "filed": _dates(by_field["filed"], "filed"),
            "fy": pa.array(by_field["fy"], pa.int64()),
            "fp": pa.array(by_field["fp"], pa.string()),
            "frame": pa.array(by_field["frame"], pa.string()),
        }
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
        raise CompanyFactsError(f"CIK {cik}: a fact has a malformed field: {exc}") from None
    return pa.Table.from_arrays([arrays[f.name] for f in FUNDAMENTALS], schema=FUNDAMENTALS)


def _dates(values: tuple, what: str) -> pa.Array:
    strings = pa.array(values, pa.string())
    try:
        return strings.cast(pa.date32())
    except pa.ArrowInvalid:
        bad = next((v for v in values if v is not None and not _is_iso_date(v)), None)
        raise CompanyFactsError(f"'{what}' {bad!r} is not an ISO date") from None


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return False
    return len(text) == 10
