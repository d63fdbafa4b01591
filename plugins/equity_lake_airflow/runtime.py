"""The task-runtime seam: every DAG builds its ingest operator here.

Which runtime runs the ``equity-lake`` CLI command of a mapped task is configuration
(``EQUITY_LAKE_RUNTIME``: ``local`` (default, in-process), ``docker``, ``kubernetes``,
``ecs``), never a DAG edit. Every runtime is handed the same thing per mapped instance: a chunk
``{"partition": "...", "label": "...", "argv": [...], "services": [...]}`` whose argv is the CLI
command line and whose services name the source settings the task may receive. The container
runtimes keep the CLI's contract (``containers.py``): the JSON result line is the task's XCom,
exit code 2 (bad input) and 3 (failed gate) fail at once, anything else is retried.

Every setting is in :data:`SETTINGS` (the README's runtime table is made from it) and is read
when the DAG file is parsed, so changing one needs no DAG edit, only a re-parse.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

RUNTIMES = ("local", "docker", "kubernetes", "ecs")
#: rendered before the task runs, so a failed chunk keeps its "1/13: AAA..ATUO (463)" label
LABEL_TEMPLATE = "{{ task.op_kwargs['chunk']['label'] }}"
#: the same label for the container operators, which keep the chunk as an attribute
CONTAINER_LABEL_TEMPLATE = "{{ task.chunk['label'] }}"


class RuntimeConfigError(ValueError):
    """A runtime setting is unknown or unusable; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    variable: str
    default: str
    runtimes: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("EQUITY_LAKE_RUNTIME", "local", "all", "local, docker, kubernetes or ecs"),
    Setting(
        "EQUITY_LAKE_IMAGE",
        "equity-lake-ingest:latest",
        "docker, kubernetes",
        "the task image (`make image` builds it; ecs takes it from the task definition)",
    ),
    Setting("EQUITY_LAKE_DOCKER_URL", "unix://var/run/docker.sock", "docker", "Docker engine"),
    Setting(
        "EQUITY_LAKE_DOCKER_NETWORK",
        "bridge",
        "docker",
        "network mode; `host` reaches servers on the worker's 127.0.0.1",
    ),
    Setting(
        "EQUITY_LAKE_DOCKER_MOUNTS",
        "",
        "docker",
        "extra mounts, `src:dst[:ro]` separated by commas (a file:// lake is mounted itself)",
    ),
    Setting(
        "EQUITY_LAKE_DOCKER_USER",
        "",
        "docker",
        "uid:gid to run as; empty: the owner of a file:// lake folder, else the image's 10001",
    ),
    Setting("EQUITY_LAKE_K8S_NAMESPACE", "default", "kubernetes", "namespace of the pods"),
    Setting("EQUITY_LAKE_K8S_SERVICE_ACCOUNT", "", "kubernetes", "service account of the pods"),
    Setting(
        "EQUITY_LAKE_K8S_CONN_ID",
        "kubernetes_default",
        "kubernetes",
        "Airflow connection to the cluster (in-cluster when it is not defined)",
    ),
    Setting("EQUITY_LAKE_K8S_CPU", "1", "kubernetes", "CPU request and limit of a pod"),
    Setting("EQUITY_LAKE_K8S_MEMORY", "2Gi", "kubernetes", "memory request and limit of a pod"),
    Setting(
        "EQUITY_LAKE_K8S_NODE_SELECTOR", "", "kubernetes", "`key=value` pairs, comma separated"
    ),
    Setting(
        "EQUITY_LAKE_K8S_SECRET_PREFIX",
        "equity-lake-",
        "kubernetes",
        "Secret `<prefix><service>` holds a service's secret variables (`lake`, `alpaca`, "
        "`wrds`, `sec`); a pod references only those of its chunk's services; `-`: none "
        "(credentials from the service account, e.g. IRSA or workload identity)",
    ),
    Setting("EQUITY_LAKE_ECS_CLUSTER", "equity-lake", "ecs", "ECS cluster"),
    Setting(
        "EQUITY_LAKE_ECS_TASK_DEFINITION",
        "equity-lake-ingest",
        "ecs",
        "task definition family; a chunk with services uses `<family>-<service>[-...]`, whose "
        "container `secrets` reference only those services' secrets",
    ),
    Setting("EQUITY_LAKE_ECS_CONTAINER", "ingest", "ecs", "container name in the definition"),
    Setting("EQUITY_LAKE_ECS_LAUNCH_TYPE", "FARGATE", "ecs", "FARGATE or EC2"),
    Setting("EQUITY_LAKE_ECS_SUBNETS", "", "ecs", "subnet ids, comma separated"),
    Setting("EQUITY_LAKE_ECS_SECURITY_GROUPS", "", "ecs", "security group ids, comma separated"),
    Setting("EQUITY_LAKE_ECS_LOG_GROUP", "/ecs/equity-lake", "ecs", "CloudWatch log group"),
    Setting(
        "EQUITY_LAKE_ECS_LOG_PREFIX", "ingest", "ecs", "awslogs stream prefix of the definition"
    ),
    Setting("EQUITY_LAKE_ECS_AWS_CONN_ID", "aws_default", "ecs", "Airflow AWS connection"),
    Setting("EQUITY_LAKE_ECS_REGION", "", "ecs", "AWS region (empty: the connection's)"),
)
_DEFAULTS = {s.variable: s.default for s in SETTINGS}


def setting(variable: str) -> str:
    """A runtime setting's value: the environment's, else its default."""
    return os.environ.get(variable, "").strip() or _DEFAULTS[variable]


def listed(variable: str) -> list[str]:
    """A comma-separated setting as a list (empty items dropped)."""
    return [item.strip() for item in setting(variable).split(",") if item.strip()]


def pairs(variable: str) -> dict[str, str]:
    """A comma-separated ``key=value`` setting as a dict; anything else is refused."""
    out = {}
    for item in listed(variable):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RuntimeConfigError(f"{variable}: {item!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def runtime_name() -> str:
    name = setting("EQUITY_LAKE_RUNTIME").lower()
    if name not in RUNTIMES:
        raise RuntimeConfigError(
            f"EQUITY_LAKE_RUNTIME={name!r} is not one of {', '.join(RUNTIMES)}"
        )
    return name


def ingest_task(task_id: str, *, pool: str = "default_pool", **task_kwargs: Any):
    """A task to ``.expand(chunk=...)`` over chunks, running on the configured runtime."""
    name = runtime_name()
    if name == "local":
        return _local(task_id, pool, task_kwargs)
    module = importlib.import_module(f"equity_lake_airflow.{name}_runtime")
    return _Outputs(
        module.ingest_operator(
            task_id=task_id, pool=pool, map_index_template=CONTAINER_LABEL_TEMPLATE, **task_kwargs
        )
    )


class _Outputs:
    """An operator's partial whose ``expand`` gives the mapped results (an XComArg), as a
    ``@task``'s does, so a DAG wires every runtime the same way."""

    def __init__(self, partial: Any) -> None:
        self.partial = partial

    def expand(self, **mapped: Any) -> Any:
        return self.partial.expand(**mapped).output


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
