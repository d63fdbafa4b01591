"""Concept coverage: for a company's stored facts, which canonical concepts the project answers.

For each concept it lists the tags of the document that plausibly carry it (``concepts``'
``plausible``), and what ``latest_as_of`` returns: how many periods, how many of them from a
fallback line, and under which tags. A *gap* is a concept with a plausible tag and no value, or
a plausible tag in the document that is no candidate (its values would never be used): a
candidate list to extend, or a ``plausible`` pattern to narrow with the reason written down.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake.fundamentals import concepts, pointintime

#: taxonomies whose tags may carry a canonical concept
TAXONOMIES = ("us-gaap", "ifrs-full", "dei")


@dataclass(frozen=True)
class Coverage:
    """One concept of one company."""

    concept: str
    status: str  # "covered", "gap" or "absent" (no plausible tag in the document)
    periods: int
    fallback_periods: int
    tags_used: tuple[str, ...]
    plausible_tags: tuple[str, ...]
    #: plausible tags of the document that are not candidates: never used
    unmapped_tags: tuple[str, ...] = ()


def report(table: pa.Table, as_of: dt.date) -> list[Coverage]:
    """Coverage of every canonical concept in one company's facts, as known on ``as_of``."""
    present = _tags_in(table)
    out = []
    for spec in concepts.CONCEPTS:
        plausible = tuple(
            sorted(
                f"{taxonomy}:{tag}"
                for taxonomy, tag in present
                if spec.plausible_pattern.fullmatch(tag)
                and (taxonomy != "dei" or f"dei:{tag}" in spec.tags)
            )
        )
        answer = pointintime.latest_as_of(table, spec.name, as_of)
        rows = answer.select(["taxonomy", "tag", "fallback"]).to_pylist()
        used = tuple(sorted({f"{r['taxonomy']}:{r['tag']}" for r in rows}))
        unmapped = tuple(t for t in plausible if t not in spec.tags)
        if unmapped or (plausible and not rows):
            status = "gap"
        else:
            status = "covered" if rows else "absent"
        out.append(
            Coverage(
                concept=spec.name,
                status=status,
                periods=len(rows),
                fallback_periods=sum(1 for r in rows if r["fallback"]),
                tags_used=used,
                plausible_tags=plausible,
                unmapped_tags=unmapped,
            )
        )
    return out


def gaps(table: pa.Table, as_of: dt.date) -> list[Coverage]:
    """The concepts a reviewer would call missing."""
    return [c for c in report(table, as_of) if c.status == "gap"]


def _tags_in(table: pa.Table) -> set[tuple[str, str]]:
    """Distinct (taxonomy, tag) of the facts, within the taxonomies concepts draw on."""
    pairs = table.select(["taxonomy", "tag"]).group_by(["taxonomy", "tag"]).aggregate([])
    keep = pc.is_in(pairs.column("taxonomy"), value_set=pa.array(TAXONOMIES))
    return {(r["taxonomy"], r["tag"]) for r in pairs.filter(keep).to_pylist()}
