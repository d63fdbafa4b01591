"""The kubernetes runtime without a cluster: the pod a chunk would run, field by field, from
the DAG as parsed with ``EQUITY_LAKE_RUNTIME=kubernetes``, and the exit-code mapping on the
terminated pod the API would report."""

from __future__ import annotations

import pytest
from kubernetes.client import models as k8s

from tests.dags.helpers import environment, load_dag

SETTINGS = {
    "EQUITY_LAKE_RUNTIME": "kubernetes",
    "EQUITY_LAKE_IMAGE": "registry.example/equity-lake-ingest:1.4.0",
    "EQUITY_LAKE_K8S_NAMESPACE": "lake",
    "EQUITY_LAKE_K8S_SERVICE_ACCOUNT": "ingest",
    "EQUITY_LAKE_K8S_CPU": "500m",
    "EQUITY_LAKE_K8S_MEMORY": "3Gi",
    "EQUITY_LAKE_K8S_NODE_SELECTOR": "workload=batch, zone=a",
    "LAKE_URI": "s3://research-lake",
    "LAKE_S3_ENDPOINT": "https://s3.example",
    "AWS_ACCESS_KEY_ID": "AKIDLAKE",
    "AWS_SECRET_ACCESS_KEY": "lake-secret-k8s",
    "ALPACA_API_KEY_ID": "AKALPACA",
    "ALPACA_API_SECRET_KEY": "alpaca-secret-k8s",
    "ALPACA_FEED": "sip",
}
CHUNK = {
    "partition": "chunk-0001-of-0002",
    "label": "1/2: AAPL..JPM (6)",
    "argv": ["daily-ticks", "ingest", "--date", "2021-10-14", "--source", "alpaca"],
    "services": ["alpaca"],
}


@pytest.fixture(scope="module")
def operator():
    with environment(**SETTINGS):
        mapped = load_dag("daily_ticks").get_task("ingest_chunk")
        op = mapped.operator_class(
            **{**mapped.partial_kwargs, "task_id": mapped.task_id}, chunk=CHUNK
        )
        op.prepare()
        yield op


def test_the_pod_is_the_chunks_cli_command_in_the_task_image(operator):
    from equity_lake_airflow.kubernetes_runtime import LakePodOperator

    assert isinstance(operator, LakePodOperator)
    pod = operator.build_pod_request_obj(dry_run=True)
    assert pod.metadata.namespace == "lake"
    spec = pod.spec
    assert spec.service_account_name == "ingest"
    assert spec.node_selector == {"workload": "batch", "zone": "a"}
    assert spec.security_context.run_as_non_root is True
    assert spec.security_context.run_as_user == 10001
    base, sidecar = spec.containers
    assert base.image == "registry.example/equity-lake-ingest:1.4.0"
    assert not base.command  # the image's entrypoint is the CLI
    assert base.args == CHUNK["argv"]
    assert base.resources.requests == base.resources.limits == {"cpu": "500m", "memory": "3Gi"}
    for container in (base, sidecar):
        assert container.security_context.run_as_non_root is True
        assert container.security_context.allow_privilege_escalation is False


def test_settings_are_env_and_secrets_only_references(operator):
    pod = operator.build_pod_request_obj(dry_run=True)
    base = pod.spec.containers[0]
    env = {e.name: e.value for e in base.env}
    assert env["LAKE_URI"] == "s3://research-lake"
    assert env["LAKE_S3_ENDPOINT"] == "https://s3.example"
    assert env["ALPACA_FEED"] == "sip"
    assert env["EQUITY_LAKE_RESULT_PATH"] == "/airflow/xcom/return.json"
    for secret in ("AWS_SECRET_ACCESS_KEY", "ALPACA_API_KEY_ID", "ALPACA_API_SECRET_KEY"):
        assert secret not in env
    text = str(pod.to_dict())
    for value in ("lake-secret-k8s", "alpaca-secret-k8s", "AKALPACA"):
        assert value not in text
    # the lake's and the chunk's one service's Secrets, by name: nothing for wrds or sec
    assert [s.secret_ref.name for s in base.env_from] == ["equity-lake-lake", "equity-lake-alpaca"]


def test_the_sample_source_gets_only_the_lakes_secret():
    from equity_lake_airflow.kubernetes_runtime import secret_sources

    with environment(EQUITY_LAKE_K8S_SECRET_PREFIX=None):
        assert [s.secret_ref.name for s in secret_sources([])] == ["equity-lake-lake"]
    with environment(EQUITY_LAKE_K8S_SECRET_PREFIX="-"):
        assert secret_sources(["alpaca"]) == []


def terminated(code: int) -> k8s.V1Pod:
    state = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=code))
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="ingest-chunk-abc", namespace="lake"),
        status=k8s.V1PodStatus(
            phase="Failed",
            container_statuses=[
                k8s.V1ContainerStatus(
                    name="base",
                    state=state,
                    image="x",
                    image_id="x",
                    ready=False,
                    restart_count=0,
                )
            ],
        ),
    )


@pytest.mark.parametrize("code, final", [(3, True), (2, True), (1, False), (137, False)])
def test_exit_codes_2_and_3_fail_without_retry(operator, code, final):
    from airflow.exceptions import AirflowException
    from airflow.sdk.exceptions import AirflowFailException

    operator.on_finish_action = "keep_pod"  # no cluster to delete it from
    operator.patch_already_checked = lambda *a, **k: None  # nor to label it
    operator.is_istio_enabled = lambda pod: False  # nor to ask about a service mesh
    pod = terminated(code)
    with pytest.raises(AirflowException) as raised:
        operator.cleanup(pod, pod)
    assert isinstance(raised.value, AirflowFailException) is final
    if final:
        assert f"exited {code}" in str(raised.value)
