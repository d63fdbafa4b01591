"""The container contract shared by the docker, kubernetes and ecs runtimes.

A chunk runs as ``equity-lake <argv>`` in the task image. What crosses the boundary:
- in: the chunk's settings (the lake's and its services' only), secrets kept apart so each
  runtime can pass them its own safe way (masked, or by reference to the cluster's secrets);
- out: the exit code (2 bad input and 3 failed gate fail the task at once, anything else is
  retried) and the JSON result, the last line the CLI prints, which becomes the task's XCom.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

#: the CLI's exit codes that no retry can fix (equity_lake.cli.EXIT_USAGE / EXIT_GATE; not
#: imported from there, so that parsing a DAG never imports the library's CLI)
FINAL_EXIT_CODES = {2: "bad input", 3: "failed quality gate"}
#: where the XCom sidecar of a Kubernetes pod reads the task's result
K8S_RESULT_PATH = "/airflow/xcom/return.json"


def chunk_environment(chunk: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(settings, secrets) for a chunk, at run time: the lake's and its services' only."""
    from equity_lake_airflow.lake_env import split_secrets, task_environment

    return split_secrets(task_environment(chunk.get("services", ())))


def result_of(lines: Iterable[str] | str | None) -> Any:
    """The CLI's JSON result: the last line that parses as JSON (stderr may interleave)."""
    if lines is None:
        raise ValueError("the container printed no result line")
    if isinstance(lines, str):
        lines = lines.splitlines()
    for line in reversed(list(lines)):
        text = line.strip()
        if text.startswith(("{", "[")):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                continue
    raise ValueError("the container printed no JSON result line")


def raise_if_final(exit_code: int | None, where: str, detail: str = "") -> None:
    """Fail the task without retry when the CLI said retrying cannot help."""
    if exit_code not in FINAL_EXIT_CODES:
        return
    from airflow.sdk.exceptions import AirflowFailException

    tail = f": {detail}" if detail else ""
    raise AirflowFailException(f"{where} exited {exit_code} ({FINAL_EXIT_CODES[exit_code]}){tail}")


def last_error(lines: Iterable[str]) -> str:
    """The CLI's one-line error (``equity-lake: error...``) among a container's log lines."""
    for line in reversed(list(lines)):
        if line.strip().startswith("equity-lake: error"):
            return line.strip()
    return ""
