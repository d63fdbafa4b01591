"""``EQUITY_LAKE_RUNTIME=ecs``: each chunk runs as an ECS task (EcsRunTaskOperator).

The task definition holds the image, the awslogs log configuration and the container's
``secrets`` (references to Secrets Manager or SSM): a chunk without services runs
``<family>``, one with services ``<family>-<service>[-...]``, so a task only ever receives the
secrets its dataset needs. The chunk's command and its non-secret settings are container
overrides; the result is the last line of the task's CloudWatch log stream; exit codes 2 and 3
fail the task without retry.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator

from equity_lake_airflow import containers
from equity_lake_airflow.runtime import listed, setting


class LakeEcsOperator(EcsRunTaskOperator):
    """One chunk of a dataset run, as an ECS task; returns the CLI's JSON result."""

    def __init__(self, *, chunk: dict[str, Any], **kwargs: Any) -> None:
        services = sorted(chunk.get("services", ()))
        family = "-".join([setting("EQUITY_LAKE_ECS_TASK_DEFINITION"), *services])
        super().__init__(task_definition=family, overrides={}, **kwargs)
        self.chunk = chunk

    def prepare(self) -> None:
        """Container overrides for this chunk (at run time: connections); secrets left out."""
        settings, _secrets = containers.chunk_environment(self.chunk)  # the definition's
        self.overrides = {
            "containerOverrides": [
                {
                    "name": self.container_name,
                    "command": list(self.chunk["argv"]),
                    "environment": [{"name": k, "value": v} for k, v in sorted(settings.items())],
                }
            ]
        }

    def execute(self, context: Any) -> Any:
        self.prepare()
        started = super().execute(context)
        return containers.result_of(started) if self.wait_for_completion else started

    def _check_success_task(self) -> None:
        if self.client and self.arn:
            described = self.client.describe_tasks(cluster=self.cluster, tasks=[self.arn])
            for task in described.get("tasks", []):
                for container in task.get("containers", []):
                    if container.get("lastStatus") == "STOPPED":
                        detail = container.get("reason", "") or task.get("stoppedReason", "")
                        containers.raise_if_final(
                            container.get("exitCode"), f"ECS task {self.arn}", detail
                        )
        super()._check_success_task()


def ingest_operator(**task_kwargs: Any) -> Any:
    """The mapped operator's partial; the DAG expands it over chunks."""
    container = setting("EQUITY_LAKE_ECS_CONTAINER")
    network = {
        "awsvpcConfiguration": {
            "subnets": listed("EQUITY_LAKE_ECS_SUBNETS"),
            "securityGroups": listed("EQUITY_LAKE_ECS_SECURITY_GROUPS"),
            "assignPublicIp": "DISABLED",
        }
    }
    return LakeEcsOperator.partial(
        cluster=setting("EQUITY_LAKE_ECS_CLUSTER"),
        launch_type=setting("EQUITY_LAKE_ECS_LAUNCH_TYPE"),
        network_configuration=network if listed("EQUITY_LAKE_ECS_SUBNETS") else None,
        container_name=container,
        awslogs_group=setting("EQUITY_LAKE_ECS_LOG_GROUP"),
        awslogs_stream_prefix=f"{setting('EQUITY_LAKE_ECS_LOG_PREFIX')}/{container}",
        aws_conn_id=setting("EQUITY_LAKE_ECS_AWS_CONN_ID"),
        region_name=setting("EQUITY_LAKE_ECS_REGION") or None,
        do_xcom_push=True,
        wait_for_completion=True,
        reattach=True,
        **task_kwargs,
    )
