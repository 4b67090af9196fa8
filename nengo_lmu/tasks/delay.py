"""The delay task: data, network, simulation and evaluation.

Data
    `delay_task`: band-limited white noise and its ideal delays
    ``u(t - r * theta)``, as NengoDL arrays.
The delay experiment (``nengo-lmu delay``)
    `delay_network` (white noise into a neural `~nengo_lmu.LMUMemory` and an
    exact one, with probes on the decoded delays `DELAYS`), `run_delay` (build
    and run it on a backend: ``"nengo"``, ``"dl"`` or ``"loihi"``),
    `delay_nrmse` and `plot_delay`.

NengoDL, NengoLoihi and matplotlib are imported inside the functions that use
them.
"""

import time

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_choice,
    check_count,
    check_dtype,
    check_fraction,
    check_order,
    check_positive_finite,
    check_seed,
)
from nengo_lmu.basis import legendre_window_basis
from nengo_lmu.networks import LMUMemory
from nengo_lmu.tasks._plotting import pyplot, save_figure


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
    seed = check_seed(seed)
    dtype = check_dtype(dtype)
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


# --- the delay experiment -------------------------------------------------------

#: Decoded delays, as fractions of theta
DELAYS = (0.25, 0.5, 1.0)
#: The experiment's input, white noise of this rms and cut-off (Hz); the neural
#: memory's encoders and evaluation points are chosen for it
INPUT_RMS = 0.3
INPUT_HIGH = 1.0
#: Time constant of the decoded-delay probes' Lowpass filter; `delay_nrmse`
#: filters the ideal delayed input the same way
PROBE_TAU = 0.01
#: The largest delay experiment the ``nengo-lmu`` command runs: memory order,
#: neurons in all (order x neurons per dimension), simulated steps, and
#: neurons x steps (the default run is 600 x 20,000 = 1.2e7; 1e9 takes about
#: an hour in Nengo on one core)
LIMITS = dict(order=1000, neurons=100_000, steps=1_000_000, neuron_steps=10**9)
#: Where the delay experiment runs: Nengo's reference simulator, NengoDL, or
#: the NengoLoihi emulator (with the recurrence mapped onto the chip's filters)
BACKENDS = ("nengo", "dl", "loihi")


class _Backend:
    """How the delay experiment builds its neural memory and runs on one backend
    (Nengo's reference simulator)."""

    name = "nengo"

    def memory_kwargs(
        self, theta, order, neurons_per_dimension, neuron_type, max_rates, synapse, dt
    ):
        """`~nengo_lmu.LMUMemory` arguments of the neural memory."""
        kwargs = dict(
            theta=theta,
            order=order,
            neurons_per_dimension=neurons_per_dimension,
            synapse=nengo.Lowpass(synapse),
            dt=dt,
            neuron_type=(
                nengo.SpikingRectifiedLinear() if neuron_type is None else neuron_type
            ),
        )
        if max_rates is not None:
            kwargs["max_rates"] = max_rates
        return kwargs

    def simulator(self, net, dt, progress_bar):
        return nengo.Simulator(net, dt=dt, progress_bar=progress_bar)


class _NengoDLBackend(_Backend):
    name = "dl"

    def simulator(self, net, dt, progress_bar):
        from nengo_lmu.dl import import_nengo_dl  # pylint: disable=C0415

        return import_nengo_dl().Simulator(net, dt=dt, progress_bar=progress_bar)


class _LoihiBackend(_Backend):
    """The Loihi emulator: the recurrence is mapped onto the emulator's own loop
    filter (`nengo_lmu.loihi.memory_kwargs`), and the network is checked with
    `nengo_lmu.loihi.check_loihi` before the emulator starts."""

    name = "loihi"

    def memory_kwargs(
        self, theta, order, neurons_per_dimension, neuron_type, max_rates, synapse, dt
    ):
        from nengo_lmu import loihi  # pylint: disable=import-outside-toplevel

        return loihi.memory_kwargs(
            theta,
            order,
            neurons_per_dimension=neurons_per_dimension,
            tau=synapse,
            dt=dt,
            neuron_type=neuron_type,
        )

    def simulator(self, net, dt, progress_bar):
        from nengo_lmu import loihi  # pylint: disable=import-outside-toplevel

        loihi.check_loihi(net, dt=dt)
        import nengo_loihi  # pylint: disable=import-outside-toplevel

        return nengo_loihi.Simulator(
            net, dt=dt, target="sim", progress_bar=progress_bar
        )


_BACKEND_CLASSES = {cls.name: cls for cls in (_Backend, _NengoDLBackend, _LoihiBackend)}


def _backend(backend):
    if isinstance(backend, _Backend):
        return backend
    return _BACKEND_CLASSES[check_choice(backend, BACKENDS, "backend")]()


def check_delay_experiment(
    theta, order, neurons_per_dimension, duration, dt=0.001, seed=0, limits=None
):
    """Check the delay experiment's settings before anything is built.

    Raises a ValidationError naming the setting: ``theta`` must be at least
    one step and shorter than ``duration`` (the delays are compared with the
    input ``theta`` earlier); with ``limits`` (a dict like `LIMITS`), runs
    larger than those are refused.

    Returns
    -------
    settings : dict
        ``theta``, ``order``, ``neurons_per_dimension``, ``duration``, ``dt``, ``seed``,
        checked, and ``steps``.
    """
    theta = check_positive_finite(theta, "theta")
    dt = check_positive_finite(dt, "dt")
    duration = check_positive_finite(duration, "duration")
    order = check_order(order)
    neurons_per_dimension = check_count(neurons_per_dimension, "neurons_per_dimension")
    seed = check_seed(seed)
    if theta < dt:
        raise ValidationError(
            f"must be at least one time step (dt={dt:g} s), got {theta:g}", attr="theta"
        )
    if not duration > theta:
        raise ValidationError(
            f"must be shorter than the duration ({duration:g} s): the delay of "
            f"theta is compared with the input theta earlier; got {theta:g}",
            attr="theta",
        )
    steps = int(round(duration / dt))
    if limits is not None:
        for value, key, attr, what in [
            (order, "order", "order", "the memory order"),
            (
                order * neurons_per_dimension,
                "neurons",
                "neurons_per_dimension",
                f"order x neurons per dimension ({order} x {neurons_per_dimension})",
            ),
            (steps, "steps", "duration", f"duration / dt ({steps} steps)"),
            (
                order * neurons_per_dimension * steps,
                "neuron_steps",
                "duration",
                f"neurons x steps ({order * neurons_per_dimension} x {steps})",
            ),
        ]:
            if value > limits[key]:
                raise ValidationError(
                    f"too large: {what} is {value:.3g}, at most {limits[key]:.3g} "
                    "here (see nengo_lmu.tasks.delay.LIMITS)",
                    attr=attr,
                )
    return dict(
        theta=theta,
        order=order,
        neurons_per_dimension=neurons_per_dimension,
        duration=duration,
        dt=dt,
        seed=seed,
        steps=steps,
    )


def delay_network(
    theta=1.0,
    order=6,
    neurons_per_dimension=100,
    neuron_type=None,
    max_rates=None,
    synapse=0.1,
    duration=20.0,
    seed=0,
    dt=0.001,
    memory_kwargs=None,
    backend="nengo",
):
    """The delay experiment's network: white noise into a neural LMUMemory and
    an exact one, with probes on the decoded delays.

    The input is ``nengo.processes.WhiteSignal(duration, high=INPUT_HIGH,
    rms=INPUT_RMS, y0=0, seed=seed)``; both memories decode ``u(t - r theta)``
    for each ``r`` in `DELAYS`, probed through ``Lowpass(PROBE_TAU)``.

    Parameters
    ----------
    theta, order : float, int
        The memories' window (seconds) and order.
    neurons_per_dimension : int
        Neurons per state dimension of the neural memory.
    neuron_type : nengo.neurons.NeuronType, optional
        Default ``nengo.SpikingRectifiedLinear()`` (on ``"loihi"``: the
        backend's default, see `nengo_lmu.loihi.memory_kwargs`).
    max_rates : nengo.dists.Distribution, optional
        Maximum firing rates of the neural memory (Nengo's default if None).
    synapse : float
        Time constant of the neural memory's recurrent Lowpass synapse.
    duration : float
        Seconds of input (the white noise's period).
    seed : int
        Seed of the input and the network.
    dt : float
        Time step.
    memory_kwargs : dict, optional
        Further `~nengo_lmu.LMUMemory` arguments of the neural memory.
    backend : str
        One of `BACKENDS`; ``"loihi"`` maps the recurrence onto the
        emulator's filters.

    Returns
    -------
    net : nengo.Network
        With attributes ``delay_probes`` (dict: "input", "neural", "exact"),
        ``memory`` (the neural memory), and the experiment's ``theta``,
        ``dt``, ``duration`` and ``backend`` (its name).

    Examples
    --------
    >>> net = delay_network(theta=0.5, order=4, neurons_per_dimension=50, duration=2.0)
    >>> with nengo.Simulator(net, progress_bar=False) as sim:
    ...     sim.run(net.duration)
    """
    backend = _backend(backend)
    check_delay_experiment(theta, order, neurons_per_dimension, duration, dt, seed)
    params = backend.memory_kwargs(
        theta, order, neurons_per_dimension, neuron_type, max_rates, synapse, dt
    )
    params.update(input_rms=INPUT_RMS, input_high=INPUT_HIGH)
    params.update(memory_kwargs or {})
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(
            nengo.processes.WhiteSignal(
                period=duration, high=INPUT_HIGH, rms=INPUT_RMS, y0=0, seed=seed
            ),
            label="u",
        )
        net.memory = LMUMemory(**params)
        exact = LMUMemory(theta, order, dt=dt)
        nengo.Connection(stim, net.memory.input, synapse=None)
        nengo.Connection(stim, exact.input, synapse=None)
        net.delay_probes = {
            "input": nengo.Probe(stim, synapse=None),
            "neural": nengo.Probe(
                net.memory.add_delay_output(DELAYS), synapse=PROBE_TAU
            ),
            "exact": nengo.Probe(exact.add_delay_output(DELAYS), synapse=PROBE_TAU),
        }
    net.theta, net.dt, net.duration, net.backend = theta, dt, duration, backend.name
    return net


def _delayed(u, delay, dt):
    """``u`` delayed by ``delay`` seconds (whole steps), zero before it starts."""
    shift = int(round(delay / dt))
    out = np.zeros_like(u)
    if shift < len(u):
        out[shift:] = u[: len(u) - shift]
    return out


def delay_nrmse(decoded, u, r, theta, dt):
    """NRMSE of a decoded ``u(t - r theta)`` against the ideal delayed input,
    both filtered by the probe synapse ``Lowpass(PROBE_TAU)``."""
    ideal = nengo.Lowpass(PROBE_TAU).filt(_delayed(u, r * theta, dt), dt=dt, y0=0)
    return np.sqrt(np.mean((decoded - ideal) ** 2)) / np.sqrt(np.mean(u**2))


def run_delay(backend="nengo", progress_bar=True, **kwargs):
    """The delay experiment: build `delay_network` and run it on a backend.

    Parameters
    ----------
    backend : str
        One of `BACKENDS`: ``"nengo"``, ``"dl"`` or ``"loihi"``.
    progress_bar : bool
        Show the simulator's progress bar.
    **kwargs
        Arguments of `delay_network` (its defaults otherwise).

    Returns
    -------
    result : dict
        ``t``, ``u``, ``neural`` and ``exact`` (decoded delays), ``nrmse``
        (per delay: neural and exact), ``seconds`` (simulation wall time).
    """
    backend = _backend(backend)
    net = delay_network(backend=backend, **kwargs)
    start = time.perf_counter()
    with backend.simulator(net, net.dt, progress_bar) as sim:
        sim.run(net.duration)
        data = {k: sim.data[p] for k, p in net.delay_probes.items()}
        t = sim.trange()
    seconds = time.perf_counter() - start
    u = data["input"][:, 0]
    nrmse = {
        r: (
            delay_nrmse(data["neural"][:, i], u, r, net.theta, net.dt),
            delay_nrmse(data["exact"][:, i], u, r, net.theta, net.dt),
        )
        for i, r in enumerate(DELAYS)
    }
    return dict(
        t=t,
        u=u,
        neural=data["neural"],
        exact=data["exact"],
        nrmse=nrmse,
        seconds=seconds,
    )


def plot_delay(path, t, u, neural, theta, order, dt):
    """Input, ideal delayed input and spiking readout of ``u(t - theta)``, and
    the Legendre window basis, written to ``path`` (PNG)."""
    plt = pyplot()
    ideal = _delayed(u, theta, dt)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 6), gridspec_kw={"height_ratios": [2, 1]}
    )
    top.plot(t, u, color="0.7", label="input u(t)")
    top.plot(t, neural, color="C3", label="spiking LMU readout")
    top.plot(t, ideal, "k--", lw=1, label=f"ideal u(t - {theta:g})")
    top.set_xlabel("time (s)")
    top.legend(loc="upper right", fontsize="small")
    top.set_title(f"Spiking LMU memory, theta = {theta:g} s, order {order}")
    r, basis = legendre_window_basis(order)
    bottom.plot(r * theta, basis)
    bottom.set_xlabel("delay (s)")
    bottom.set_ylabel("P_i(2r - 1)")
    bottom.set_title("Legendre window basis")
    fig.tight_layout()
    save_figure(fig, path)


#: Neuron types of the ``nengo-lmu delay`` command, by ``nengo`` class name
NEURON_TYPES = (
    "SpikingRectifiedLinear",
    "LIF",
    "RectifiedLinear",
    "LIFRate",
    "Izhikevich",
    "AdaptiveLIF",
)


def neuron_options(name):
    """`delay_network`'s ``neuron_type`` and ``max_rates`` for a neuron type
    named in `NEURON_TYPES`: rectified-linear neurons fire at 100-120 Hz at
    most, the others at Nengo's default rates."""
    check_choice(name, NEURON_TYPES, "neuron_type")
    rectified = name.endswith("RectifiedLinear")
    return dict(
        neuron_type=getattr(nengo, name)(),
        max_rates=nengo.dists.Uniform(100, 120) if rectified else None,
    )
