"""Building the security master: one builder per source behind one protocol, and its publish.

A builder (``sample``, ``crsp``, ``sec``) turns its source into a whole master and the corporate
actions that come with it (``MasterBuild``); it is looked up by the name ``master build
--source`` takes. ``build`` runs it and checks the master is consistent; ``write`` publishes it
through write-audit-publish: the master and the batch of corporate actions are each staged and
validated by their dataset's suite, and only then is anything published. The master is replaced
whole, the calendar too, and each security's actions are merged into its file (merge, not
clobber: events an ingest stored are kept). Unchanged objects are not rewritten, so building
the same master again writes nothing.

``master.py`` is the read model (who had ticker T on D); nothing here imports it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Protocol

import pyarrow as pa

from equity_lake import calendar
from equity_lake.engine import wap
from equity_lake.lake import keys
from equity_lake.lake.schemas import CORPORATE_ACTIONS, conform, conform_master
from equity_lake.lake.store import LakeStore

#: the datasets (and expectation suites, see quality/suites.py) of what a build publishes
MASTER_DATASET = "security-master"
ACTIONS_DATASET = "corporate-actions"
#: a security's corporate actions are merged on these columns
ACTION_KEY_COLUMNS = ("ex_date", "action")


class MasterBuildError(ValueError):
    """An unknown source, or a built master that is inconsistent; the message says which."""


@dataclass(frozen=True)
class MasterBuild:
    master: pa.Table
    actions: pa.Table
    #: what the source has to say about the build (counts, the snapshot day, ...)
    notes: dict[str, object] = field(default_factory=dict)
    #: the builder's name; the master suite checks every row comes from it
    source: str = field(kw_only=True)
    #: the day the build describes when the source says (a directory snapshot's); else today
    as_of: dt.date | None = None


class MasterBuilder(Protocol):
    """Builds the whole master and its corporate actions from one source."""

    #: the name ``master build --source`` takes
    source: str

    def build(self, store: LakeStore | None) -> MasterBuild:
        """The master and actions; ``store`` holds the master a builder may continue."""
        ...


class SampleBuilder:
    """The offline synthetic market (``sources/sample.py``)."""

    source = "sample"

    def build(self, store: LakeStore | None) -> MasterBuild:
        from equity_lake.sources.sample import SampleMarket

        market = SampleMarket()
        periods = market.symbol_periods()
        periods = periods.append_column(
            "source", pa.array([self.source] * periods.num_rows, pa.string())
        )
        actions = conform(market.corporate_actions(), CORPORATE_ACTIONS, "corporate actions")
        return MasterBuild(conform_master(periods), actions, source=self.source)


class CrspBuilder:
    """CRSP's name history, delistings and distributions (WRDS, ``sources/crsp.py``)."""

    source = "crsp"

    def build(self, store: LakeStore | None) -> MasterBuild:
        from equity_lake.sources import crsp

        with crsp.CrspClient() as client:
            built = crsp.build_master(client)
        return MasterBuild(built.master, built.actions, built.notes, source=self.source)


class SecBuilder:
    """Today's Nasdaq Trader directory + SEC tickers diffed against the lake's master
    (``master_diff.py``)."""

    source = "sec"

    def build(self, store: LakeStore | None) -> MasterBuild:
        from equity_lake import master_diff

        master, events, notes = master_diff.build(store or LakeStore())
        day = dt.date.fromisoformat(str(notes["snapshot"]))
        return MasterBuild(master, events, notes, source=self.source, as_of=day)


#: the registry: each builder under the name ``master build --source`` takes
BUILDERS: dict[str, MasterBuilder] = {
    b.source: b for b in (SampleBuilder(), CrspBuilder(), SecBuilder())
}


def sources() -> tuple[str, ...]:
    """The names of the registered builders, in registration order."""
    return tuple(BUILDERS)


def builder(source: str) -> MasterBuilder:
    """The builder of ``source``; an unknown name is refused naming the known ones."""
    try:
        return BUILDERS[source]
    except KeyError:
        raise MasterBuildError(
            f"unknown master source {source!r}; known: {', '.join(sources())}"
        ) from None


def build(source: str = "sample", store: LakeStore | None = None) -> MasterBuild:
    """The master and corporate actions of ``source``, checked for consistency."""
    built = builder(source).build(store)
    check(built.master)
    return replace(built, master=sort_master(built.master))


def sort_master(master: pa.Table) -> pa.Table:
    return master.sort_by([("security_id", "ascending"), ("start_date", "ascending")])


def check(master: pa.Table) -> None:
    """Refuse a master where a period ends before it starts or a ticker has two owners at once."""
    df = master.select(["security_id", "symbol", "start_date", "end_date"]).to_pandas()
    far = dt.date(9999, 12, 31)
    df["end"] = df["end_date"].fillna(far)
    bad = df[df["end"] < df["start_date"]]
    if len(bad):
        row = bad.iloc[0]
        raise MasterBuildError(
            f"security {row.security_id} symbol {row.symbol}: period ends before it starts"
        )
    for column in ("symbol", "security_id"):
        ordered = df.sort_values([column, "start_date"])
        same = ordered[column].eq(ordered[column].shift())
        overlap = same & (ordered["start_date"] <= ordered["end"].shift())
        if overlap.any():
            row = ordered[overlap].iloc[0]
            raise MasterBuildError(
                f"{column} {getattr(row, column)} has overlapping symbol periods at "
                f"{row.start_date}"
            )


def write(
    store: LakeStore,
    built: MasterBuild,
    *,
    run_id: str | None = None,
    day: dt.date | None = None,
) -> dict[str, object]:
    """Audit, then publish, the master, the calendar and each security's corporate actions.

    ``run_id`` names the staging and quarantine objects (default: a fresh one); ``day`` the
    validation results (default: the build's ``as_of``, else today, UTC). A master or actions
    batch that fails its suite publishes nothing: it is quarantined with its validation result
    and ``wap.QualityGateFailed`` names the failed expectations.
    """
    source = built.source
    run = run_id or wap.new_run_id(f"master-{source}")
    day = day or built.as_of or dt.datetime.now(dt.UTC).date()
    audited = wap.audit(
        store,
        dataset=MASTER_DATASET,
        batch_key=keys.SECURITY_MASTER,
        table=built.master,
        params={"source": source},
        run_id=run,
        day=day,
        partition=source,
    )
    try:
        actions = publish_actions(store, built.actions, run_id=run, day=day, partition=source)
    finally:
        store.delete(audited.staged_key)
    master_written = wap.publish_replace(store, keys.SECURITY_MASTER, built.master)
    sessions = calendar.calendar_table()
    wap.publish_replace(store, keys.CALENDAR_MASTER, sessions)
    return {
        "master_written": master_written,
        "securities": len(set(built.master.column("security_id").to_pylist())),
        "symbol_periods": built.master.num_rows,
        "corporate_action_files": len(set(built.actions.column("security_id").to_pylist())),
        "corporate_action_files_written": actions.files_written,
        "sessions": sessions.num_rows,
        **quality_warnings(audited.warnings + actions.warnings),
        **built.notes,
    }


@dataclass(frozen=True)
class ActionsPublished:
    files_written: int
    #: the batch's failed expectations of severity "warning" (published all the same)
    warnings: tuple[str, ...] = ()


def publish_actions(
    store: LakeStore, actions: pa.Table, *, run_id: str, day: dt.date, partition: str
) -> ActionsPublished:
    """Audit one batch of corporate actions whole, then merge each security's events into its
    actions file (how many files changed). A batch that fails its suite publishes nothing
    (quarantined, ``wap.QualityGateFailed``); an empty batch writes nothing at all."""
    if actions.num_rows == 0:
        return ActionsPublished(0)
    audited = wap.audit(
        store,
        dataset=ACTIONS_DATASET,
        batch_key=keys.corporate_actions_batch(day, partition),
        table=actions,
        params={},
        run_id=run_id,
        day=day,
        partition=partition,
    )
    written = wap.publish_merge_each(store, actions, keys.corporate_actions, ACTION_KEY_COLUMNS)
    store.delete(audited.staged_key)
    return ActionsPublished(written, audited.warnings)


def quality_warnings(warnings: tuple[str, ...]) -> dict[str, object]:
    """A command result's ``quality_warnings``, present only when there are some."""
    return {"quality_warnings": list(warnings)} if warnings else {}
