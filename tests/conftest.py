from collections import Counter

import numpy as np
import pytest
import robustness

#: (name, outcome) -> cases, over the session (sent by pytest-xdist's workers
#: in each report's user_properties)
SESSION_CASES = Counter()


def pytest_addoption(parser):
    try:
        parser.addoption(
            "--slow",
            action="store_true",
            default=False,
            help="Also run the tests marked slow (full tables, long runs).",
        )
    except ValueError:  # Nengo's pytest plugin (pytest_nengo) has added it
        pass


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: long tests and full option tables, run only with --slow "
        "(a fast test covers the same capability by default)",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)


@pytest.fixture
def rng(request):
    """A numpy RandomState seeded from the test's name, so runs repeat."""
    seed = sum(ord(c) for c in request.node.nodeid) % (2**31)
    return np.random.RandomState(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    before = robustness.OUTCOMES.copy()
    yield
    item.cases_tried = robustness.OUTCOMES - before


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    cases = getattr(item, "cases_tried", None)
    if call.when == "call" and cases:
        outcome.get_result().user_properties.append(
            ("cases_tried", [[name, kind, n] for (name, kind), n in cases.items()])
        )


def pytest_runtest_logreport(report):
    for key, value in report.user_properties:
        if key == "cases_tried":
            for name, kind, n in value:
                SESSION_CASES[name, kind] += n


def pytest_terminal_summary(terminalreporter):
    """The cases the property tests tried (each test checks its own)."""
    if not SESSION_CASES:
        return
    names = sorted({name for name, _ in SESSION_CASES})
    terminalreporter.write_sep("-", "property-test cases tried")
    for name in names:
        kinds = sorted((k, n) for (key, k), n in SESSION_CASES.items() if key == name)
        total = sum(n for _, n in kinds)
        detail = ", ".join(f"{n} {k}" for k, n in kinds)
        terminalreporter.write_line(f"{name}: {total} ({detail})")
