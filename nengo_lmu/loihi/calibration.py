"""Measuring the on-chip memory on the emulator, and choosing its loop.

`memory_nrmse` runs a memory from `memory_kwargs` on the emulator and measures
how well it represents the window; `calibrate_memory` tries a few candidate
loops (`default_candidates`) and returns the best (`MemoryCalibration`).
NengoLoihi is imported inside the functions that run the emulator.
"""

import warnings

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_count,
    check_nonnegative,
    check_positive_finite,
)
from nengo_lmu.loihi.mapping import DELAY_STEPS_PER_TAU, loop_defaults, memory_kwargs
from nengo_lmu.systems import legendre_matrices


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
