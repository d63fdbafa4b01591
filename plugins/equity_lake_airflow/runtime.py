"""The task-runtime seam: every DAG builds its ingest operator here.

Which runtime runs the ``equity-lake`` CLI command of a mapped task is configuration
(``EQUITY_LAKE_RUNTIME``: ``local`` (default, in-process), ``docker``, ``kubernetes``,
``ecs``), never a DAG edit. Every runtime is handed the same thing per mapped instance: a chunk
``{"partition": "...", "label": "...", "argv": [...], "services": [...]}`` whose argv is the CLI
command line and whose services name the source settings the task may receive.
"""

from __future__ import annotations

import os
from typing import Any

RUNTIMES = ("local", "docker", "kubernetes", "ecs")
IMPLEMENTED = ("local",)
#: rendered before the task runs, so a failed chunk keeps its "1/13: AAA..ATUO (463)" label
LABEL_TEMPLATE = "{{ task.op_kwargs['chunk']['label'] }}"


class RuntimeConfigError(ValueError):
    """EQUITY_LAKE_RUNTIME names an unknown or not yet available runtime."""


def runtime_name() -> str:
    name = os.environ.get("EQUITY_LAKE_RUNTIME", "local").strip().lower() or "local"
    if name not in RUNTIMES:
        raise RuntimeConfigError(
            f"EQUITY_LAKE_RUNTIME={name!r} is not one of {', '.join(RUNTIMES)}"
        )
    if name not in IMPLEMENTED:
        raise RuntimeConfigError(
            f"EQUITY_LAKE_RUNTIME={name!r} is not implemented yet; available: "
            f"{', '.join(IMPLEMENTED)}"
        )
    return name


def ingest_task(task_id: str, *, pool: str = "default_pool", **task_kwargs: Any):
    """A task to ``.expand(chunk=...)`` over chunks, running on the configured runtime."""
    name = runtime_name()
    if name == "local":
        return _local(task_id, pool, task_kwargs)
    raise AssertionError(name)  # pragma: no cover - runtime_name() refused it


def run_cli(argv: list[str], services: list[str] | tuple[str, ...] = ()) -> Any:
    """Run the CLI in-process with the lake's settings and those of ``services`` only.

    The CLI's exit-code contract decides retries: bad input (2) and a failed quality gate (3)
    fail at once; anything else (1) is raised as is, so Airflow retries it with backoff.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from equity_lake import cli
    from equity_lake_airflow.lake_env import applied, task_environment

    with applied(task_environment(services)):
        try:
            return cli.run(argv)
        except SystemExit as exc:  # argparse refused the command line
            raise AirflowFailException(f"bad command line {argv}: exit {exc.code}") from exc
        except Exception as exc:
            if cli.exit_code(exc) in (cli.EXIT_USAGE, cli.EXIT_GATE):
                raise AirflowFailException(str(exc)) from exc
            raise


def _local(task_id: str, pool: str, task_kwargs: dict[str, Any]):
    from airflow.sdk import task

    @task(task_id=task_id, pool=pool, map_index_template=LABEL_TEMPLATE, **task_kwargs)
    def run_chunk(chunk: dict[str, Any]) -> Any:
        return run_cli(chunk["argv"], chunk.get("services", ()))

    return run_chunk
