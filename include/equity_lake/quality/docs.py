"""Data Docs: GX's static HTML site built from stored gate results.

Gate results are kept as JSON (`GateResult.result`), one per partition and run. To publish
them, `build_site` loads them into the validation results store of a throwaway file-mode
GX context and lets GX's own site builder render the index and one page per validation,
writing straight into `out_dir`.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from equity_lake.quality.gate import quiet_gx_logging

logger = logging.getLogger(__name__)

_SITE = "equity_lake"
# What GX's site builder owns inside the site directory; cleared before a rebuild so the
# site shows exactly the results passed in, not pages left over from an earlier build.
_SITE_ENTRIES = ("index.html", "validations", "expectations", "static")


def build_site(results: Iterable[dict], out_dir: Path) -> Path:
    """Render validation results (GateResult.result dicts) as a Data Docs site in out_dir.

    Returns the path of the site's index.html. Results may come from many runs and days;
    each becomes one row of the index and one page under validations/.
    """
    quiet_gx_logging()
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    for entry in _SITE_ENTRIES:
        path = out_dir / entry
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    schema = ExpectationSuiteValidationResultSchema()
    with tempfile.TemporaryDirectory(prefix="equity-lake-docs-") as tmp:
        context = gx.get_context(mode="file", project_root_dir=tmp)
        context.add_data_docs_site(
            site_name=_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(out_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                # No GX tutorial buttons and newsletter footer on our published site.
                "show_how_to_buttons": False,
            },
        )
        latest: dict[str, tuple[str, dict]] = {}
        for raw in results:
            validation = schema.load(raw)
            key = _result_key(raw)
            context.validation_results_store.set(key, validation)
            run_time = key.run_id.run_time.isoformat()
            suite_name = raw["suite_name"]
            if suite_name not in latest or run_time >= latest[suite_name][0]:
                latest[suite_name] = (run_time, raw)
        for suite_name, (_, raw) in latest.items():
            _add_suite(context, suite_name, raw)
        context.build_data_docs(site_names=[_SITE])
    return out_dir / "index.html"


def _result_key(raw: dict) -> Any:
    """Store key (suite, run name, run time, batch) for a result, from the meta the gate wrote.

    Results from elsewhere may lack that meta; they still get a key, from GX's own fields.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    meta = raw.get("meta") or {}
    run = meta.get("run_id") or {}
    run_time = run.get("run_time") or meta.get("validation_time")
    if not run_time:
        run_time = dt.datetime.now(dt.UTC)
    run_id = RunIdentifier(run_name=run.get("run_name") or "unnamed", run_time=run_time)
    ours = meta.get("equity_lake") or {}
    label = ours.get("batch_label") or raw.get("batch_id") or "batch"
    return ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=raw["suite_name"]),
        run_id=run_id,
        batch_identifier=_key_part(str(label)),
    )


def _key_part(text: str) -> str:
    """GX's filesystem store forbids path separators in key parts; keep the label readable.

    "chunk 3/12" becomes "chunk 3∕12" (U+2215 DIVISION SLASH), which renders the same.
    """
    return text.replace("/", "\u2215").replace("\\", "\u29f5")


def _add_suite(context: Any, suite_name: str, raw: dict) -> None:
    """Give the site a page for the suite, rebuilt from the latest result that used it.

    The suite is rebuilt per run with that run's parameters, so the page says which run
    its values (trading date, row bounds) come from. A suite that cannot be rebuilt only
    costs its page; the validation pages are what matter.
    """
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    try:
        expectations = []
        for outcome in raw.get("results", []):
            config = outcome["expectation_config"]
            kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}
            expectations.append(
                ExpectationConfiguration(
                    type=config["type"], kwargs=kwargs, meta=config.get("meta") or {}
                ).to_domain_obj()
            )
        ours = (raw.get("meta") or {}).get("equity_lake") or {}
        source = ours.get("batch_label") or "the latest run"
        note = f"Expectations as run for {source}; run parameters vary by run."
        context.suites.add(
            gx.ExpectationSuite(
                name=suite_name,
                expectations=expectations,
                notes=note,
            )
        )
    except Exception:  # noqa: BLE001 - a missing suite page must not block the docs
        logger.warning("could not rebuild suite %s for Data Docs", suite_name, exc_info=True)
