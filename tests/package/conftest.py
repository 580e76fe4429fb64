import pytest
from _pytest.nodeid import NodeId


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make `--dist loadgroup` honour xdist_group again (for every test, not only these).

    pytest-xdist 3.8 puts a test in its group by rewriting `item._nodeid` to end in
    "@<group>"; pytest 9.2 derives `nodeid` from `item._id` instead, so the suffix is lost
    and the group's tests are spread over the workers: each worker then sets up the
    package's module fixtures (unzip, moto, migrate, collectstatic) again. This carries the
    suffix over, after xdist's hook.
    """
    for item in items:
        legacy = item.__dict__.get("_nodeid")
        if isinstance(legacy, str) and "@" in legacy and item.nodeid != legacy:
            item._id = NodeId.parse(legacy)
