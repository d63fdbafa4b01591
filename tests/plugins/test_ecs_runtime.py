"""The ecs runtime against moto's ECS and CloudWatch Logs server on 127.0.0.1, as far as moto
runs tasks: the task a chunk starts (definition, command, environment) as ECS records it, the
result read back from the task's log stream, and the exit-code mapping on the stopped task."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.stub import Stubber
from moto.ec2.utils import generate_instance_identity_document

from tests.dags.helpers import environment, load_dag

CHUNK = {
    "partition": "chunk-0002-of-0002",
    "label": "2/2: KO..TWTR (6)",
    "argv": ["daily-ticks", "ingest", "--date", "2021-10-14", "--source", "alpaca"],
    "services": ["alpaca"],
}
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:equity-lake/alpaca"


@pytest.fixture
def aws(s3_server):
    """ECS and Logs on the local moto server, reached through the ``aws_default`` connection."""
    conn = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": s3_server.endpoint, "region_name": "us-east-1"},
    }
    settings = {
        "EQUITY_LAKE_RUNTIME": "ecs",
        "EQUITY_LAKE_IMAGE": "123456789012.dkr.ecr.us-east-1.amazonaws.com/equity-lake:1.4.0",
        "EQUITY_LAKE_ECS_CLUSTER": "lake-cluster",
        "EQUITY_LAKE_ECS_LAUNCH_TYPE": "EC2",  # moto places tasks on container instances only
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn),
        "LAKE_URI": "s3://research-lake",
        "AWS_SECRET_ACCESS_KEY": "lake-secret-ecs",
        "ALPACA_API_SECRET_KEY": "alpaca-secret-ecs",
        "ALPACA_FEED": "sip",
    }
    kwargs = {
        "endpoint_url": s3_server.endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    ecs, logs = boto3.client("ecs", **kwargs), boto3.client("logs", **kwargs)
    ecs.create_cluster(clusterName="lake-cluster")
    instance = boto3.resource("ec2", **kwargs).create_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1
    )[0]
    ecs.register_container_instance(
        cluster="lake-cluster",
        instanceIdentityDocument=json.dumps(generate_instance_identity_document(instance)),
    )
    ecs.register_task_definition(
        family="equity-lake-ingest-alpaca",
        containerDefinitions=[
            {
                "name": "ingest",
                "image": settings["EQUITY_LAKE_IMAGE"],
                "cpu": 1024,
                "memory": 2048,
                "secrets": [{"name": "ALPACA_API_SECRET_KEY", "valueFrom": SECRET_ARN}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/equity-lake",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "ingest",
                    },
                },
            }
        ],
    )
    with environment(**settings):
        yield ecs, logs


def operator(**overrides):
    mapped = load_dag("daily_ticks").get_task("ingest_chunk")
    kwargs = {**mapped.partial_kwargs, "task_id": mapped.task_id, **overrides}
    return mapped.operator_class(**kwargs, chunk=CHUNK)


def test_a_chunk_starts_its_services_task_definition_with_its_command(aws):
    from equity_lake_airflow.ecs_runtime import LakeEcsOperator

    ecs, _ = aws
    op = operator(wait_for_completion=False, reattach=False)
    assert isinstance(op, LakeEcsOperator)
    op.execute({"ti": _XComSink()})
    task = ecs.describe_tasks(cluster="lake-cluster", tasks=[op.arn])["tasks"][0]
    assert task["taskDefinitionArn"].split("/")[-1].startswith("equity-lake-ingest-alpaca:")
    assert task["launchType"] == "EC2"
    (override,) = task["overrides"]["containerOverrides"]
    assert override["name"] == "ingest" and override["command"] == CHUNK["argv"]
    env = {e["name"]: e["value"] for e in override["environment"]}
    assert env["LAKE_URI"] == "s3://research-lake" and env["ALPACA_FEED"] == "sip"
    assert "ALPACA_API_SECRET_KEY" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert "secret-ecs" not in json.dumps(task, default=str)  # from the definition, by reference


def test_fargate_tasks_run_in_the_configured_subnets(aws):
    with environment(
        EQUITY_LAKE_ECS_LAUNCH_TYPE=None,
        EQUITY_LAKE_ECS_SUBNETS="subnet-1, subnet-2",
        EQUITY_LAKE_ECS_SECURITY_GROUPS="sg-1",
    ):
        op = operator()
    assert op.launch_type == "FARGATE"
    assert op.network_configuration["awsvpcConfiguration"] == {
        "subnets": ["subnet-1", "subnet-2"],
        "securityGroups": ["sg-1"],
        "assignPublicIp": "DISABLED",
    }


def test_the_result_is_the_last_json_line_of_the_tasks_log_stream(aws):
    from equity_lake_airflow import containers

    _, logs = aws
    op = operator()
    group, stream = "/ecs/equity-lake", "ingest/ingest/0123456789abcdef"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    result = {"partition": CHUNK["partition"], "rows": 6, "success": True}
    lines = ["daily-ticks: fetched 6 bars", json.dumps(result)]
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)],
    )
    op.arn = "arn:aws:ecs:us-east-1:123456789012:task/lake-cluster/0123456789abcdef"
    fetcher = op._get_task_log_fetcher()
    assert fetcher.log_group == group and fetcher.log_stream_name == stream
    assert containers.result_of(fetcher.get_last_log_message()) == result


@pytest.mark.parametrize("code, final", [(3, True), (2, True), (1, False)])
def test_exit_codes_2_and_3_fail_without_retry(aws, code, final):
    from airflow.exceptions import AirflowException
    from airflow.sdk.exceptions import AirflowFailException

    op = operator()
    op.arn = "arn:aws:ecs:us-east-1:123456789012:task/lake-cluster/feedface"
    stopped = {
        "tasks": [
            {
                "taskArn": op.arn,
                "lastStatus": "STOPPED",
                "containers": [{"name": "ingest", "lastStatus": "STOPPED", "exitCode": code}],
            }
        ],
        "failures": [],
    }
    with Stubber(op.client) as stub:
        for _ in range(2):
            stub.add_response("describe_tasks", stopped)
        with pytest.raises(AirflowException) as raised:
            op._check_success_task()
    assert isinstance(raised.value, AirflowFailException) is final


class _XComSink:
    """The task instance's xcom_push, which the operator calls with the task's ARN."""

    def xcom_push(self, key, value):
        self.pushed = (key, value)
