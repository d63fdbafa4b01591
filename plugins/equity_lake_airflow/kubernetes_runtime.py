"""``EQUITY_LAKE_RUNTIME=kubernetes``: each chunk runs as a pod (KubernetesPodOperator).

The image's entrypoint is the CLI and the chunk's command is the pod's args. Settings are plain
env vars; secrets never appear in the pod spec: the pod takes ``envFrom`` the Kubernetes
Secrets of the lake and of its chunk's services only (``<prefix>lake``, ``<prefix>alpaca``,
...; the prefix ``-`` turns that off, e.g. for IRSA or workload identity). The CLI writes its
result where the XCom sidecar reads it; exit codes 2 and 3 fail the task without retry.
"""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowException
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

from equity_lake_airflow import containers
from equity_lake_airflow.runtime import pairs, setting

#: the image's non-root user (docker/ingest/Dockerfile)
TASK_UID = 10001
NON_ROOT = k8s.V1SecurityContext(
    run_as_non_root=True,
    run_as_user=TASK_UID,
    allow_privilege_escalation=False,
    capabilities=k8s.V1Capabilities(drop=["ALL"]),
)


class LakePodOperator(KubernetesPodOperator):
    """One chunk of a dataset run, in a pod; returns the CLI's JSON result."""

    def __init__(self, *, chunk: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(arguments=list(chunk["argv"]), **kwargs)
        self.chunk = chunk

    def prepare(self) -> None:
        """Env vars and secret references for this chunk (at run time: connections)."""
        settings, _secrets = containers.chunk_environment(self.chunk)  # by reference only
        settings["EQUITY_LAKE_RESULT_PATH"] = containers.K8S_RESULT_PATH
        self.env_vars = settings
        self.env_from = secret_sources(self.chunk.get("services", ()))

    def execute(self, context: Any) -> Any:
        self.prepare()
        return super().execute(context)

    def cleanup(self, pod: Any, remote_pod: Any, *args: Any, **kwargs: Any) -> None:
        try:
            super().cleanup(pod, remote_pod, *args, **kwargs)
        except AirflowException as exc:
            code = exit_code(remote_pod, self.base_container_name)
            containers.raise_if_final(code, f"pod {pod and pod.metadata.name}", str(exc))
            raise


def secret_sources(services: Any) -> list[k8s.V1EnvFromSource]:
    """``envFrom`` references to the Secrets of the lake and of ``services``."""
    prefix = setting("EQUITY_LAKE_K8S_SECRET_PREFIX")
    if prefix == "-":  # the documented way to turn secret references off
        return []
    return [
        k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=f"{prefix}{service}"))
        for service in ("lake", *services)
    ]


def exit_code(remote_pod: Any, container: str) -> int | None:
    """The base container's exit code, if it terminated."""
    statuses = remote_pod.status.container_statuses if remote_pod and remote_pod.status else None
    for status in statuses or []:
        if status.name == container and status.state and status.state.terminated:
            return status.state.terminated.exit_code
    return None


def resources() -> k8s.V1ResourceRequirements:
    amounts = {"cpu": setting("EQUITY_LAKE_K8S_CPU"), "memory": setting("EQUITY_LAKE_K8S_MEMORY")}
    return k8s.V1ResourceRequirements(requests=amounts, limits=amounts)


def ingest_operator(**task_kwargs: Any) -> Any:
    """The mapped operator's partial; the DAG expands it over chunks."""
    return LakePodOperator.partial(
        image=setting("EQUITY_LAKE_IMAGE"),
        namespace=setting("EQUITY_LAKE_K8S_NAMESPACE"),
        service_account_name=setting("EQUITY_LAKE_K8S_SERVICE_ACCOUNT") or None,
        kubernetes_conn_id=setting("EQUITY_LAKE_K8S_CONN_ID"),
        node_selector=pairs("EQUITY_LAKE_K8S_NODE_SELECTOR") or None,
        container_resources=resources(),
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True, run_as_user=TASK_UID, fs_group=TASK_UID
        ),
        container_security_context=NON_ROOT,
        xcom_sidecar_container_security_context=NON_ROOT,
        labels={"app.kubernetes.io/name": "equity-lake-ingest"},
        do_xcom_push=True,
        get_logs=True,
        on_finish_action="delete_pod",
        **task_kwargs,
    )
