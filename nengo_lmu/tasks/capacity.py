"""The LMU paper's memory-capacity experiment (its ``capacity.ipynb``).

Sequences of band-limited white noise, and as targets the input delayed by
0, T/4, T/2, 3T/4 and T steps; the score is the test mean squared error of
each delay over the steps after the first T.

Data
    `capacity_data` (the sequences, each of 2.5 T steps of
    ``nengo.processes.WhiteSignal(high=10 Hz, y0=0)`` with dt = 1/T, scaled
    to ``max |x| = 1``) and `capacity_targets` (the delayed inputs).
LMU-0
    `lmu0_capacity`: the untrained LMU of the paper, an exact memory of
    order 100 whose linear hidden state reads the delays with the shifted
    Legendre polynomials. The memory is linear, so its readouts are the
    input convolved with their impulse responses (`lmu0_readouts`, by FFT):
    T = 100,000 steps takes seconds, not the hours of a step-by-step loop.
LSTM
    `lstm_capacity`: the paper's baseline, a Keras LSTM of 100 units and a
    Dense readout trained with Adam on the MSE, batch 50.
Beyond the paper
    `spiking_capacity`: the same memory in spiking neurons
    (`~nengo_lmu.LMUMemory` with ``neurons_per_dimension``, dt = 1 ms) beside
    the exact memory on the same sequences.

The paper gives the LMU-0 a window of ``theta = T - 0.5`` steps and reads the
delays at ``r = d / T`` of it (``ALIGNMENTS["paper"]``). The exact memory's
zero-order hold keeps input ``u[k]`` over the step that ends at step ``k``,
so the sample ``d`` steps back is centred ``d + 0.5`` steps back, and a
window of ``T + 0.5`` steps read at ``r = (d + 0.5) / (T + 0.5)``
(``ALIGNMENTS["aligned"]``) decodes every delay with a far smaller error
(measured: 9e-6 against 1e-2 at T = 100). Both are reported.

NengoDL is not used; TensorFlow is imported by `lstm_capacity` only,
matplotlib by `plot_capacity` only.
"""

import time

import nengo
import numpy as np
from nengo.exceptions import ValidationError
from scipy import fft

from nengo_lmu._validation import check_choice, check_count, check_seed
from nengo_lmu.basis import delay_readout
from nengo_lmu.systems import LegendreDelay
from nengo_lmu.tasks._plotting import pyplot, save_figure

__all__ = [
    "ALIGNMENTS",
    "LMU0_STEPS",
    "LSTM_STEPS",
    "SPIKING_STEPS",
    "capacity_data",
    "capacity_delays",
    "capacity_targets",
    "lmu0_system",
    "lmu0_readouts",
    "lmu0_capacity",
    "lstm_capacity",
    "spiking_capacity",
    "predicted_mse",
    "plot_capacity",
]

#: Sequence lengths T (steps per theta) of the paper's LMU-0 and LSTM runs
LMU0_STEPS = (100, 1000, 10_000, 100_000)
LSTM_STEPS = (25, 100, 400, 1600)
#: T of the spiking memory (beyond the paper), at dt = 1 ms
SPIKING_STEPS = (1000, 10_000)
#: The paper's set-up: order, white-noise cut-off (cycles per theta),
#: sequences (half for test), sequence length in units of T
ORDER = 100
HIGH = 10.0
N_SEQUENCES = 200
LENGTH = 2.5
#: The paper's LSTM: units, batch size (500 epochs in the paper)
LSTM_UNITS = 100
LSTM_BATCH = 50
#: How the LMU-0's window and readouts line up with the delays: a function of
#: T giving (theta in steps, readout points r for the delays d)
ALIGNMENTS = {
    "paper": lambda T, d: (T - 0.5, d / T),
    "aligned": lambda T, d: (T + 0.5, (d + 0.5) / (T + 0.5)),
}


def capacity_delays(steps):
    """The delays of the capacity task in steps: ``linspace(0, T, 5)``."""
    return np.linspace(0, check_count(steps, "steps"), 5, dtype=int)


def capacity_data(
    steps, n_sequences=N_SEQUENCES, high=HIGH, seed=0, start=0, stop=None
):
    """White-noise sequences of the capacity task.

    Sequence ``i`` is ``nengo.processes.WhiteSignal(period=LENGTH, high=high,
    y0=0, seed=s_i)`` run for ``LENGTH * steps`` steps of ``dt = 1 / steps``
    (so theta = 1 s is ``steps`` steps, and the input has ``high`` cycles per
    theta), divided by its largest absolute value. The seeds ``s_i`` are drawn
    from ``numpy.random.RandomState(seed)``, so any range of sequences can be
    made alone (the paper's split: the first half trains, the second tests).

    Parameters
    ----------
    steps : int
        T, the steps per theta (>= 8).
    n_sequences : int
        Sequences in the whole data set.
    high : float
        Cut-off of the white noise in Hz (cycles per theta).
    seed : int
        Seed of the sequences' seeds.
    start, stop : int
        The range of sequences to make (default all).

    Returns
    -------
    u : ndarray, shape (stop - start, LENGTH * steps)
    """
    steps = check_count(steps, "steps", low=8)
    n_sequences = check_count(n_sequences, "n_sequences")
    seed = check_seed(seed)
    stop = n_sequences if stop is None else stop
    if not 0 <= start < stop <= n_sequences:
        raise ValidationError(
            f"must satisfy 0 <= start < stop <= n_sequences={n_sequences}, got "
            f"start={start}, stop={stop}",
            attr="stop",
        )
    if not 0 < high <= steps / 2:
        raise ValidationError(
            f"must be in (0, steps / 2 = {steps / 2:g}] Hz, got {high!r}", attr="high"
        )
    length = int(LENGTH * steps)
    seeds = np.random.RandomState(seed).randint(2**31 - 1, size=n_sequences)
    u = np.empty((stop - start, length))
    for row, s in enumerate(seeds[start:stop]):
        process = nengo.processes.WhiteSignal(
            period=LENGTH, high=high, y0=0, seed=int(s)
        )
        x = process.run_steps(length, d=1, dt=1.0 / steps)[:, 0]
        u[row] = x / np.max(np.abs(x))
    return u


def capacity_targets(u, steps):
    """The input delayed by each of `capacity_delays` (zeros before it starts),
    shape ``(n, length, 5)``."""
    delays = capacity_delays(steps)
    y = np.zeros(u.shape + (len(delays),))
    for j, d in enumerate(delays):
        y[:, d:, j] = u[:, : u.shape[1] - d]
    return y


def lmu0_system(steps, order=ORDER, alignment="aligned"):
    """The LMU-0's memory and readout at dt = 1 / ``steps``.

    Returns
    -------
    A, B : ndarray
        The zero-order-hold memory update ``m[k] = A m[k-1] + B u[k]``
        (`~nengo_lmu.systems.LegendreDelay` of theta = ``theta_steps / steps``
        seconds, discretised at ``1 / steps``).
    C : ndarray, shape (5, order)
        Shifted Legendre readouts of the five delays (the hidden kernel).
    theta_steps : float
        The window in steps.
    """
    check_choice(alignment, tuple(ALIGNMENTS), "alignment")
    theta_steps, r = ALIGNMENTS[alignment](steps, capacity_delays(steps))
    disc = LegendreDelay(theta_steps / steps, order).discretize(1.0 / steps)
    return disc.A, disc.B[:, 0], delay_readout(order, r), theta_steps


def _impulse_responses(A, B, C, length, block=64):
    """``h[:, n] = C A^n B`` for ``n < length``, computed ``block`` steps at a
    time from the powers of ``A``."""
    powers = [np.eye(len(A))]
    for _ in range(block - 1):
        powers.append(A @ powers[-1])
    stacked = np.stack(powers)  # (block, order, order)
    step = A @ powers[-1]  # A^block
    h = np.empty((C.shape[0], length))
    x = B.copy()
    for start in range(0, length, block):
        n = min(block, length - start)
        states = stacked[:n] @ x  # (n, order): A^i x
        h[:, start : start + n] = C @ states.T
        x = step @ x
        if not np.any(np.abs(x) > 1e-300):  # underflowed: the rest is zero
            h[:, start + n :] = 0
            break
    return h


def lmu0_readouts(u, A, B, C, impulse=None):
    """The readouts ``y[k] = C m[k]`` of the exact memory
    ``m[k] = A m[k-1] + B u[k]`` (``m[-1] = 0``) for each row of ``u``, as the
    FFT convolution of ``u`` with the impulse responses ``C A^n B``
    (``impulse``, if already computed for at least ``u``'s length).

    Returns
    -------
    y : ndarray, shape (len(u), length, C.shape[0])
    """
    u = np.atleast_2d(u)
    length = u.shape[1]
    h = (
        _impulse_responses(A, B, C, length)
        if impulse is None
        else np.asarray(impulse)[:, :length]
    )
    n = fft.next_fast_len(2 * length)
    H = fft.rfft(h, n)
    U = fft.rfft(u, n)
    return np.moveaxis(fft.irfft(U[:, None, :] * H[None], n)[..., :length], 1, 2)


def _scored(y, steps):
    """The steps that are scored: those after the first T."""
    return y[:, steps:, :]


def predicted_mse(A, B, C, steps, high=HIGH, n_points=500):
    """The LMU-0's expected MSE per delay for unit-variance white noise
    (flat power up to ``high`` Hz at dt = 1 / ``steps``), from the frequency
    response: the mean over the band of ``|C (e^{iw} I - A)^{-1} e^{iw} B -
    e^{-iwd}|^2``. Multiply by the input's variance for the expected MSE."""
    w = np.linspace(0, 2 * np.pi * high / steps, n_points + 1)[1:]
    eye = np.eye(len(A))
    delays = capacity_delays(steps)
    err = np.empty((len(w), len(delays)))
    for i, wi in enumerate(w):
        z = np.exp(1j * wi)
        H = C @ np.linalg.solve(eye - A / z, B)
        err[i] = np.abs(H - np.exp(-1j * wi * delays)) ** 2
    return err.mean(axis=0)


def lmu0_capacity(
    steps=LMU0_STEPS,
    n_sequences=N_SEQUENCES,
    order=ORDER,
    alignment="aligned",
    seed=0,
    batch=None,
):
    """The LMU-0's test MSE per delay at each T.

    Only the test half (the second) of the ``n_sequences`` sequences is made;
    the LMU-0 is untrained. Sequences are processed ``batch`` at a time
    (default: as many as fit in about 50 MB per array).

    Returns
    -------
    results : dict
        ``{T: {"mse": array of 5, "predicted": array of 5 (`predicted_mse`
        times the test input's variance), "seconds": float, "theta_steps":
        float}}``.
    """
    results = {}
    for T in steps:
        start = time.perf_counter()
        A, B, C, theta_steps = lmu0_system(T, order, alignment)
        length = int(LENGTH * T)
        batch_ = batch or max(1, int(5e6 // (length * len(C))))
        sq, count, var = np.zeros(len(C)), 0, []
        h = _impulse_responses(A, B, C, length)
        for lo in range(n_sequences // 2, n_sequences, batch_):
            hi = min(lo + batch_, n_sequences)
            u = capacity_data(T, n_sequences, seed=seed, start=lo, stop=hi)
            y = lmu0_readouts(u, A, B, C, impulse=h)
            err = _scored(y - capacity_targets(u, T), T)
            sq += np.sum(err**2, axis=(0, 1))
            count += err.shape[0] * err.shape[1]
            var.append(np.var(u[:, T:], axis=1))
        variance = float(np.mean(np.concatenate(var)))
        results[T] = dict(
            mse=sq / count,
            predicted=predicted_mse(A, B, C, T) * variance,
            variance=variance,
            theta_steps=theta_steps,
            seconds=time.perf_counter() - start,
        )
    return results


def lstm_capacity(
    steps=LSTM_STEPS, n_sequences=N_SEQUENCES, epochs=20, seed=0, verbose=0
):
    """The paper's LSTM baseline: test MSE per delay at each T.

    A Keras ``LSTM(100, return_sequences=True)`` and ``Dense(5)``, trained
    with Adam on the MSE over every step of the first half of the sequences,
    batch 50, ``epochs`` epochs (the paper: 500); scored like the LMU-0.

    Returns
    -------
    results : dict
        ``{T: {"mse": array of 5, "train_loss": float, "seconds": float,
        "epochs": int}}``.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    results = {}
    half = n_sequences // 2
    for T in steps:
        start = time.perf_counter()
        u = capacity_data(T, n_sequences, seed=seed)
        y = capacity_targets(u, T).astype("float32")
        x = u[..., None].astype("float32")
        tf.keras.utils.set_random_seed(seed)
        inp = tf.keras.Input((None, 1))
        h = tf.keras.layers.LSTM(LSTM_UNITS, return_sequences=True)(inp)
        model = tf.keras.Model(inp, tf.keras.layers.Dense(y.shape[-1])(h))
        model.compile(tf.keras.optimizers.Adam(), "mse")
        history = model.fit(
            x[:half], y[:half], batch_size=LSTM_BATCH, epochs=epochs, verbose=verbose
        )
        pred = model.predict(x[half:], batch_size=LSTM_BATCH, verbose=0)
        err = _scored(pred - y[half:], T)
        results[T] = dict(
            mse=np.mean(err**2, axis=(0, 1)),
            train_loss=float(history.history["loss"][-1]),
            epochs=epochs,
            seconds=time.perf_counter() - start,
        )
    return results


def spiking_capacity(
    steps=SPIKING_STEPS,
    n_test=4,
    n_sequences=N_SEQUENCES,
    order=24,
    neurons_per_dimension=100,
    tau=0.1,
    dt=0.001,
    probe_tau=0.01,
    realization="legendre",
    ensemble_dimensions=1,
    seed=0,
    progress_bar=False,
):
    """The capacity task with the memory in spiking neurons (beyond the paper).

    The first ``n_test`` test sequences of T steps are played at ``dt`` (so
    theta = T dt seconds and the input has 10 cycles per theta, as in the
    paper) into an `~nengo_lmu.LMUMemory` of order ``order`` with
    ``neurons_per_dimension`` spiking rectified-linear neurons (100-120 Hz)
    per state dimension and a ``Lowpass(tau)`` recurrence, whose state is
    read with the aligned LMU-0 readouts; the exact memory of the same order
    runs on the same sequences beside it. Both readouts and the targets are
    filtered by ``Lowpass(probe_tau)`` before scoring.

    The default order is 24, not the LMU-0's 100: an order-100 memory in
    neurons diverged here (MSE 1e71 at T = 100 with 10 neurons per dimension;
    its recurrent matrix mapped onto ``Lowpass(0.1)`` has entries of order
    100 / (1 - exp(-dt / tau))), its balanced realisation is numerically not
    minimal (Hankel singular values down to 1e-17, refused), and building it
    takes minutes (`~nengo_lmu.mapping.state_covariance` solves thousands of
    order-100 systems). The states are the scaled Legendre ones
    (``realization="legendre"``), ``ensemble_dimensions`` to an ensemble
    (default 1; 10-D ensembles were tried for order 100, whose 1-D ensembles
    would need 10,000 decoded recurrent connections).

    Returns
    -------
    results : dict
        ``{T: {"mse": spiking MSE per delay, "exact_mse": the exact memory's,
        "order", "neurons", "n_test", "seconds": build and simulation time}}``.
    """
    results = {}
    for T in steps:
        results[T] = _spiking_run(
            T,
            n_test,
            n_sequences,
            order,
            dict(
                neurons_per_dimension=neurons_per_dimension,
                synapse=nengo.Lowpass(tau),
                dt=dt,
                neuron_type=nengo.SpikingRectifiedLinear(),
                max_rates=nengo.dists.Uniform(100, 120),
                realization=realization,
                ensemble_dimensions=ensemble_dimensions,
            ),
            probe_tau,
            seed,
            progress_bar,
        )
    return results


def _spiking_run(T, n_test, n_sequences, order, memory_kwargs, probe_tau, seed, bar):
    """`spiking_capacity` at one T."""
    from nengo_lmu.networks import LMUMemory  # pylint: disable=C0415

    start = time.perf_counter()
    dt = memory_kwargs["dt"]
    A, B, C, theta_steps = lmu0_system(T, order, "aligned")
    half = n_sequences // 2
    u = capacity_data(T, n_sequences, seed=seed, start=half, stop=half + n_test)
    length = u.shape[1]
    theta = theta_steps * dt
    current = np.zeros(1)
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(lambda t: current[0])
        memory = LMUMemory(
            theta,
            order,
            input_rms=float(np.sqrt(np.mean(u**2))),
            input_high=HIGH / theta,
            **memory_kwargs,
        )
        nengo.Connection(stim, memory.input, synapse=None)
        probe = nengo.Probe(memory.output, synapse=None)
    neural = np.empty((n_test, length, len(C)))
    with nengo.Simulator(net, dt=dt, progress_bar=bar) as sim:
        for i in range(n_test):
            sim.reset(seed=seed + i)
            for k in range(length):
                current[0] = u[i, k]  # the Node reads it during this step
                sim.step()
            neural[i] = sim.data[probe] @ C.T
    exact = lmu0_readouts(u, A, B, C)
    filt = nengo.Lowpass(probe_tau)
    targets = filt.filt(capacity_targets(u, T), dt=dt, y0=0, axis=1)
    return dict(
        mse=_filtered_mse(neural, targets, filt, dt, T),
        exact_mse=_filtered_mse(exact, targets, filt, dt, T),
        n_test=n_test,
        order=order,
        neurons=memory.n_neurons,
        seconds=time.perf_counter() - start,
    )


def _filtered_mse(y, targets, filt, dt, T):
    y = filt.filt(y, dt=dt, y0=0, axis=1)
    return np.mean(_scored(y - targets, T) ** 2, axis=(0, 1))


def plot_capacity(path, lmu0, lstm=None, spiking=None):
    """The paper's capacity figure: test MSE against delay (as a fraction of
    T), one line per T, for the LMU-0 (and the LSTM and spiking memory when
    given), written to ``path``."""
    plt = pyplot()
    panels = [("LMU-0 (exact memory, order 100)", lmu0, "mse")]
    if lstm:
        panels.append(("LSTM (100 units)", lstm, "mse"))
    if spiking:
        panels.append(("spiking memory (dt = 1 ms)", spiking, "mse"))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.5 * len(panels), 3.8), squeeze=False
    )
    r = np.linspace(0, 1, 5)
    for ax, (title, results, key) in zip(axes[0], panels):
        for T, res in sorted(results.items()):
            ax.semilogy(r, np.maximum(res[key], 1e-16), "o-", label=f"T = {T:,}")
            if "exact_mse" in res:
                ax.semilogy(
                    r, np.maximum(res["exact_mse"], 1e-16), "k--", lw=0.8, alpha=0.6
                )
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("delay (fraction of T)")
        ax.legend(fontsize="small")
    axes[0][0].set_ylabel("test MSE")
    fig.tight_layout()
    save_figure(fig, path)
