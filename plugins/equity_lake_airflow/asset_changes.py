"""What the Asset events that triggered a run changed: the scope of a derived run.

A run triggered by the fundamentals Asset recomputes the companies those runs stored (the
events' ``stored`` CIKs); one triggered by the daily-ticks Asset recomputes the sessions those
runs published (each event's ``day``, or its backfill's ``first..last``) for every company.
When both kinds arrived before the run started, an event does not say what it changed, or
more than ``MAX_CIKS`` companies changed (a bulk backfill), the run recomputes everything:
slower, never wrong. A manual or scheduled run (no events), or one
whose conf sets ``ciks``, ``start`` or ``end``, keeps its params as given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from equity_lake_airflow.assets import DAILY_TICKS, FUNDAMENTALS

log = logging.getLogger(__name__)

#: the params an event may scope: CIKs (fundamentals) and a range of sessions (daily ticks)
SCOPED = ("ciks", "start", "end")
#: more companies than this (a bulk backfill) are recomputed as "every company": each chunk's
#: command carries the list, and most of the lake changed anyway
MAX_CIKS = 500


def scope(context: Mapping[str, Any]) -> dict[str, Any]:
    """The params the run's triggering Asset events set (empty when none apply)."""
    known = set(getattr(context.get("dag"), "params", {}) or {})
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    if any(conf.get(name) for name in SCOPED):
        return {}  # the user said what to recompute
    events: dict[str, list[Mapping[str, Any]]] = {}
    for asset, found in (context.get("triggering_asset_events") or {}).items():
        events.setdefault(asset.name, []).extend(dict(e.extra or {}) for e in found)
    changes = scope_of(events)
    if events:
        log.info("triggered by %s: recomputing %s", _described(events), changes or "everything")
    return {k: v for k, v in changes.items() if k in known}


def scope_of(events: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, Any]:
    """{asset name: event extras} -> the params that scope the recomputation."""
    fundamentals = list(events.get(FUNDAMENTALS.name, ()))
    daily = list(events.get(DAILY_TICKS.name, ()))
    if fundamentals and daily:
        return {}
    if fundamentals:
        stored = [e.get("stored") for e in fundamentals]
        ciks = sorted({c for found in stored if isinstance(found, list) for c in found})
        if 0 < len(ciks) <= MAX_CIKS and all(isinstance(found, list) for found in stored):
            return {"ciks": ciks}
        return {}
    days = [d for e in daily for d in _days(e)]
    return {"start": min(days), "end": max(days)} if days and len(days) == 2 * len(daily) else {}


def _days(extra: Mapping[str, Any]) -> list[str]:
    """An event's first and last session (ISO), or nothing when it does not say."""
    span = extra.get("backfill")
    if isinstance(span, str) and ".." in span:
        first, last = span.split("..", 1)
        return [first, last]
    day = extra.get("day")
    return [day, day] if isinstance(day, str) else []


def _described(events: Mapping[str, list[Mapping[str, Any]]]) -> str:
    return ", ".join(f"{len(found)} {name} event(s)" for name, found in sorted(events.items()))
