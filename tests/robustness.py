"""Shared by the robustness tests in several test files (not a test module).

* `report` prints measured figures (``pytest -s``) as ``[robustness] ...``.
* Hostile input: strategies of hostile values and `attempt`, which calls a
  public function and allows only a clean refusal (a ValidationError; a
  MemoryError only for sizes that really do not fit), counting the calls
  and outcomes per function in `TRIED` and `OUTCOMES` (`record`).
* `tally`: the cases a property test tried, counted while it runs and
  checked against a minimum, so the test fails if it tried too few
  (whatever else ran in the session); tests/conftest.py prints the
  session's counts at the end.
* `pickle_roundtrip_outputs`: a network and its pickled copy, simulated.

The long runs are marked ``slow``, which tests/conftest.py skips unless
``--slow`` is given.
"""

import contextlib
import pickle
import warnings
from collections import Counter

import nengo
import numpy as np
from hypothesis import HealthCheck
from hypothesis import strategies as st
from nengo.exceptions import ValidationError

DT = 0.001


def report(*args):
    print("[robustness]", *args)


# ---------------------------------------------------------------------------
# Hostile input: property tests over the public constructors and functions

TRIED = Counter()
OUTCOMES = Counter()

SPECIAL = [
    0,
    -1,
    1,
    2,
    3,
    0.5,
    -0.0,
    1e-300,
    5e-324,
    1e300,
    1.7e308,
    -1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    None,
    "1",
    "",
    b"x",
    [1.0],
    [[1.0]],
    (),
    {},
    1j,
    np.float32(0.5),
    np.int64(3),
    np.array(2.0),
    np.array([1.0, 2.0]),
    np.float64("nan"),
    2**63,
    -(2**63),
    10**12,
    10**4 + 1,
    2**31,
    object(),
]
scalars = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 12),
)
# orders and counts: small valid ones, or the extremes (never a valid size
# large enough to allocate gigabytes: see MAX_ORDER)
orders = st.one_of(st.sampled_from(SPECIAL), st.integers(-3, 12))
finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)


def matrices(max_side=4):
    shapes = st.lists(st.integers(0, max_side), min_size=0, max_size=3).map(tuple)
    arrays = shapes.flatmap(
        lambda shape: st.lists(
            finite_or_not, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))
        ).map(lambda v, shape=shape: np.array(v, dtype=float).reshape(shape))
    )
    return st.one_of(arrays, st.sampled_from(SPECIAL))


synapses = st.one_of(
    st.sampled_from(SPECIAL),
    st.builds(
        nengo.Lowpass, st.one_of(st.floats(0, 1e3), st.sampled_from([1e-300, 1e300]))
    ),
    st.builds(nengo.Alpha, st.floats(1e-4, 1.0)),
    st.just(nengo.synapses.Triangle(0.01)),
)


def allowed(error, huge_allocation=False):
    """ValidationError always; MemoryError only for sizes that really do not
    fit (e.g. 10^12 inputs, which Nengo too would refuse at build)."""
    if isinstance(error, ValidationError):
        return True
    return huge_allocation and isinstance(error, (MemoryError, ValueError))


def record(name, outcome):
    """Count one case of ``name`` ending in ``outcome`` ("refused", ...)."""
    TRIED[name] += 1
    OUTCOMES[name, outcome] += 1


@contextlib.contextmanager
def tally(*names, minimum):
    """Count the cases `record`ed during the block, and then check that each
    of ``names`` got at least ``minimum`` of them.

    Yields a Counter ``{(name, outcome): n}``, filled when the block ends,
    for checks on the outcomes (e.g. that both refusals and reads occurred).
    """
    before = OUTCOMES.copy()
    seen = Counter()
    yield seen
    seen.update(OUTCOMES - before)
    tried = {
        name: sum(n for (key, _), n in seen.items() if key == name) for name in names
    }
    report(
        "cases tried: "
        + ", ".join(
            f"{name} {n} ({seen[name, 'refused']} refused)"
            for name, n in sorted(tried.items())
        )
    )
    too_few = {name: n for name, n in tried.items() if n < minimum}
    assert not too_few, f"fewer than {minimum} cases tried: {too_few}"


def attempt(name, fn, *args, huge_allocation=False, **kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 -- the point is to catch all
        if not allowed(error, huge_allocation):
            raise AssertionError(
                f"{name}{args}{kwargs} raised {type(error).__name__}: {error}"
            ) from error
        record(name, "refused")
        return None
    record(name, "worked")
    return result


def is_huge(*values):
    return any(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 10**6
        for v in values
    )


HYPOTHESIS = dict(
    # no per-example deadline: on a loaded 2-core machine one example of a
    # large hostile system can take seconds, which says nothing about a bug
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)


def check_system(system):
    if system is not None:
        for mat in system.ss:
            assert np.all(np.isfinite(mat)), system


@st.composite
def hostile_kwargs(draw, valid, hostile, max_bad=2):
    """Keyword arguments, each valid (from ``valid``) except for up to
    ``max_bad`` of them, drawn from ``hostile``."""
    names = sorted(valid)
    bad = draw(st.lists(st.sampled_from(names), max_size=max_bad, unique=True))
    return {
        name: draw(hostile.get(name, scalars) if name in bad else valid[name])
        for name in names
    }


positive = st.floats(1e-3, 1e3)
small_orders = st.integers(1, 12)
methods = st.sampled_from(["zoh", "euler", "bilinear"])
bad_methods = st.sampled_from(["foo", None, 1, "ZOH"])


# ---------------------------------------------------------------------------
# Pickling networks


def pickle_roundtrip_outputs(make, n_steps=300):
    net = make()
    clone = pickle.loads(pickle.dumps(net))
    outputs = []
    for model in (net, clone):
        # optimize=False: bit-identical builds (see the repeatability test)
        with nengo.Simulator(model, dt=DT, progress_bar=False, optimize=False) as sim:
            sim.run_steps(n_steps)
            outputs.append(sim.data[model.probe])
    return net, clone, outputs
