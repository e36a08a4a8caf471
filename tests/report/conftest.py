"""Session fixtures: one synthetic run and its report, shared by the report tests."""

from pathlib import Path

import pytest
from synthetic_run import make_run


@pytest.fixture(scope="session")
def full_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def built_report(full_run):
    from byod.report import build_report

    return build_report(full_run, n_clusters=3)
