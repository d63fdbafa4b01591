"""What the dataset tests share: the sample master, and a local lake holding it."""

import pytest

from equity_lake import master_build
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore


@pytest.fixture(scope="session")
def built():
    """The sample market's security master build (deterministic; built once)."""
    return master_build.build("sample")


@pytest.fixture
def store(built, local_env):
    """A fresh local-folder lake holding the sample master."""
    s = LakeStore()
    s.write_table(keys.SECURITY_MASTER, built.master)
    return s
