"""`CubaLIF`: a Nengo neuron type that steps exactly as NIR consumers do.

NIR's ``CubaLIF`` is a current-based leaky integrate-and-fire neuron in
continuous time (``tau_syn dI/dt = -I + w_in S``, ``tau_mem dv/dt = v_leak - v
+ r I``, a spike when ``v > v_threshold``, then ``v = v_reset``), with no
refractory period and no floor on the voltage. Consumers step it with Euler at
their own ``dt``, each spike counting as an input of 1 in the step it happens
(Norse 1.1.0, and `nengo_lmu.nir.simulate`). `CubaLIF` is that update as a
Nengo neuron type, with the synapse inside the neuron, so that Nengo solves
decoders for what the consumer will run and a network of them exports to NIR
exactly (`nengo_lmu.nir.to_nir`).
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError
from nengo.params import NumberParam

from nengo_lmu._validation import check_positive_finite

__all__ = ["CubaLIF", "euler_lowpass", "memory_options", "undelay_input"]


class CubaLIF(nengo.neurons.NeuronType):
    """NIR's CubaLIF neuron as NIR consumers step it (Euler, no refractory).

    Each step, with ``J`` the neuron's input (bias included, *unfiltered*:
    connections into these neurons take ``synapse=None``, or ``synapse=0``
    where they close a loop)::

        current += dt / tau_syn * (J - current)
        voltage += dt / tau_mem * (current - voltage)
        spike = voltage > 1;  voltage[spike] = 0

    which is Norse 1.1.0's update of an imported NIR ``CubaLIF`` with
    ``r = w_in = v_threshold = 1``, ``v_leak = v_reset = 0``. Each spike is an
    impulse of ``amplitude / dt``, as for every Nengo neuron. The synaptic
    filter is Euler's discrete lowpass, pole ``1 - dt / tau_syn``; `euler_lowpass`
    gives the Nengo synapse with that pole, onto which a linear system is
    mapped (`memory_options`).

    The rate for a constant ``J > 1``: the voltage reaches threshold after
    ``n(J) = log(1 - 1/J) / log(1 - dt / tau_mem)`` steps, and the reset drops
    whatever was above the threshold, so the neuron fires every
    ``floor(n) + 1`` steps,
    a staircase
    which `rates` returns (Nengo solves decoders on it).

    Parameters
    ----------
    tau_syn : float
        Synaptic time constant in seconds (NIR's ``tau_syn``).
    tau_mem : float
        Membrane time constant in seconds (NIR's ``tau_mem``).
    amplitude : float
        Scaling factor on the output (as in every Nengo neuron type).
    initial_state : dict, optional
        Initial ``current`` and ``voltage`` (NIR consumers start at 0).

    Examples
    --------
    >>> neuron = CubaLIF(tau_syn=0.005, tau_mem=0.02)
    >>> rate = neuron.rates(np.array([2.0]), 1.0, 0.0, dt=0.001)
    """

    state = {"current": nengo.dists.Choice([0]), "voltage": nengo.dists.Choice([0])}
    spiking = True

    tau_syn = NumberParam("tau_syn", low=0, low_open=True)
    tau_mem = NumberParam("tau_mem", low=0, low_open=True)
    amplitude = NumberParam("amplitude", low=0, low_open=True)

    def __init__(self, tau_syn=0.005, tau_mem=0.02, amplitude=1.0, initial_state=None):
        super().__init__(initial_state=initial_state)
        self.amplitude = check_positive_finite(amplitude, "amplitude", self)
        self.tau_syn = check_positive_finite(tau_syn, "tau_syn", self)
        self.tau_mem = check_positive_finite(tau_mem, "tau_mem", self)

    def _steps(self, J, dt):
        """Steps from reset to threshold for constant input ``J`` (inf if J <= 1)."""
        J = np.asarray(J, dtype=float)
        q = 1.0 - dt / self.tau_mem
        n = np.full(J.shape, np.inf)
        above = J > 1
        if q <= 0:  # the voltage jumps to J in one step
            n[above] = 1.0
            return n
        n[above] = np.log1p(-1.0 / J[above]) / np.log(q)
        return n

    def rates(self, x, gain, bias, dt=0.001):
        """Mean rates for input ``x`` (see the class docstring); ``dt`` is the
        consumer's step (Nengo passes none: the default 1 ms)."""
        J = self.current(x, gain, bias)
        n = self._steps(J, dt)
        with np.errstate(divide="ignore"):
            rate = 1.0 / (dt * (np.floor(n) + 1.0))
        return np.where(np.isfinite(n), rate, 0.0)

    def _current_for_steps(self, n, dt):
        q = 1.0 - dt / self.tau_mem
        return 1.0 / (1.0 - q**n)

    def gain_bias(self, max_rates, intercepts, dt=0.001):
        max_rates = np.atleast_1d(np.asarray(max_rates, dtype=float))
        intercepts = np.atleast_1d(np.asarray(intercepts, dtype=float))
        if np.any(max_rates >= 1.0 / dt):
            raise ValidationError(
                f"max_rates must be below one spike per step ({1 / dt:g} Hz)",
                attr="max_rates",
                obj=self,
            )
        n = 1.0 / (dt * max_rates) - 0.5
        j_max = self._current_for_steps(np.maximum(n, 1e-9), dt)
        gain = (j_max - 1.0) / (1.0 - intercepts)
        bias = 1.0 - gain * intercepts
        return gain, bias

    def max_rates_intercepts(self, gain, bias, dt=0.001):
        gain, bias = np.asarray(gain, float), np.asarray(bias, float)
        intercepts = (1.0 - bias) / gain
        max_rates = self.rates(np.ones_like(gain), gain, bias, dt=dt)
        return max_rates, intercepts

    def step(self, dt, J, output, current, voltage):
        current += (dt / self.tau_syn) * (J - current)
        voltage += (dt / self.tau_mem) * (current - voltage)
        spiked = voltage > 1.0
        output[...] = spiked * (self.amplitude / dt)
        voltage[spiked] = 0.0


def euler_lowpass(tau_syn, dt):
    """The Nengo ``Lowpass`` whose discrete pole equals Euler's, ``1 - dt/tau_syn``.

    Nengo discretises ``Lowpass(tau)`` with the pole ``exp(-dt / tau)``; an
    Euler-stepping NIR consumer's synapse has the pole ``1 - dt / tau_syn``.
    They are equal for ``tau = -dt / log(1 - dt / tau_syn)``.
    """
    tau_syn = check_positive_finite(tau_syn, "tau_syn")
    dt = check_positive_finite(dt, "dt")
    if tau_syn <= dt:
        raise ValidationError(
            f"must be longer than one step (dt={dt:g} s) for a decaying Euler "
            f"synapse, got {tau_syn:g}",
            attr="tau_syn",
        )
    return nengo.Lowpass(-dt / np.log1p(-dt / tau_syn))


def memory_options(tau_syn=0.1, tau_mem=0.02, dt=0.001, max_rates=None):
    """Keyword arguments that make an `.LMUMemory` (or `.LinearNetwork`) of
    `CubaLIF` neurons, mapped for what an Euler-stepping NIR consumer runs.

    The neurons filter their input themselves, so the connections get
    ``synapse=0`` (the recurrence's one-step delay, which consumers give a
    loop) and the system is mapped onto `euler_lowpass` (``mapping_synapse``).

    Parameters
    ----------
    tau_syn, tau_mem : float
        The neurons' time constants (see `CubaLIF`).
    dt : float
        The step the consumer will run at.
    max_rates : nengo.dists.Distribution, optional
        Default ``Uniform(300, 500)`` Hz (measured in Nengo, the delay memory of
        600 neurons, theta 1 s, order 6, tau_mem 0.02 s: NRMSE of u(t - theta)
        0.082; 0.093 at 200-400 Hz).

    Returns
    -------
    options : dict

    Examples
    --------
    >>> from nengo_lmu import LMUMemory
    >>> with nengo.Network():
    ...     memory = LMUMemory(1.0, 6, neurons_per_dimension=100,
    ...                        **memory_options(tau_syn=0.1))
    """
    return {
        "neuron_type": CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem),
        "synapse": nengo.Lowpass(0),
        "mapping_synapse": euler_lowpass(tau_syn, dt),
        "dt": dt,
        "max_rates": (
            nengo.dists.Uniform(300, 500) if max_rates is None else max_rates
        ),
    }


def undelay_input(memory):
    """Let a `CubaLIF` memory's input reach its neurons in the step it arrives.

    A memory built with `memory_options` gives every connection into its
    ensembles ``synapse=0``, the input's too (a one-step delay, which NIR
    consumers do not apply to a graph's input). Where the memory's input
    must arrive in the same step as other inputs of the exported network (an
    LMU cell's hidden units get the input undelayed), this sets
    ``synapse=None`` on the connections from the input (``memory.input``,
    through its non-finite guard) into the ensembles. The mapping
    is unchanged: a delay of the input only shifts the memory in time.

    Parameters
    ----------
    memory : LinearNetwork
        Built with `CubaLIF` neurons (e.g. ``lmu.memory``).

    Returns
    -------
    memory : LinearNetwork
    """
    if not any(isinstance(e.neuron_type, CubaLIF) for e in memory.all_ensembles):
        raise ValidationError(
            "has no CubaLIF ensembles; only CubaLIF neurons filter their input "
            "themselves",
            attr="memory",
            obj=memory,
        )
    for conn in memory.all_connections:
        # the input reaches the ensembles from a Node (the guarded input)
        if isinstance(conn.pre_obj, nengo.Node) and isinstance(
            conn.post_obj, nengo.Ensemble
        ):
            conn.synapse = None
    return memory
