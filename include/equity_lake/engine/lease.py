"""The run lease: runs of a dataset that must not overlap take turns, whatever started them.

A dataset that declares ``overlapping = False`` (fundamentals: each run reads the watermark
the previous one advanced) holds a lease in the lake from its plan step to its record step.
Scheduled runs, manual triggers, ``airflow backfill create`` (which ignores the DAG's
``max_active_runs``) and a whole run from the CLI all take it the same way, so the lake, not
the orchestrator, decides. The lease is one small object written with a conditional write
(``LakeStore.write_if``): two runs can never both believe they hold it. A lease older than
its time to live belongs to a run that died without recording (the DAG's ``dagrun_timeout``
fails such a run first) and is taken over.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager

from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore

#: how long a lease holds without its run recording: at least the longest run
TIME_TO_LIVE = dt.timedelta(hours=12)


class RunInProgress(RuntimeError):
    """Another run of the dataset holds the lease: this one waits its turn (not a failure)."""

    def __init__(self, dataset: str, holder: dict[str, str]) -> None:
        self.holder = holder
        super().__init__(
            f"{dataset}: run {holder.get('run_id')} has held the lake since "
            f"{holder.get('since')} (until it records, at the latest {holder.get('expires')}); "
            f"runs of {dataset} never overlap, so this one waits its turn"
        )


def acquire(
    store: LakeStore,
    dataset: str,
    run_id: str,
    *,
    now: dt.datetime | None = None,
    ttl: dt.timedelta = TIME_TO_LIVE,
) -> dict[str, str]:
    """Take (or renew) the dataset's lease for ``run_id``; RunInProgress if another live run
    holds it. Returns the lease."""
    now = now or dt.datetime.now(dt.UTC)
    key = keys.run_lease(dataset)
    data, version = store.read_versioned(key)
    if data is not None:
        holder = json.loads(data)
        live = not holder.get("released") and dt.datetime.fromisoformat(holder["expires"]) > now
        if holder.get("run_id") != run_id and live:
            raise RunInProgress(dataset, holder)
    lease = {
        "dataset": dataset,
        "run_id": run_id,
        "since": now.isoformat(),
        "expires": (now + ttl).isoformat(),
    }
    body = json.dumps(lease, indent=1, sort_keys=True).encode()
    if not store.write_if(key, body, version):  # another run took it in between
        raise RunInProgress(dataset, json.loads(store.read_bytes(key) or b"{}"))
    return lease


def release(store: LakeStore, dataset: str, run_id: str) -> bool:
    """Give the lease back if ``run_id`` holds it (a record step retried, or a run whose
    lease was taken over after it expired, releases nothing of another's). Released is a
    checked write of an expired lease, never a delete: a delete could remove the lease
    another run took in between."""
    key = keys.run_lease(dataset)
    data, version = store.read_versioned(key)
    if data is None:
        return False
    held = json.loads(data)
    if held.get("run_id") != run_id or held.get("released"):
        return False
    now = dt.datetime.now(dt.UTC).isoformat()
    body = {**held, "released": now, "expires": now}
    return store.write_if(key, json.dumps(body, indent=1, sort_keys=True).encode(), version)


def holder(store: LakeStore, dataset: str) -> dict[str, str] | None:
    """The run holding the lease, or None when nobody does."""
    data = store.read_bytes(keys.run_lease(dataset))
    held = None if data is None else json.loads(data)
    return None if not held or held.get("released") else held


@contextmanager
def held(store: LakeStore, dataset: str, run_id: str) -> Iterator[dict[str, str]]:
    """Hold the lease for a whole run in one process (the CLI's run of a dataset)."""
    lease = acquire(store, dataset, run_id)
    try:
        yield lease
    finally:
        release(store, dataset, run_id)
