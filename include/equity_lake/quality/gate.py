"""Quality gate: run a dataset's expectation suite on an Arrow partition.

Write-audit-publish calls `validate_table` on the staged partition and publishes only if
`GateResult.success`; otherwise it quarantines the data with `GateResult.result` and fails
the task with `GateResult.message()`.

Great Expectations is imported on first use, not at module import: importing it takes
seconds (10-15 s on a small box), and this module is imported by code (CLI, lake writer)
that often never validates. One ephemeral GX context, pandas datasource and one batch
definition per dataset are created once per process and reused by every call.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context import AbstractDataContext

    from equity_lake.quality.suites import DatasetSuite

#: Rows kept per failed expectation (GX's partial_unexpected_count) and in sample_rows.
SAMPLE_ROWS = 5

# Two passes keep the common (passing) case cheap: BASIC reports counts and observed values,
# which is all Data Docs and the failure lines need; only expectations that failed row by row
# are re-run with SUMMARY, the cheapest format that reports the indices of offending rows.
# On 6,000 rows BASIC costs ~0.27 s against ~0.39 s for SUMMARY (GX overhead dominates).
_BASIC_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_ROWS}
_DETAIL_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": SAMPLE_ROWS,
}

_DATASOURCE = "equity_lake"
_PAIR_GREATER = "expect_column_pair_values_a_to_be_greater_than_b"


@dataclass(frozen=True)
class GateResult:
    """Outcome of one partition's validation, in the shapes its consumers need."""

    dataset: str
    success: bool
    failures: list[str]
    sample_rows: list[dict]
    result: dict
    #: failed expectations of severity "warning": counted and shown, never a rejection
    warnings: tuple[str, ...] = ()

    def message(self) -> str:
        """One line for a task failure: what failed, how often, and a few offending rows."""
        evaluated = self.result.get("statistics", {}).get("evaluated_expectations", 0)
        if self.success:
            if self.warnings:
                return (
                    f"{self.dataset} partition passed its critical expectations with "
                    f"{len(self.warnings)} warning(s): {'; '.join(self.warnings)}"
                )
            return f"{self.dataset} partition passed all {evaluated} expectations"
        count = len(self.failures)
        noun = "expectation" if count == 1 else "expectations"
        text = f"{self.dataset} partition failed {count} {noun}: {'; '.join(self.failures)}"
        if self.sample_rows:
            text += "; sample rows: " + ", ".join(_format_row(r) for r in self.sample_rows)
        return " ".join(text.split())  # one line, whatever the messages contained


def validate_table(
    dataset: str,
    table: pa.Table,
    params: dict[str, object],
    *,
    run_name: str | None = None,
    batch_label: str | None = None,
) -> GateResult:
    """Validate one partition against its dataset's suite.

    params for daily-ticks: trading_date (datetime.date), expected_rows (int), min_rows (int).
    run_name (e.g. the Airflow run id) and batch_label (e.g. "daily-ticks 2024-12-23 chunk
    3/12") are stored in the result's meta so Data Docs can list the run readably.
    """
    import equity_lake.quality.suites as suites
    from equity_lake.quality.frames import to_frame

    spec = suites.get(dataset)
    spec.check_params(params)
    suite = spec.build(**params)
    frame = to_frame(table)

    batch_definition = _engine().batch_definition(dataset)
    run_time = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    with _VALIDATE_LOCK:  # one shared dataframe asset: concurrent batches would swap frames
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        validation = batch.validate(suite, result_format=_BASIC_FORMAT)
        if not validation.success:
            _add_offending_indices(batch, suite, validation)
    elapsed = time.perf_counter() - started

    _annotate(validation, spec, params, table, run_name, batch_label, run_time, elapsed)
    result = validation.to_json_dict()
    order = _suite_order(suite)
    unsuccessful = sorted(
        (r for r in result["results"] if not r["success"]),
        key=lambda r: order.get(_config_key(r["expectation_config"]), len(order)),
    )
    failed = [r for r in unsuccessful if not is_warning(r)]
    warned = [describe_failure(r) for r in unsuccessful if is_warning(r)]
    # only critical expectations decide; warnings stay in the result and Data Docs
    result["success"] = not failed
    result["meta"]["equity_lake"]["warnings"] = warned
    if warned:  # Data Docs render batch_kwargs in each validation page's header
        result["meta"]["batch_kwargs"]["warnings"] = f"{len(warned)}: " + "; ".join(warned)
    return GateResult(
        dataset=dataset,
        success=not failed,
        failures=[describe_failure(r) for r in failed],
        sample_rows=_sample_rows(table, failed),
        result=result,
        warnings=tuple(warned),
    )


def is_warning(expectation_result: dict) -> bool:
    """A failed expectation of severity "warning" (unusual but real data) rejects nothing."""
    return expectation_result["expectation_config"].get("severity") == "warning"


def warm_up(*, background: bool = False) -> threading.Thread | None:
    """Import GX and build the shared context now rather than on the first validation.

    The import dominates a cold gate (seconds); a task can call
    `warm_up(background=True)` when it starts so that cost overlaps the ingest's network
    I/O. A validation that arrives while warm-up runs waits for it instead of repeating it.
    """
    if not background:
        _engine()
        return None
    thread = threading.Thread(target=_engine, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


def describe_failure(expectation_result: dict) -> str:
    """One line for a failed expectation result (JSON form), e.g.
    "expect_column_pair_values_a_to_be_greater_than_b(high >= close): 1 of 6012 rows".
    """
    config = expectation_result["expectation_config"]
    etype = config["type"]
    kwargs = config.get("kwargs", {})
    subject = _subject(etype, kwargs)
    condition = kwargs.get("row_condition")
    if isinstance(condition, dict):  # GX keeps a string condition as a pass-through filter
        condition = condition.get("pass_through_filter")
    if isinstance(condition, str) and len(condition) <= 60:  # long ones (unit kinds) say nothing
        subject = f"{subject} where {condition}" if subject else f"where {condition}"
    head = f"{etype}({subject})" if subject else etype
    errors = _exception_messages(expectation_result.get("exception_info"))
    if errors:
        return f"{head}: error: {' | '.join(errors)}"
    outcome = expectation_result.get("result") or {}
    if "unexpected_count" in outcome and "element_count" in outcome:
        return f"{head}: {outcome['unexpected_count']} of {outcome['element_count']} rows"
    if "observed_value" in outcome:
        return f"{head}: {_observed(etype, kwargs, outcome)}"
    return f"{head}: failed"


# --- GX context, created once per process ------------------------------------------------


class _Engine:
    """The process-wide ephemeral GX context, its pandas datasource and batch definitions."""

    def __init__(self) -> None:
        quiet_gx_logging()
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False,
        )
        self.context: AbstractDataContext = gx.get_context(project_config=config, mode="ephemeral")
        self._datasource = self.context.data_sources.add_pandas(_DATASOURCE)
        self._batch_definitions: dict[str, BatchDefinition] = {}
        self._lock = threading.Lock()

    def batch_definition(self, dataset: str) -> BatchDefinition:
        """One dataframe asset per dataset, so Data Docs show the dataset as the asset name."""
        with self._lock:
            if dataset not in self._batch_definitions:
                asset = self._datasource.add_dataframe_asset(dataset)
                self._batch_definitions[dataset] = asset.add_batch_definition_whole_dataframe(
                    "partition"
                )
            return self._batch_definitions[dataset]


_ENGINE: _Engine | None = None
_ENGINE_LOCK = threading.Lock()
#: GX validation is CPU-bound Python (the GIL serialises it anyway): one at a time
_VALIDATE_LOCK = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = _Engine()
        return _ENGINE


def quiet_gx_logging() -> None:
    """GX logs dozens of INFO lines per import and per validation; Airflow logs at INFO.

    Raise only GX's own logger, and only if nobody configured it, so an operator can still
    turn it back on with logging config.
    """
    logger = logging.getLogger("great_expectations")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def _add_offending_indices(batch: Any, suite: Any, validation: Any) -> None:
    """Re-run the critical row-level failures with SUMMARY so their results name offending
    rows (the sample rows of a rejection). Warnings are not re-run: they reject nothing and
    no sample rows are taken from them, and real months carry a few (a big move), so
    re-running them would validate most partitions twice."""
    import great_expectations as gx

    by_key = {_config_key(c.to_json_dict()): c for c in suite.expectation_configurations}
    positions = {}
    for position, outcome in enumerate(validation.results):
        if outcome.success or "unexpected_count" not in (outcome.result or {}):
            continue
        config = outcome.expectation_config.to_json_dict()
        if is_warning({"expectation_config": config}):
            continue
        key = _config_key(config)
        if key in by_key:
            positions[key] = position
    if not positions:
        return
    detail_suite = gx.ExpectationSuite(
        name=suite.name, expectations=[by_key[k].to_domain_obj() for k in positions]
    )
    detail = batch.validate(detail_suite, result_format=_DETAIL_FORMAT)
    for outcome in detail.results:
        key = _config_key(outcome.expectation_config.to_json_dict())
        if key in positions:
            validation.results[positions[key]] = outcome


# --- result metadata -----------------------------------------------------------------------


def _annotate(
    validation: Any,
    spec: DatasetSuite,
    params: dict[str, object],
    table: pa.Table,
    run_name: str | None,
    batch_label: str | None,
    run_time: dt.datetime,
    elapsed: float,
) -> None:
    """Put run identity and batch label where GX's stores and Data Docs renderers look.

    run_id / validation_time are what ValidationDefinition.run would set; batch_kwargs is the
    meta key the Data Docs page and index read the asset name and batch details from.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    label = batch_label or spec.default_label(params)
    name = run_name or f"{spec.dataset}__{run_time:%Y%m%dT%H%M%SZ}"
    json_params = json.loads(json.dumps(params, default=str))
    validation.meta["run_id"] = RunIdentifier(run_name=name, run_time=run_time)
    validation.meta["validation_time"] = run_time
    validation.meta["batch_kwargs"] = {
        "data_asset_name": spec.dataset,
        "batch_label": label,
        "rows": table.num_rows,
        **json_params,
    }
    validation.meta["equity_lake"] = {
        "dataset": spec.dataset,
        "batch_label": label,
        "run_name": name,
        "params": json_params,
        "rows": table.num_rows,
        "validate_seconds": round(elapsed, 4),
    }


# --- failure lines -------------------------------------------------------------------------


def _config_key(config: dict) -> str:
    kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}
    return json.dumps([config["type"], kwargs], sort_keys=True, default=str)


def _suite_order(suite: Any) -> dict[str, int]:
    """Position of each expectation in the suite, so failures read in suite order."""
    return {
        _config_key(c.to_json_dict()): i for i, c in enumerate(suite.expectation_configurations)
    }


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _subject(etype: str, kwargs: dict) -> str:
    """What the expectation is about, in the words a reader of the failure uses."""
    if "column_A" in kwargs:
        a, b = kwargs["column_A"], kwargs["column_B"]
        if etype == _PAIR_GREATER:
            return f"{a} {'>=' if kwargs.get('or_equal') else '>'} {b}"
        return f"{a}, {b}"
    if "column" in kwargs:
        column = kwargs["column"]
        if etype == "expect_column_values_to_be_between":
            parts = []
            if kwargs.get("min_value") is not None:
                op = ">" if kwargs.get("strict_min") else ">="
                parts.append(f"{column} {op} {_num(kwargs['min_value'])}")
            if kwargs.get("max_value") is not None:
                op = "<" if kwargs.get("strict_max") else "<="
                parts.append(f"{column} {op} {_num(kwargs['max_value'])}")
            return " and ".join(parts) or column
        if etype == "expect_column_values_to_be_in_set":
            values = ", ".join(str(v) for v in kwargs.get("value_set") or [])
            return f"{column} in {{{values}}}"
        return column
    if "column_list" in kwargs and etype != "expect_table_columns_to_match_ordered_list":
        return ", ".join(kwargs["column_list"])
    return ""


def _bounds(kwargs: dict) -> str:
    """A row count's bounds as a reader says them: "10..20", "at least 10", "at most 20"."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and high is not None:
        return f"{low}..{high}"
    return f"at least {low}" if high is None else f"at most {high}"


def _observed(etype: str, kwargs: dict, outcome: dict) -> str:
    observed = outcome["observed_value"]
    if etype in ("expect_column_type_to_be", "expect_column_values_to_be_of_type"):
        return f"observed {observed}, expected {kwargs.get('type_')}"
    if etype == "expect_table_row_count_to_be_between":
        return f"observed {observed} rows, expected {_bounds(kwargs)}"
    mismatched = (outcome.get("details") or {}).get("mismatched")
    if mismatched:
        return ", ".join(
            f"position {m.get('Expected Column Position')}: expected {m.get('Expected')}, "
            f"found {m.get('Found') if m.get('Found') is not None else 'nothing'}"
            for m in mismatched
        )
    return f"observed {observed}"


def _exception_messages(info: object) -> list[str]:
    """GX nests exception info per metric when a metric raised; flatten to unique messages."""
    if not isinstance(info, dict):
        return []
    entries = [info] if "raised_exception" in info else list(info.values())
    messages: list[str] = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            text = str(entry.get("exception_message") or "").strip()
            first = text.splitlines()[0] if text else "exception"
            first = first.removeprefix("Error: ")
            if first not in messages:
                messages.append(first)
    return messages


# --- sample rows ---------------------------------------------------------------------------


def _sample_rows(table: pa.Table, failed: list[dict]) -> list[dict]:
    """Up to SAMPLE_ROWS offending rows, taken round-robin so each failure shows a row."""
    per_failure = [
        [i for i in (r.get("result") or {}).get("partial_unexpected_index_list") or []]
        for r in failed
    ]
    picked: list[int] = []
    for depth in range(SAMPLE_ROWS):
        for indices in per_failure:
            if depth < len(indices) and len(picked) < SAMPLE_ROWS:
                index = indices[depth]
                if isinstance(index, int) and 0 <= index < table.num_rows:
                    if index not in picked:
                        picked.append(index)
    if not picked:
        return []
    return table.take(pa.array(picked, type=pa.int64())).to_pylist()


def _format_row(row: dict) -> str:
    def value(v: object) -> str:
        return f"{v:.10g}" if isinstance(v, float) else str(v)

    return "{" + ", ".join(f"{k}={value(v)}" for k, v in row.items()) + "}"
