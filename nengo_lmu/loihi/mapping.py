"""Running the neural LMU memory in NengoLoihi (the Loihi emulator or chip).

NengoLoihi realises a decoded connection between two on-chip ensembles
differently from Nengo. The presynaptic spikes drive a small population of
*decode neurons* whose input filter is the connection's ``Lowpass(tau)``; their
spikes reach the postsynaptic ensemble through a second filter,
``Model.decode_tau`` (5 ms by default); each hop adds axon delay; and each
filter's pole is quantised to 12 bits. A memory mapped for Nengo's
``Lowpass(tau)`` therefore drifts on the chip. `loop_synapse` models the
on-chip loop as a discrete all-pole filter, and `memory_kwargs` passes it to
`.LMUMemory` as the ``mapping_synapse``, so that the recurrence is mapped onto
the filter the chip actually applies (the approach of the LMU paper's Loihi
memory). `check_loihi` tells, before any simulation, whether and why a network
cannot go on the chip.

NengoLoihi is imported inside the functions that need it, so this module (and
``import nengo_lmu``) works without it; only `check_loihi` and `loihi_model`
need it installed.
"""

import warnings

import nengo
import numpy as np
from nengo.exceptions import BuildError, ValidationError

from nengo_lmu._extras import require
from nengo_lmu._validation import (
    check_count,
    check_neuron_type,
    check_nonnegative,
    check_positive_finite,
)
from nengo_lmu.spiking.rewrite import base_object
from nengo_lmu.spiking.twins import spiking_twin
from nengo_lmu.systems import legendre_matrices

# Emulator defaults (NengoLoihi 1.1): decode-neuron output filter, and the
# number of bits of a compartment's current decay.
DECODE_TAU = 0.005
DECAY_BITS = 12

#: Effective steps of delay in the on-chip loop, beyond one step per filter,
#: for the 100 ms synapse of a 1 s window. The emulator's loop has a few
#: steps of axon delay, and the decode neurons' spiking adds lag; 8 gave the
#: lowest delay-task error on the emulator for tau=0.1, order 6 (see
#: docs/guide/loihi.rst for the measurements). `loop_defaults` scales it
#: with the synapse.
DEFAULT_DELAY_STEPS = 8

#: The recurrent synapse `loop_defaults` chooses for a 1 s window; it scales
#: with the square root of the window: 100 ms at 1 s, 44 ms at 0.196 s (the
#: best measured on the emulator, for slow and white inputs alike; see
#: docs/guide/loihi.rst).
TAU_AT_ONE_SECOND = 0.1

#: Loop delay steps per second of the recurrent synapse's ``tau``: 8 steps
#: at 100 ms (the best measured), 4 at 44 ms (within 2% of the best).
DELAY_STEPS_PER_TAU = 80.0

#: Recommended neuron settings for the on-chip memory (measured on the
#: emulator; see ``docs/guide/loihi.rst``).
DEFAULT_MAX_RATES = nengo.dists.Uniform(100, 120)


def quantized_pole(tau, dt=0.001):
    """The pole of ``Lowpass(tau)`` as the Loihi emulator realises it.

    NengoLoihi stores a compartment's current decay in 12 bits,
    ``d = round(4095 (1 - exp(-dt / tau)) - 1)`` (clipped to ``[0, 4095]``),
    and the chip adds one back when it decays the current by
    ``(4096 - 1 - d) / 4096`` each step. That ratio is the filter's pole; for
    ``tau=0.1, dt=0.001`` it is 0.98999 rather than Nengo's
    ``exp(-0.01) = 0.99005``. ``tau=0`` (no filter) has pole 0.

    Parameters
    ----------
    tau : float
        Time constant of the Lowpass filter in seconds (>= 0).
    dt : float
        Simulator time step in seconds.

    Returns
    -------
    pole : float

    Examples
    --------
    >>> quantized_pole(0.1)
    0.989990234375
    """
    dt = check_positive_finite(dt, "dt")
    if tau == 0:
        return 0.0
    tau = check_positive_finite(tau, "tau")
    max_decay = 2**DECAY_BITS - 1
    decay = np.clip(np.round(-np.expm1(-dt / tau) * max_decay - 1), 0, max_decay)
    return float((2**DECAY_BITS - 1 - decay) / 2**DECAY_BITS)


def loop_synapse(
    tau=0.1, dt=0.001, decode_tau=DECODE_TAU, delay_steps=DEFAULT_DELAY_STEPS
):
    """The filter that a decoded on-chip recurrent connection applies.

    A connection from an on-chip ensemble back to an on-chip ensemble with
    ``synapse=Lowpass(tau)`` passes through two quantised Lowpass filters
    (the connection's, on the decode neurons, and ``decode_tau``, on the
    postsynaptic ensemble) and a few steps of axon delay. This returns

    ``H(z) = (1 - a1) (1 - a2) / (z^k (z - a1) (z - a2))``

    with ``a1, a2`` the `quantized_pole` of ``tau`` and ``decode_tau`` and
    ``k = delay_steps``, as a discrete `nengo.LinearFilter`: give it to
    `.LMUMemory` as ``mapping_synapse`` (keeping ``synapse=Lowpass(tau)``)
    to map the memory onto the loop the chip runs.

    Parameters
    ----------
    tau : float
        Time constant of the recurrent connection's Lowpass synapse (> 0).
    dt : float
        Simulator time step in seconds.
    decode_tau : float
        NengoLoihi's ``Model.decode_tau`` (>= 0; 0 removes that filter).
    delay_steps : int
        Extra steps of delay in the loop (>= 0). `DEFAULT_DELAY_STEPS` is the
        value that gave the lowest delay-task error on the emulator.

    Returns
    -------
    synapse : nengo.LinearFilter
        Discrete (``analog=False``), all-pole, unit gain at DC.

    Examples
    --------
    >>> synapse = loop_synapse(tau=0.1, dt=0.001)
    >>> memory = LMUMemory(theta=1.0, order=6, neurons_per_dimension=100,
    ...                    synapse=nengo.Lowpass(0.1), mapping_synapse=synapse)
    """
    tau = check_positive_finite(tau, "tau")
    dt = check_positive_finite(dt, "dt")
    decode_tau = check_nonnegative(decode_tau, "decode_tau")
    delay_steps = check_count(delay_steps, "delay_steps", low=0)
    poles = [quantized_pole(tau, dt)]
    if decode_tau > 0:
        poles.append(quantized_pole(decode_tau, dt))
    den = np.poly(poles + [0.0] * delay_steps)
    num = np.array([np.prod([1.0 - a for a in poles])])
    return nengo.LinearFilter(num, den, analog=False)


def supported_neuron_types():
    """The neuron types that NengoLoihi can put on the chip.

    Read from NengoLoihi's builder (its registered neuron builders), so it
    follows the installed version; subclasses of these types are supported
    too. Needs NengoLoihi.

    Returns
    -------
    types : tuple of type
    """
    from nengo_loihi.builder import Builder  # pylint: disable=import-outside-toplevel

    return tuple(
        cls
        for cls in Builder.builders
        if isinstance(cls, type)
        and issubclass(cls, nengo.neurons.NeuronType)
        and cls is not nengo.neurons.NeuronType
    )


def _type_names(types):
    return ", ".join(sorted(t.__name__ for t in types))


def _check_neuron_type(neuron_type, attr="neuron_type", obj=None):
    """Raise a ValidationError if ``neuron_type`` cannot run on the chip."""
    supported = supported_neuron_types()
    if not isinstance(neuron_type, supported):
        raise ValidationError(
            f"{type(neuron_type).__name__} cannot be simulated on Loihi; the "
            f"supported neuron types are {_type_names(supported)} (and "
            "RegularSpiking of LIFRate or RectifiedLinear), or mark the ensemble "
            "off-chip with net.config[ens].on_chip = False",
            attr=attr,
            obj=obj,
        )
    if isinstance(neuron_type, nengo.RegularSpiking) and type(
        neuron_type.base_type
    ) not in (nengo.LIFRate, nengo.RectifiedLinear):
        raise ValidationError(
            f"RegularSpiking({type(neuron_type.base_type).__name__}) cannot be "
            "simulated on Loihi; only LIFRate and RectifiedLinear base types can",
            attr=attr,
            obj=obj,
        )


def loop_defaults(theta, dt=0.001, input_high=None, input_rms=None):
    """The recurrent synapse and loop delay `memory_kwargs` chooses.

    The rule, from the lowest errors measured on the emulator
    (``docs/guide/loihi.rst``, order 6, 100 neurons per dimension): the
    synapse grows with the square root of the window,
    ``tau = TAU_AT_ONE_SECOND * sqrt(theta / 1 s)`` rounded to whole steps
    (at least 2), and the loop delay with the synapse,
    ``delay_steps = round(DELAY_STEPS_PER_TAU * tau)`` (at least 1). For a
    1 s window that is 100 ms and 8 steps (best for a 1 Hz input; a white
    400 Hz input did 3% better with 50 ms); for B5's 0.196 s window 44 ms
    and 4 steps (best for a 5 Hz input, within 2% of the best for B5's
    white pixels, where the old defaults, 100 ms and 8 steps, did 33%
    worse).

    The input class (``input_high``, ``input_rms``) sets the memory's scaling
    (`memory_kwargs` passes it on), not the loop: for both windows the slow
    and the white input had their best synapse within a factor of two, and
    the window's rule within 3% of each best. Where the input or the
    neurons differ from those measured, `calibrate_memory` measures the
    candidates around this choice on the emulator.

    Parameters
    ----------
    theta : float
        Window length in seconds.
    dt : float
        Simulator time step in seconds.
    input_high, input_rms : float, optional
        The input class (checked; see above).

    Returns
    -------
    tau : float
        Time constant of the recurrent Lowpass synapse, seconds.
    delay_steps : int
        Loop delay for `loop_synapse`.

    Examples
    --------
    >>> loop_defaults(1.0)
    (0.1, 8)
    >>> loop_defaults(0.196, input_high=400, input_rms=0.5)
    (0.044, 4)
    """
    theta = check_positive_finite(theta, "theta")
    dt = check_positive_finite(dt, "dt")
    for name, value in (("input_high", input_high), ("input_rms", input_rms)):
        if value is not None:
            check_positive_finite(value, name)
    steps = max(2, int(np.round(TAU_AT_ONE_SECOND * np.sqrt(theta) / dt)))
    tau = float(np.round(steps * dt, 12))
    delay_steps = max(1, int(np.round(DELAY_STEPS_PER_TAU * tau)))
    return tau, delay_steps


def memory_kwargs(
    theta,
    order,
    neurons_per_dimension=100,
    tau=None,
    dt=0.001,
    decode_tau=DECODE_TAU,
    delay_steps=None,
    neuron_type=None,
    input_high=None,
    input_rms=None,
    **overrides,
):
    """Keyword arguments for an `.LMUMemory` that is accurate on Loihi.

    The recommended on-chip memory, measured on the emulator with the delay
    task (``docs/guide/loihi.rst``): one ``order``-dimensional ensemble per
    input dimension (``ensemble_dimensions=order``; arrays of 1-D ensembles
    need weights too small for the chip's 8-bit weights), the balanced
    realisation, spiking rectified-linear neurons firing at 100-120 Hz, and
    the recurrence mapped onto `loop_synapse`, with the synapse and the loop
    delay chosen for the window (`loop_defaults`) unless given.

    Parameters
    ----------
    theta : float
        Window length in seconds.
    order : int
        Legendre coefficients per input dimension.
    neurons_per_dimension : int
        Neurons per state dimension (the ensemble has ``neurons_per_dimension * order``;
        NengoLoihi splits ensembles over cores of 1024 compartments itself).
    tau : float, optional
        Time constant of the recurrent Lowpass synapse; default from
        `loop_defaults` (0.1 s for a 1 s window, 44 ms for 0.196 s).
    dt : float
        Simulator time step.
    decode_tau : float
        NengoLoihi's ``Model.decode_tau``; pass a different value to
        `loihi_model` too.
    delay_steps : int, optional
        Extra loop delay for `loop_synapse`; default from `loop_defaults`
        (8 steps for a 100 ms synapse, 4 for 44 ms; for a given ``tau``,
        ``round(DELAY_STEPS_PER_TAU * tau)``).
    neuron_type : nengo.neurons.NeuronType, optional
        Default ``nengo.SpikingRectifiedLinear()`` with zero initial voltage,
        as on the chip (NengoLoihi's ``LoihiSpikingRectifiedLinear`` gave
        identical results on the emulator). Must be a type that Loihi runs
        (see `supported_neuron_types`), or ``nengo.RectifiedLinear`` /
        ``nengo.LIFRate``, the rate twins that a network is trained with
        before `nengo_lmu.spiking.to_spiking`; checked when NengoLoihi is
        installed.
    input_high : float, optional
        Highest input frequency in Hz the memory is scaled for: the input
        class. Default ``1 / theta`` (a slow input); give the band of a
        white input (B5's permuted pixels: 400, below the 500 Hz Nyquist
        frequency), else its states overshoot the neurons' range. It does
        not change the loop (see `loop_defaults`).
    input_rms : float, optional
        Input RMS the memory is scaled for (`.LinearNetwork`'s default
        if None; B5's pixels: 0.5 for an RMS of 0.34 around a mean of 0.14).
    **overrides
        Any other `.LMUMemory` argument (``size_in``, ``seed``, ``label``,
        ensemble keywords), overriding the defaults here.

    Returns
    -------
    kwargs : dict
        For ``LMUMemory(**kwargs)``.

    Examples
    --------
    >>> with nengo.Network(seed=0) as net:
    ...     memory = LMUMemory(**memory_kwargs(theta=1.0, order=6))
    """
    if neuron_type is None:
        # the chip starts every voltage at zero; so does this, in Nengo too
        neuron_type = nengo.SpikingRectifiedLinear(
            initial_state={"voltage": nengo.dists.Choice([0])}
        )
    check_neuron_type(neuron_type)
    try:
        _check_neuron_type(_as_spiking(neuron_type))
    except ImportError:  # no NengoLoihi: the check happens in check_loihi
        pass
    rule_tau, rule_delay = loop_defaults(theta, dt, input_high, input_rms)
    if tau is None:
        tau, delay_steps = rule_tau, rule_delay if delay_steps is None else delay_steps
    elif delay_steps is None:  # the delay that goes with the given synapse
        tau = check_positive_finite(tau, "tau")
        delay_steps = max(1, int(np.round(DELAY_STEPS_PER_TAU * tau)))
    kwargs = dict(
        theta=theta,
        order=order,
        neurons_per_dimension=neurons_per_dimension,
        synapse=nengo.Lowpass(check_positive_finite(tau, "tau")),
        mapping_synapse=loop_synapse(tau, dt, decode_tau, delay_steps),
        dt=dt,
        neuron_type=neuron_type,
        realization="balanced",
        ensemble_dimensions=order,
        max_rates=DEFAULT_MAX_RATES,
    )
    if input_high is not None:
        kwargs["input_high"] = input_high
    if input_rms is not None:
        kwargs["input_rms"] = input_rms
    kwargs.update(overrides)
    return kwargs


def lmu_kwargs(theta, order, neurons_per_dimension=100, **kwargs):
    """`.LMU` arguments for a neural memory that is accurate on Loihi.

    `memory_kwargs` for the LMU's memory, as the LMU takes them: pass the
    result as ``LMU(size_in, memory_d, order, theta, ..., **lmu_kwargs(theta,
    order))``. Keyword arguments go to `memory_kwargs` (``tau``,
    ``delay_steps``, ``neuron_type``, ``input_rms``, ``input_high``, ...).

    For an LMU with ``steps_per_sample=k`` give the memory's simulated window
    here, ``k * theta`` (the loop and the scaling follow the simulated time).

    For training in NengoDL give ``neuron_type=nengo.RectifiedLinear()`` (the
    rate twin; `nengo_lmu.spiking.to_spiking` swaps it for spiking neurons
    afterwards and leaves the memory's rates as they are).

    Returns
    -------
    kwargs : dict
        ``memory_neurons_per_dimension`` and ``memory_kwargs``.

    Examples
    --------
    >>> with nengo.Network(seed=0) as net:
    ...     lmu = LMU(1, 1, 6, 1.0, hidden_units=10,
    ...               hidden_neuron_type=nengo.RectifiedLinear(),
    ...               **lmu_kwargs(1.0, 6, neurons_per_dimension=100))
    """
    memory = memory_kwargs(
        theta, order, neurons_per_dimension=neurons_per_dimension, **kwargs
    )
    for name in ("theta", "order", "dt"):
        memory.pop(name)
    return {
        "memory_neurons_per_dimension": memory.pop("neurons_per_dimension"),
        "memory_kwargs": memory,
    }


class MemoryCalibration:
    """What `calibrate_memory` measured.

    Attributes
    ----------
    tau : float
        The best candidate's recurrent synapse.
    delay_steps : int
        The best candidate's loop delay.
    nrmse : float
        Its error (see `memory_nrmse`).
    errors : dict
        The error of every candidate, by ``(tau, delay_steps)``.
    """

    def __init__(self, errors):
        self.errors = dict(errors)
        (self.tau, self.delay_steps), self.nrmse = min(
            self.errors.items(), key=lambda item: item[1]
        )

    def kwargs(self):
        """``tau`` and ``delay_steps``, for `memory_kwargs` / `lmu_kwargs`."""
        return {"tau": self.tau, "delay_steps": self.delay_steps}

    def __str__(self):
        lines = ["    tau  delay_steps   NRMSE"]
        for (tau, k), err in sorted(self.errors.items()):
            best = "  (best)" if (tau, k) == (self.tau, self.delay_steps) else ""
            lines.append(f"{tau:7.4f}  {k:11d}  {err:6.3f}{best}")
        return "\n".join(lines)

    def __repr__(self):
        return (
            f"<MemoryCalibration: tau={self.tau:g}, delay_steps={self.delay_steps}, "
            f"nrmse={self.nrmse:.3f}>"
        )


def _input_node(input_process, dt):
    """A Node giving ``input_process``: a nengo Process, or an array of
    samples (one per step, repeated)."""
    if isinstance(input_process, nengo.Process):
        return nengo.Node(input_process, size_out=1, label="input")
    try:
        values = np.asarray(input_process, dtype=float).reshape(-1, 1)
    except (TypeError, ValueError):
        values = None
    if values is None or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValidationError(
            "must be a nengo Process with one output dimension or a 1-D array of "
            "finite input samples (one per step)",
            attr="input_process",
        )
    return nengo.Node(nengo.processes.PresentInput(values, dt), label="input")


def memory_nrmse(
    theta,
    order,
    input_process,
    duration=None,
    tau=None,
    delay_steps=None,
    neurons_per_dimension=100,
    dt=0.001,
    seed=0,
    probe_synapse=0.005,
    **kwargs,
):
    """The on-chip memory's error on the NengoLoihi emulator.

    Builds one `.LMUMemory` from `memory_kwargs` (with ``tau``,
    ``delay_steps`` and ``kwargs``) fed by ``input_process``, runs it on the
    emulator (``target="sim"``) for ``duration`` seconds, and compares its
    state with the exact Legendre memory (zero-order hold at ``dt``) of the
    same input samples: both filtered by ``Lowpass(probe_synapse)``, the
    first ``theta`` seconds left out,
    ``NRMSE = sqrt(sum (m - m_exact)**2 / sum m_exact**2)`` over all
    coefficients. Needs NengoLoihi.

    Parameters
    ----------
    theta, order
        The memory.
    input_process : nengo.Process or array_like
        The input: a Process with one output (e.g.
        ``nengo.processes.WhiteSignal(10, high=1, rms=0.3)``), or samples, one
        per step.
    duration : float, optional
        Seconds to run; default ``10 * theta``, or the samples' length.
    tau, delay_steps : optional
        As for `memory_kwargs` (default `loop_defaults`).
    neurons_per_dimension, dt
        As for `memory_kwargs`.
    seed : int
        Network seed.
    probe_synapse : float
        Filter on both states before comparing (5 ms, as B5's measurements).
    **kwargs
        Further `memory_kwargs` arguments (``input_high``, ``input_rms``,
        ``neuron_type``, ``max_rates``, ...).

    Returns
    -------
    nrmse : float
    """
    import nengo_loihi  # pylint: disable=import-outside-toplevel
    import scipy.signal  # pylint: disable=import-outside-toplevel

    from nengo_lmu.networks.memory import (  # pylint: disable=import-outside-toplevel
        LMUMemory,
    )

    theta = check_positive_finite(theta, "theta")
    dt = check_positive_finite(dt, "dt")
    probe_synapse = check_nonnegative(probe_synapse, "probe_synapse")
    with nengo.Network(seed=seed) as net:
        stim = _input_node(input_process, dt)
        if duration is None:
            samples = getattr(stim.output, "inputs", None)
            duration = 10 * theta if samples is None else len(samples) * dt
        duration = check_positive_finite(duration, "duration")
        memory = LMUMemory(
            **memory_kwargs(
                theta,
                order,
                neurons_per_dimension=neurons_per_dimension,
                tau=tau,
                dt=dt,
                delay_steps=delay_steps,
                **kwargs,
            )
        )
        nengo.Connection(stim, memory.input, synapse=None)
        p_input = nengo.Probe(stim, synapse=None)
        p_state = nengo.Probe(memory.output, synapse=None)
    steps = int(np.round(duration / dt))
    skip = int(np.round(theta / dt))
    if steps <= skip:
        raise ValidationError(
            f"must be longer than theta ({theta:g} s), got {duration:g}",
            attr="duration",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NengoLoihi's notes on its settings
        with nengo_loihi.Simulator(net, dt=dt, target="sim", progress_bar=False) as sim:
            sim.run_steps(steps)
    u = sim.data[p_input][:, 0]
    A, B = legendre_matrices(order)
    Abar, Bbar, *_ = scipy.signal.cont2discrete(
        (A / theta, B / theta, np.eye(order), np.zeros((order, 1))), dt
    )
    exact = np.zeros((steps, order))
    m = np.zeros(order)
    for i, value in enumerate(u):
        m = Abar @ m + Bbar[:, 0] * value
        exact[i] = m
    state = sim.data[p_state]
    if probe_synapse > 0:
        lowpass = nengo.Lowpass(probe_synapse)
        exact = lowpass.filt(exact, dt=dt, y0=0)
        state = lowpass.filt(state, dt=dt, y0=0)
    err = state[skip:] - exact[skip:]
    return float(np.sqrt(np.sum(err**2) / np.sum(exact[skip:] ** 2)))


def default_candidates(theta, dt=0.001):
    """The ``(tau, delay_steps)`` pairs `calibrate_memory` tries by default:
    `loop_defaults`' choice, half and twice its synapse (each with the delay
    that goes with it), and its synapse with half and twice its delay."""
    tau, k = loop_defaults(theta, dt)
    pairs = [(tau, k)]
    for scale in (0.5, 2.0):
        other = max(2 * dt, float(np.round(scale * tau / dt) * dt))
        pairs.append(
            (
                float(np.round(other, 12)),
                max(1, int(np.round(DELAY_STEPS_PER_TAU * other))),
            )
        )
    pairs += [(tau, max(0, k // 2)), (tau, 2 * k)]
    return list(dict.fromkeys(pairs))


def calibrate_memory(
    theta, order, input_process, candidates=None, duration=None, dt=0.001, **kwargs
):
    """Measure the on-chip memory for a few loop settings; keep the best.

    Runs `memory_nrmse` on the NengoLoihi emulator for each candidate
    ``(tau, delay_steps)`` (the recurrent synapse and the loop delay of
    `loop_synapse`) with the given input, and returns them all with the
    best. Use it where the input or the neurons differ from those
    `loop_defaults` was measured with; pass the result's `~.MemoryCalibration.kwargs`
    to `memory_kwargs` or `lmu_kwargs`. Each candidate is one emulator run
    of ``duration`` seconds.

    Parameters
    ----------
    theta : float
        Window in seconds.
    order : int
        Legendre coefficients.
    input_process : nengo.Process or array_like
        The input the memory will see (see `memory_nrmse`).
    candidates : list of (float, int), optional
        ``(tau, delay_steps)`` pairs; default `default_candidates` (five).
    duration : float, optional
        Seconds per run (default ``10 * theta``, or the samples' length).
    dt : float
        Simulator time step.
    **kwargs
        `memory_nrmse` options (``neurons_per_dimension``, ``seed``,
        ``probe_synapse``) and `memory_kwargs` options (``input_high``,
        ``input_rms``, ``neuron_type``, ...), the same for every candidate.

    Returns
    -------
    calibration : MemoryCalibration

    Examples
    --------
    >>> white = nengo.processes.WhiteSignal(2, high=400, rms=0.34, seed=0)
    >>> best = calibrate_memory(0.2, 6, white, input_high=400, input_rms=0.5)
    >>> memory = LMUMemory(**memory_kwargs(0.2, 6, input_high=400,
    ...                                    input_rms=0.5, **best.kwargs()))
    """
    if candidates is None:
        candidates = default_candidates(theta, dt)
    try:
        pairs = [(tau, delay) for tau, delay in candidates]
    except (TypeError, ValueError):
        pairs = []
    if not pairs:
        raise ValidationError(
            "must be a non-empty list of (tau, delay_steps) pairs",
            attr="candidates",
        )
    checked = [
        (
            check_positive_finite(tau, "tau"),
            check_count(delay, "delay_steps", low=0),
        )
        for tau, delay in pairs
    ]
    return MemoryCalibration(
        {
            (tau, delay): memory_nrmse(
                theta,
                order,
                input_process,
                duration=duration,
                tau=tau,
                delay_steps=delay,
                dt=dt,
                **kwargs,
            )
            for tau, delay in checked
        }
    )


def loihi_model(dt=0.001, decode_tau=DECODE_TAU):
    """A NengoLoihi ``Model`` with the given ``decode_tau``.

    Pass it to ``nengo_loihi.Simulator(net, dt=dt, model=model)`` when the
    memory was made with a ``decode_tau`` other than NengoLoihi's default
    (with the default, the Simulator's own model is the same).

    Returns
    -------
    model : nengo_loihi.builder.Model
    """
    require("nengo_loihi", what="loihi_model")
    from nengo_loihi.builder import Model  # pylint: disable=import-outside-toplevel

    model = Model(dt=check_positive_finite(dt, "dt"))
    model.decode_tau = decode_tau
    return model


class LoihiReport:
    """What `check_loihi` found: where things go, and what the build lost.

    Attributes
    ----------
    on_chip, off_chip : list of nengo.Ensemble
        Ensembles placed on the chip and on the host.
    n_blocks : int
        Loihi blocks (one core each) after NengoLoihi split the ensembles,
        decode neurons and input neurons over cores.
    n_compartments : int
        Compartments (neurons) on the chip, decode neurons included.
    lost_weight_bits : list of int
        The ``N`` of each of NengoLoihi's "Lost N extra bits in weight
        rounding" warnings (weights too small for their synapse's shared
        exponent lose precision); empty if none.
    warnings : list of str
        Every other warning the build raised.
    model : nengo_loihi.builder.Model
        The built model (``model.utilization_summary()`` gives per-core use).
    """

    def __init__(self, on_chip, off_chip, model, caught):
        self.on_chip = on_chip
        self.off_chip = off_chip
        self.model = model
        self.n_blocks = len(model.blocks)
        self.n_compartments = sum(b.compartment.n_compartments for b in model.blocks)
        self.lost_weight_bits = []
        self.warnings = []
        for w in caught:
            text = str(w.message)
            if text.startswith("Lost ") and "weight rounding" in text:
                self.lost_weight_bits.append(int(text.split()[1]))
            elif text not in self.warnings:
                self.warnings.append(text)

    def __str__(self):
        lines = [
            f"on chip: {len(self.on_chip)} ensemble(s) "
            f"({sum(e.n_neurons for e in self.on_chip)} neurons); "
            f"off chip: {len(self.off_chip)} ensemble(s)",
            f"{self.n_blocks} block(s)/core(s), {self.n_compartments} compartments "
            "(decode and input neurons included)",
        ]
        if self.lost_weight_bits:
            lines.append(
                f"weight rounding lost up to {max(self.lost_weight_bits)} extra "
                f"bit(s) ({len(self.lost_weight_bits)} warning(s))"
            )
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __repr__(self):
        return f"<LoihiReport: {self.n_blocks} blocks, {len(self.on_chip)} on chip>"


def _as_spiking(neuron_type):
    """The type a rate memory runs as on the chip, after `to_spiking`
    (rate types without a twin are left for the chip check to refuse)."""
    try:
        return spiking_twin(neuron_type)
    except ValidationError:
        return neuron_type


def _loops_through_host(objs, conns, on_chip):
    """Cycles of the connection graph that contain on-chip and host objects."""
    from scipy.sparse import coo_matrix  # pylint: disable=import-outside-toplevel
    from scipy.sparse.csgraph import (  # pylint: disable=import-outside-toplevel
        connected_components,
    )

    index = {obj: i for i, obj in enumerate(objs)}
    edges = [
        (index[base_object(c.pre)], index[base_object(c.post)])
        for c in conns
        if base_object(c.pre) in index and base_object(c.post) in index
    ]
    if not edges:
        return []
    rows, cols = np.array(edges).T
    graph = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(objs),) * 2)
    _, labels = connected_components(graph, directed=True, connection="strong")
    loops = []
    for label in np.unique(labels):
        members = [objs[i] for i in np.flatnonzero(labels == label)]
        if len(members) > 1 and any(on_chip(m) for m in members):
            host = [m for m in members if not on_chip(m)]
            if host:
                loops.append((members, host))
    return loops


def _check_host_objects(network):
    """Refuse what only NengoDL runs (a trainable-theta memory, TensorNodes):
    NengoLoihi's build accepts them and its simulator fails at the first step."""
    for net in [network] + network.all_networks:
        if getattr(net, "nengo_dl_only", False):
            raise ValidationError(
                f"{net} runs in NengoDL only ({type(net).__name__}: a trainable "
                "theta on the zero-order-hold memory, in a TensorNode); build the "
                "LMU again with the learned theta "
                "(nengo_lmu.dl.lmu_weights(sim, lmu)['theta']) and "
                "trainable_theta=False",
                attr="network",
            )
    for node in network.all_nodes:
        if type(node).__module__.split(".")[0] == "nengo_dl":
            raise ValidationError(
                f"{node} is a {type(node).__name__}, which runs in NengoDL only",
                attr="network",
            )


def _where(error):
    """``file:line`` of the innermost frame of ``error``'s traceback."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "unknown place"
    code = tb.tb_frame.f_code
    return f"{code.co_filename.split('site-packages/')[-1]}:{tb.tb_lineno}"


def check_loihi(network, dt=0.001, model=None):
    """Check that ``network`` can go on Loihi, before simulating it.

    Runs NengoLoihi's placement (which ensembles go on the chip) and first
    checks, with messages that name the offending object:

    * there is no NengoDL-only ``TensorNode`` (such as an `~nengo_lmu.LMU`'s
      trainable-theta memory), which NengoLoihi's build would take as a host
      Node but cannot run;

    * each on-chip ensemble's neuron type is one that Loihi runs
      (`supported_neuron_types`), and it has no ``noise``;
    * each connection between on-chip objects has a ``Lowpass`` synapse or
      none (the chip has no other filters);
    * no recurrent loop through an on-chip ensemble passes through the host
      (a Node that NengoLoihi cannot remove as a passthrough, or an off-chip
      ensemble): such a loop would be split between host and chip.

    Objects that run in NengoDL only (a trainable-theta memory, TensorNodes)
    are refused. It then builds the network for the chip (split over cores,
    discretised and validated, and the emulator set up, as
    ``nengo_loihi.Simulator`` does, without simulating) and re-raises any
    build failure (weights it cannot quantise, cores over their limits, an
    internal assertion of NengoLoihi) as a BuildError with the reason.
    NengoLoihi's build adds its config parameters (``on_chip`` etc.) to
    ``network.config``, as the Simulator does.

    Parameters
    ----------
    network : nengo.Network
    dt : float
        Simulator time step.
    model : nengo_loihi.builder.Model, optional
        A model with non-default settings (for example from `loihi_model`);
        a fresh model is built into, so the same one cannot be passed to the
        Simulator afterwards.

    Returns
    -------
    report : LoihiReport

    Raises
    ------
    nengo.exceptions.ValidationError
        An object that cannot go on the chip, named, with why.
    nengo.exceptions.BuildError
        NengoLoihi's build failed; the message says why.

    Examples
    --------
    >>> with nengo.Network(seed=0) as net:
    ...     memory = LMUMemory(**memory_kwargs(theta=1.0, order=6))
    >>> print(check_loihi(net))  # doctest: +SKIP
    """
    require("nengo_loihi", what="check_loihi")
    # pylint: disable=import-outside-toplevel
    from nengo_loihi.builder import Model
    from nengo_loihi.emulator import EmulatorInterface
    from nengo_loihi.splitter import Split

    if not isinstance(network, nengo.Network):
        raise ValidationError(
            f"must be a nengo.Network, got {type(network).__name__}", attr="network"
        )
    dt = check_positive_finite(dt, "dt")
    _check_host_objects(network)
    split = Split(network, remove_passthrough=True)

    def on_chip(obj):
        return isinstance(obj, (nengo.Ensemble, nengo.Node)) and split.on_chip(obj)

    ensembles = network.all_ensembles
    chip = [e for e in ensembles if on_chip(e)]
    if not chip:
        raise ValidationError(
            "has no ensemble on the chip (every ensemble is marked on_chip=False "
            "or uses Direct neurons)",
            attr="network",
        )
    for ens in chip:
        _check_neuron_type(ens.neuron_type, attr="neuron_type", obj=ens)
        if ens.noise is not None:
            raise ValidationError(
                "ensemble noise cannot be simulated on Loihi; remove it or mark "
                "the ensemble off-chip",
                attr="noise",
                obj=ens,
            )

    passthrough = split.passthrough
    conns = (set(network.all_connections) | passthrough.to_add) - passthrough.to_remove
    conns = sorted(conns, key=str)
    for conn in conns:
        pre, post = base_object(conn.pre), base_object(conn.post)
        if (
            on_chip(pre)
            and on_chip(post)
            and conn.synapse is not None
            and not isinstance(conn.synapse, nengo.Lowpass)
        ):
            raise ValidationError(
                f"{conn.synapse} cannot run on Loihi, which filters on-chip "
                "connections only with nengo.Lowpass (or synapse=None); to realise "
                "a higher-order filter, keep Lowpass and map onto it with "
                "nengo_lmu.loihi.loop_synapse",
                attr="synapse",
                obj=conn,
            )

    objs = [
        o
        for o in network.all_ensembles + network.all_nodes
        if o not in passthrough.to_remove
    ]
    for members, host in _loops_through_host(objs, conns, on_chip):
        chip_members = ", ".join(str(m) for m in members if on_chip(m))
        raise ValidationError(
            f"a recurrent loop through on-chip {chip_members} passes through the "
            f"host via {', '.join(str(h) for h in host)}; each pass would cross "
            "between host and chip. Connect the loop ensemble to ensemble: "
            "NengoLoihi removes only passthrough Nodes (no output function) "
            "between on-chip objects, and off-chip ensembles stay on the host",
            attr="network",
        )

    model = Model(dt=dt) if model is None else model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.build(network)
            # what nengo_loihi.Simulator builds next: the chip's emulator
            # (its own checks and assertions run here, not at the first step)
            EmulatorInterface(model, seed=0).close()
        except AssertionError as error:
            # an internal NengoLoihi assertion: never a bare AssertionError
            raise BuildError(
                f"NengoLoihi cannot build {network} for Loihi: an internal check "
                f"of NengoLoihi failed ({_where(error)}: {error or 'assert'}); "
                "the network (often a block's weights or the cores' limits) is "
                "outside what NengoLoihi handles"
            ) from error
        except (BuildError, NotImplementedError, ValidationError) as error:
            hint = ""
            if "weight exponent" in str(error):
                hint = (
                    " (the weights into this block span more than the chip's "
                    "8-bit weights with one shared exponent can hold: use fewer, "
                    "higher-dimensional ensembles, e.g. ensemble_dimensions=order, "
                    "or drop tiny transform entries)"
                )
            raise BuildError(
                f"NengoLoihi cannot build {network} for Loihi: "
                f"{type(error).__name__}: {error}{hint}"
            ) from error
    return LoihiReport(chip, [e for e in ensembles if e not in chip], model, caught)
