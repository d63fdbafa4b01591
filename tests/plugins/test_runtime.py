"""Runtime settings: one table in the code and the README, and clear refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from equity_lake_airflow import containers, runtime
from tests.dags.helpers import environment

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_runtime_setting_with_its_default():
    text = README.read_text()
    for s in runtime.SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        assert f"| `{s.variable}` | {default} |" in text, s.variable


def test_malformed_settings_are_refused_naming_the_variable():
    from equity_lake_airflow import docker_runtime

    with environment(EQUITY_LAKE_DOCKER_MOUNTS="/data"):
        with pytest.raises(runtime.RuntimeConfigError, match="EQUITY_LAKE_DOCKER_MOUNTS"):
            docker_runtime.mounts()
    with environment(EQUITY_LAKE_DOCKER_MOUNTS="/data:/in:ro, /cache:/cache"):
        mounts = docker_runtime.mounts()
    assert [(m["Source"], m["Target"], m["ReadOnly"]) for m in mounts] == [
        ("/data", "/in", True),
        ("/cache", "/cache", False),
    ]
    with environment(EQUITY_LAKE_K8S_NODE_SELECTOR="a=1,b"):
        with pytest.raises(runtime.RuntimeConfigError, match="'b' is not key=value"):
            runtime.pairs("EQUITY_LAKE_K8S_NODE_SELECTOR")


def test_a_file_lake_runs_as_its_owner_and_a_root_owned_one_is_refused(tmp_path):
    from equity_lake_airflow import docker_runtime

    lake = tmp_path / "lake"
    folder = docker_runtime.lake_folder(lake.as_uri())
    assert folder == str(lake) and lake.is_dir()
    assert docker_runtime.lake_folder("s3://bucket") is None
    if os.geteuid() == 0:  # as root (CI), hand the folder to a user first
        os.chown(lake, 1234, 2345)
    owner = os.stat(lake)
    assert docker_runtime.folder_user(folder) == f"{owner.st_uid}:{owner.st_gid}"
    if os.geteuid() == 0:
        os.chown(lake, 0, 0)
        with pytest.raises(runtime.RuntimeConfigError, match="owned by root"):
            docker_runtime.folder_user(folder)


def test_the_result_is_the_last_json_line_whatever_else_was_printed():
    lines = ['{"partial": 1}', "equity-lake: warning: slow source", '{"rows": 6}', "bye"]
    assert containers.result_of(lines) == {"rows": 6}
    assert containers.result_of('{"a": 1}\n') == {"a": 1}
    with pytest.raises(ValueError, match="no JSON result"):
        containers.result_of(["nothing here"])
