"""The tests that run on a real Redis Cluster (tests/cluster_support.py): one cluster for the session,
flushed after each test, and the app configured with REDIS_CLUSTER_NODES (the broker stays on the
machine's Redis; tasks run eagerly, as in the other API tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from app.extensions import db
from tests.cluster_support import LocalCluster
from tests.conftest import make_test_app


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    local = LocalCluster()
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture()
def capp(app: Flask, cluster: LocalCluster, tmp_path) -> Iterator[Flask]:
    """The app on the cluster (the session's `app` keeps the database's schema and cleanup)."""
    clustered = make_test_app(REDIS_CLUSTER_NODES=cluster.nodes_setting, TICKETS_DIR=tmp_path)
    with clustered.app_context():
        yield clustered
        db.session.remove()
        clustered.extensions["redis"].close()
        db.engine.dispose()
    cluster.flush()


@pytest.fixture()
def cclient(capp: Flask):
    return capp.test_client()
