import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from topology import Topology  # noqa: E402


def _temp_dir(request, prefix):
    """A directory removed when the fixture ends, whether its tests passed or not."""
    path = tempfile.mkdtemp(prefix=prefix)
    request.addfinalizer(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def _topology(request, **kwargs):
    topo = Topology(_temp_dir(request, "redis-sentinel-py-"), **kwargs)
    request.addfinalizer(topo.stop)  # runs before the directory goes: finalizers run in reverse
    return topo.start()


@pytest.fixture(scope="session")
def topo(request):
    """A shared topology that tests must not fail over: masters a and b, one replica each."""
    return _topology(request, names=("a", "b"), replicas=1, sentinels=1)


@pytest.fixture
def failover_topo(request):
    """A fresh topology per test, for tests that fail over or kill things."""
    return _topology(request, names=("mymaster",), replicas=2, sentinels=3)


@pytest.fixture
def role_refused_topo(request):
    """Like failover_topo, with data nodes that refuse ROLE to the client's ACL user."""
    return _topology(request, names=("mymaster",), replicas=2, sentinels=3,
                     password="data-secret", acl_user=("app", "app-secret", "+@all", "-role"))


@pytest.fixture
def role_and_info_refused_topo(request):
    """Like failover_topo, with data nodes that refuse ROLE and INFO (all of @dangerous) to the
    client's ACL user, a common production setting."""
    return _topology(request, names=("mymaster",), replicas=2, sentinels=3,
                     password="data-secret", acl_user=("app", "app-secret", "+@all", "-@dangerous"))


@pytest.fixture
def two_masters_topo(request):
    """Masters a and b, no replicas, one sentinel, for a test that rewrites its config."""
    return _topology(request, names=("a", "b"), replicas=0, sentinels=1)


@pytest.fixture
def hostname_topo(request):
    """Like failover_topo, but every node is known by the name "localhost", never an IP."""
    return _topology(request, names=("mymaster",), replicas=2, sentinels=3, hostnames=True)


@pytest.fixture(scope="session")
def auth_topo(request):
    """Data nodes with requirepass and an ACL user; a sentinel with requirepass."""
    return _topology(request, names=("s",), replicas=1, sentinels=1, password="data-secret",
                     acl_user=("app", "app-secret"), sentinel_password="sentinel-secret")


@pytest.fixture(scope="session")
def tls_topo(request):
    """Every server speaks TLS only, with certificates made for this run."""
    from topology import make_certs
    certs = make_certs(_temp_dir(request, "redis-sentinel-certs-"))
    topo = _topology(request, names=("t",), replicas=1, sentinels=1, tls_dir=certs)
    return topo
