"""The on-chip loop of the neural memory, and the settings that map onto it.

NengoLoihi realises a decoded connection between two on-chip ensembles
differently from Nengo. The presynaptic spikes drive a small population of
*decode neurons* whose input filter is the connection's ``Lowpass(tau)``; their
spikes reach the postsynaptic ensemble through a second filter,
``Model.decode_tau`` (5 ms by default); each hop adds axon delay; and each
filter's pole is quantised to 12 bits. `loop_synapse` models the on-chip loop
as a discrete all-pole filter, and `memory_kwargs` passes it to `.LMUMemory`
as the ``mapping_synapse``, so that the recurrence is mapped onto the filter
the chip actually applies. NengoLoihi is imported only inside `loihi_model`
(and, through `nengo_lmu.loihi.checks`, inside the neuron-type check).
"""

import nengo
import numpy as np

from nengo_lmu._extras import require
from nengo_lmu._validation import (
    check_count,
    check_neuron_type,
    check_nonnegative,
    check_positive_finite,
)
from nengo_lmu.loihi.checks import _as_spiking, _check_neuron_type

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
