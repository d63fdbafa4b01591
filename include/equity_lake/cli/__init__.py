"""``equity-lake``: the one command a task runs, in-process, in a container, or by hand.

The contract every runtime keeps (README, "The CLI"):

- exit 0: success; the last line on stdout is the result as one JSON object, the same object
  ``run`` returns in-process (a task's XCom);
- exit 2: usage or bad input, one line on stderr saying what was wrong (never worth a retry);
- exit 3: a partition failed its quality gate and was quarantined (stderr names the failed
  expectations), or a stored object is corrupt (named, copied aside): never worth a retry;
- exit 1: anything transient or unexpected (a source down, an S3 error, a crash): retry.

One module per dataset registers its subcommands (``register(groups)``); dates, run ids, chunk
specs, symbols and CIKs are parsed in ``cli/args.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import equity_lake.cli.consolidate as consolidate
import equity_lake.cli.corporate_actions as corporate_actions
import equity_lake.cli.daily_ticks as daily_ticks
import equity_lake.cli.derived as derived
import equity_lake.cli.fundamentals as fundamentals
import equity_lake.cli.health as health
import equity_lake.cli.master as master
import equity_lake.cli.minute_ticks as minute_ticks
import equity_lake.cli.quality as quality
import equity_lake.cli.repair as repair
from equity_lake.cli.args import UsageError, ValidationFailed

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_GATE = 3

#: each registers its commands; order is the order of ``--help``
COMMAND_MODULES = (
    master,
    daily_ticks,
    minute_ticks,
    corporate_actions,
    fundamentals,
    derived,
    consolidate,
    quality,
    health,
    repair,
)
GROUPS = {
    "master": "security master and trading calendar",
    "plan": "print a run's partitions as JSON",
    "ingest": "fetch, validate and publish a partition",
    "show": "print stored data",
    "derive": "compute derived datasets from the lake",
}


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (exit 2) like every other bad input."""

    def error(self, message: str) -> NoReturn:
        print(f"equity-lake: error: {self.prog}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="equity-lake", description=__doc__.splitlines()[0])
    top = p.add_subparsers(dest="group", required=True)
    groups: dict[str, Any] = {"_top": top}
    for name, help_text in GROUPS.items():
        group = top.add_parser(name, help=help_text)
        groups[name] = group.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(groups)
    return p


def run(argv: Sequence[str]) -> Any:
    """Run a command and return its result; raises on failure (for in-process callers)."""
    args = parser().parse_args(list(argv))
    return args.handler(args)


def exit_code(exc: BaseException) -> int:
    """The exit code of a failure: 3 for a quality gate, 2 for bad input, else 1."""
    from equity_lake.engine.wap import QualityGateFailed
    from equity_lake.lake.store import CorruptObject

    if isinstance(exc, QualityGateFailed | ValidationFailed | CorruptObject):
        return EXIT_GATE
    if isinstance(exc, UsageError | FileNotFoundError):
        return EXIT_USAGE
    if isinstance(exc, ValueError) and not _transient_value_error(exc):
        return EXIT_USAGE
    return EXIT_FAILED


def _transient_value_error(exc: ValueError) -> bool:
    """ValueErrors that are not bad input: undecodable bytes read from a source or the lake."""
    import pyarrow as pa

    return isinstance(exc, json.JSONDecodeError | UnicodeDecodeError | pa.ArrowException)


def main(argv: Sequence[str] | None = None) -> int:
    _log_progress()
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error it already printed
        return EXIT_OK if not exc.code else EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        if os.environ.get("EQUITY_LAKE_DEBUG"):
            raise
        code = exit_code(exc)
        label = "error" if isinstance(exc, UsageError) else f"error: {type(exc).__name__}"
        print(f"equity-lake: {label}: {_one_line(exc)}", file=sys.stderr)
        return code
    encoded = json.dumps(result, sort_keys=True, default=str)
    print(result if isinstance(result, str) else encoded)
    _write_result(encoded)
    return EXIT_OK


def _log_progress() -> None:
    """The library's progress lines (``engine/runner.py``) on stderr, when nothing hosting the
    command (Airflow, pytest) has set up logging: a container's log then shows a long task
    moving. Only ``equity_lake``'s own loggers, at INFO."""
    ours = logging.getLogger("equity_lake")
    if logging.getLogger().handlers or ours.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)


#: where a container runtime collects the result from (Kubernetes: the XCom sidecar's file)
RESULT_PATH_VARIABLE = "EQUITY_LAKE_RESULT_PATH"


def _write_result(encoded: str) -> None:
    """Also write the JSON result to ``$EQUITY_LAKE_RESULT_PATH`` when a runtime asks for it."""
    path = os.environ.get(RESULT_PATH_VARIABLE)
    if not path:
        return
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(encoded)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


__all__ = ["EXIT_FAILED", "EXIT_GATE", "EXIT_OK", "EXIT_USAGE", "exit_code", "main", "run"]


if __name__ == "__main__":
    sys.exit(main())
