"""Write-audit-publish: the one path by which rows become visible in the lake.

It sits above the storage layer (``lake/``) and the quality gate (``quality/``), which know
nothing of each other.

Stage the batch under ``data/_staging/{run}/``, run the dataset's expectation suite on it, record
the validation result, then publish by atomically replacing each final object with the merge of
what it held and the new rows (merge, not clobber). A batch that fails its suite is moved to
``data/quarantine/{run}/`` beside its validation result and nothing of it is published.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from equity_lake.lake import keys
from equity_lake.lake.merge import merge_rows
from equity_lake.lake.partition import slices
from equity_lake.lake.store import CorruptObject, LakeStore, holds
from equity_lake.quality.gate import validate_table

log = logging.getLogger(__name__)


class QualityGateFailed(RuntimeError):
    """A partition failed its expectation suite; the message names the failed expectations."""


@dataclass(frozen=True)
class Audited:
    """A staged batch that passed its suite, ready to publish."""

    staged_key: str
    result: dict
    #: failed expectations of severity "warning": published all the same, and counted
    warnings: tuple[str, ...] = ()


def audit(
    store: LakeStore,
    *,
    dataset: str,
    batch_key: str,
    table: pa.Table,
    params: dict[str, object],
    run_id: str,
    day: dt.date,
    partition: str,
    quarantine: bool = True,
) -> Audited:
    """Stage ``table`` and validate it; quarantine and raise on failure. Without
    ``quarantine`` (units gated together, gated again alone on a failure) a failure leaves
    nothing behind but the exception."""
    staged = keys.staging(run_id, batch_key)
    store.write_table(staged, table)
    outcome = validate_table(
        dataset, table, params, run_name=run_id, batch_label=f"{dataset} {day} {partition}"
    )
    if not outcome.success and not quarantine:
        store.delete(staged)
        raise QualityGateFailed(outcome.message())
    store.write_json(keys.quality_result(dataset, day, partition), outcome.result)
    if not outcome.success:
        quarantined = keys.quarantine(run_id, batch_key)
        store.move(staged, quarantined)
        store.write_json(
            quarantined + ".validation.json",
            {
                "dataset": dataset,
                "day": day.isoformat(),
                "partition": partition,
                "failures": outcome.failures,
                "sample_rows": outcome.sample_rows,
                "result": outcome.result,
            },
        )
        raise QualityGateFailed(f"{outcome.message()} (quarantined at {store.uri(quarantined)})")
    return Audited(staged_key=staged, result=outcome.result, warnings=outcome.warnings)


#: how often a merge re-reads and re-merges after losing a race to another writer
MERGE_ATTEMPTS = 20


class ConcurrentWriteConflict(RuntimeError):
    """A merge kept losing to other writers; transient (the task retries)."""


def publish_merge(
    store: LakeStore,
    key: str,
    new: pa.Table,
    key_columns: Sequence[str],
    prior: tuple[bytes | None, str] | None = None,
) -> bool:
    """Merge ``new`` into the object at ``key`` and replace it atomically.

    Returns False (and writes nothing) when the object already holds exactly these rows, so a
    re-run leaves the lake byte-for-byte unchanged. The read-modify-write is checked: when
    another run replaced the object in between, the merge is redone on what it wrote, so
    concurrent runs of different days never lose each other's rows. ``prior`` is the object
    as the caller already read it (bytes, version): the first merge starts from it.
    """
    for _ in range(MERGE_ATTEMPTS):
        data, version = prior if prior is not None else store.read_versioned(key)
        prior = None
        existing = None if data is None else store.stored_table(key, data).cast(new.schema)
        merged = merge_rows(existing, new, key_columns)
        if holds(existing, merged):
            return False
        if store.write_if(key, store.table_bytes(merged), version):
            return True
    raise ConcurrentWriteConflict(
        f"{store.uri(key)}: still replaced by other writers after {MERGE_ATTEMPTS} merges"
    )


def publish_replace(store: LakeStore, key: str, table: pa.Table) -> bool:
    """Replace the object at ``key`` with ``table``, an object rebuilt whole each run (the
    security master, the trading calendar, a universe).

    Returns False (and writes nothing) when the object already holds exactly these rows. A
    corrupt stored object is copied aside (``stored_table``) and replaced: rebuilding it is
    the repair, so a broken master never blocks the command that rebuilds it.
    """
    data = store.read_bytes(key)
    existing = None
    if data is not None:
        try:
            existing = store.stored_table(key, data)
        except CorruptObject as exc:
            log.warning("%s: replacing it", exc)
    return store.write_table_if_changed(key, table, existing)


#: objects merged at once when a batch fans out to one object per security: on S3 each merge
#: is two round trips; on a local folder it is CPU-bound Python, where more threads than
#: cores only contend for the GIL (16 threads took 1.7x as long as 2 on a month's backfill)
PUBLISH_THREADS = 16
LOCAL_PUBLISH_THREADS = 2


def publish_targets(
    store: LakeStore,
    targets: Sequence[tuple[str, pa.Table]],
    key_columns: Sequence[str],
    prior: Mapping[str, tuple[bytes | None, str]] | None = None,
    *,
    whole: bool = False,
) -> int:
    """Merge each (key, rows) target into its object, as ``publish_merge`` does, several at
    once (starting from ``prior`` reads where given), or replace it when the rows are its
    ``whole`` content (``publish_replace``); returns how many objects changed."""
    prior = prior or {}

    def one(target: tuple[str, pa.Table]) -> bool:
        key, rows = target
        if whole:
            return publish_replace(
                store, key, rows.sort_by([(c, "ascending") for c in key_columns])
            )
        return publish_merge(store, key, rows, key_columns, prior.get(key))

    if len(targets) <= 1:
        return sum(one(t) for t in targets)
    threads = LOCAL_PUBLISH_THREADS if store.local else PUBLISH_THREADS
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(one, targets))


def publish_merge_each(
    store: LakeStore,
    table: pa.Table,
    key_of: Callable[[int], str],
    key_columns: Sequence[str],
    *,
    by: str = "security_id",
) -> int:
    """Merge each ``by`` value's rows of ``table`` into its own object ``key_of(value)``;
    returns how many objects changed."""
    ordered = table.sort_by([(by, "ascending")])
    targets = [(key_of(value), rows) for value, rows in slices(ordered, by)]
    return publish_targets(store, targets, key_columns)


def new_run_id(prefix: str) -> str:
    """A fresh run id for work started outside Airflow (a command run by hand), e.g.
    ``master-sample-20241223T183000-1a2b3c4d``: it names the staging and quarantine objects."""
    return f"{prefix}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
