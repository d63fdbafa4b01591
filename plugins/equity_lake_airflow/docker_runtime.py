"""``EQUITY_LAKE_RUNTIME=docker``: each chunk runs in the task image on a Docker engine.

The chunk's CLI command is the container's command; its settings are the container's
environment and its secrets go through the operator's private environment (never rendered,
never logged). The container runs as a non-root user: the image's uid 10001, or, for a
``file://`` lake, the owner of the lake folder (mounted at the same path), so it can write
there; a lake folder owned by root is refused, since that would need a root container.
Containers are removed after the run, whatever its outcome.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

from equity_lake_airflow import containers
from equity_lake_airflow.runtime import RuntimeConfigError, listed, setting


class LakeDockerOperator(DockerOperator):
    """One chunk of a dataset run, in a container; returns the CLI's JSON result."""

    def __init__(self, *, chunk: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(command=list(chunk["argv"]), **kwargs)
        self.chunk = chunk

    def prepare(self) -> None:
        """Settings, secrets, user and mounts for this chunk (at run time: connections)."""
        settings, secrets = containers.chunk_environment(self.chunk)
        self.environment = {**self.environment, **settings}
        self._private_environment = {**self._private_environment, **secrets}
        lake = lake_folder(settings.get("LAKE_URI", ""))
        if lake is not None:
            self.mounts = [*self.mounts, Mount(target=lake, source=lake, type="bind")]
        if self.user is None:
            self.user = folder_user(lake) if lake is not None else None

    def execute(self, context: Any) -> Any:
        self.prepare()
        try:
            lines = super().execute(context)
        except DockerContainerFailedException as exc:
            code = self._exit_code()
            containers.raise_if_final(
                code, f"container {self.task_id}", containers.last_error(exc.logs or [])
            )
            raise
        finally:
            self._remove_container()
        return containers.result_of(lines)

    def _exit_code(self) -> int | None:
        try:
            return self.cli.inspect_container(self.container["Id"])["State"]["ExitCode"]
        except Exception:  # noqa: BLE001 - no container, no code: the failure stands as is
            return None

    def _remove_container(self) -> None:
        container = getattr(self, "container", None)
        if container:
            self.cli.remove_container(container["Id"], force=True)


def lake_folder(uri: str) -> str | None:
    """The folder of a ``file://`` lake (created if need be), None for S3."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    os.makedirs(parsed.path, exist_ok=True)
    return parsed.path


def folder_user(folder: str) -> str:
    """``uid:gid`` of the folder's owner, so the container can write the lake there."""
    stat = os.stat(folder)
    if stat.st_uid == 0:
        raise RuntimeConfigError(
            f"the lake folder {folder} is owned by root and task containers never run as "
            "root: chown it to a non-root user, set EQUITY_LAKE_DOCKER_USER, or use an S3 lake"
        )
    return f"{stat.st_uid}:{stat.st_gid}"


def mounts() -> list[Mount]:
    """EQUITY_LAKE_DOCKER_MOUNTS as Docker mounts."""
    out = []
    for spec in listed("EQUITY_LAKE_DOCKER_MOUNTS"):
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise RuntimeConfigError(f"EQUITY_LAKE_DOCKER_MOUNTS: {spec!r} is not src:dst[:ro]")
        out.append(
            Mount(target=parts[1], source=parts[0], type="bind", read_only=parts[2:] == ["ro"])
        )
    return out


def operator_kwargs() -> dict[str, Any]:
    """The operator's settings, from the runtime table (read when the DAG file is parsed)."""
    return {
        "image": setting("EQUITY_LAKE_IMAGE"),
        "docker_url": setting("EQUITY_LAKE_DOCKER_URL"),
        "network_mode": setting("EQUITY_LAKE_DOCKER_NETWORK"),
        "mounts": mounts(),
        "user": setting("EQUITY_LAKE_DOCKER_USER") or None,
        "mount_tmp_dir": False,
        "auto_remove": "never",  # removed by the operator itself, after reading the exit code
        "do_xcom_push": True,
        "xcom_all": True,
    }


def ingest_operator(**task_kwargs: Any) -> Any:
    """The mapped operator's partial; the DAG expands it over chunks."""
    return LakeDockerOperator.partial(**operator_kwargs(), **task_kwargs)
