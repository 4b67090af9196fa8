"""LMUMemory, the LMU's linear memory, and `lmu_memory`, the LMU's choice of one.

`LMUMemory` is a `.LinearNetwork` of a Legendre delay plus its readouts; its
realisation options are `.LinearNetwork`'s, declared and documented there
only.
"""

import nengo
import numpy as np
import scipy.integrate
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_count,
    check_fraction,
    check_order,
    check_positive_finite,
)
from nengo_lmu.basis import _shifted_legendre, delay_readout, window_readout
from nengo_lmu.networks.defaults import DEFAULT_INTERCEPTS, DEFAULT_SOLVER
from nengo_lmu.networks.guards import removed_on_failure
from nengo_lmu.networks.linear import LinearNetwork
from nengo_lmu.systems import LegendreDelay, LinearSystem, legendre_matrices

__all__ = ["LMUMemory", "lmu_memory", "DEFAULT_INTERCEPTS", "DEFAULT_SOLVER"]

#: Options of `LinearNetwork` that `LMUMemory` sets itself.
_SET_BY_MEMORY = ("system", "copies", "output")


class LMUMemory(LinearNetwork):
    """The memory of a Legendre Memory Unit, ``theta dm/dt = A m + B u``.

    A `.LinearNetwork` of a `~nengo_lmu.systems.LegendreDelay` (one copy per
    input dimension) whose ``output`` is the memory state, plus the window's
    readouts. Each of the ``size_in`` input dimensions gets its own memory of
    ``order`` Legendre coefficients of its last ``theta`` seconds (KerasLMU's
    ``memory_d``). It is realised as `.LinearNetwork` describes, exactly
    (``neurons_per_dimension=None``, the default) or in neurons, with these
    particulars:

    * The exact zero-order hold, ``m[k] = Abar m[k-1] + Bbar u[k]``, is the
      KerasLMU update step for step. With ``discretizer="euler"`` the update
      is ``m[k] = m[k-1] + (dt / theta) (A m[k-1] + B u[k])``: the gain on
      `gain_connection` is ``dt / theta``, so training it in NengoDL trains
      ``1 / theta`` (KerasLMU's trainable theta).
    * A neural memory is scaled for inputs up to ``input_high = 1 / theta``
      Hz unless given. Its defaults (balanced realisation, intercepts
      ``Uniform(-0.3, 0.3)``, ``LstsqL2(reg=0.03)``) each lower the delay
      error measurably (benchmark B1, see the docs).

    ``output`` is the memory state in Legendre coordinates in both cases
    (neural states are decoded and transformed back), so the same readouts
    apply; `add_delay_output` and `add_window_output` build them, and
    `add_output` decodes a nonlinear function of the window.

    Parameters
    ----------
    theta : float
        Window length in seconds (> 0, at least one time step ``dt``).
    order : int
        Legendre coefficients per input dimension (>= 1).
    size_in : int
        Number of input dimensions, each with an independent memory.
    **kwargs
        Passed to `.LinearNetwork` (``neurons_per_dimension``, ``synapse``,
        ``dt``, ``discretizer``, ``neuron_type``, ``input_rms``,
        ``input_high``, ``n_std``, ``realization``, ``ensemble_dimensions``,
        ``mapping_synapse``, ``zero_order``, ``label``, ``seed``,
        ``add_to_container`` and ensemble options), except ``system``,
        ``copies`` and ``output``, which the memory sets. Two differ here:
        ``input_high`` defaults to ``1 / theta`` for a neural memory, and
        ``realization`` is ``"balanced"`` (default) or ``"legendre"`` (the
        Legendre states, scaled; `.LinearNetwork`'s ``"given"``).

    Attributes
    ----------
    theta : float
        The window in seconds.
    order : int
        Legendre coefficients per input dimension.
    output : nengo.Node
        Memory state in Legendre coordinates, ``size_in * order`` dimensions,
        ordered input dimension first: ``output[d * order + i]`` is
        coefficient ``i`` of input dimension ``d`` (the same Node as
        ``state``).
    system : LegendreDelay
        The analog system being realised.

    The other attributes are `.LinearNetwork`'s (``input``, ``state``,
    ``discrete_system``, ``neurons_per_dimension``, ``ensembles``,
    ``mapped_system``, ``state_transform``, ``gain_connection``,
    ``input_delay``), with copies being input dimensions.

    See Also
    --------
    LinearNetwork : the realisation and its options.
    lmu_memory : the memory an `.LMU` builds.

    Notes
    -----
    Inputs arrive at run time, so no build-time check can refuse a NaN or
    an infinite input. If one reaches ``input`` (from a process, or an
    upstream computation; a Node function returning one is already refused
    by Nengo), it propagates and stays: the exact memory's state becomes NaN
    at that step (an infinity becomes NaN one step later, through
    ``inf - inf`` in ``Abar m``) and every later state and readout is NaN,
    since a linear recurrence cannot forget it. The neural memory does the
    same in every backend (Nengo, NengoDL, the NengoLoihi emulator's host):
    its neurons would hide it (a LIF neuron with a NaN voltage never fires
    again, so the decoded state would silently be 0), so its
    ``nonfinite`` Node latches the first non-finite input and makes the
    state, and the readouts, NaN from that step on (see
    `.LinearNetwork.nonfinite`). Only ``sim.reset()`` (or a new simulator)
    clears it. Guard the input upstream (for example with
    ``np.nan_to_num`` in a Node) where it may contain such values.

    Examples
    --------
    >>> with nengo.Network() as net:
    ...     stim = nengo.Node(nengo.processes.WhiteSignal(10, high=1, rms=0.3))
    ...     memory = LMUMemory(theta=1.0, order=6, neurons_per_dimension=100,
    ...                        neuron_type=nengo.SpikingRectifiedLinear())
    ...     nengo.Connection(stim, memory.input, synapse=None)
    ...     delayed = memory.add_delay_output(1.0)
    ...     probe = nengo.Probe(delayed, synapse=0.01)
    """

    REALIZATIONS = ("balanced", "legendre")
    #: Whether the memory runs in NengoDL only (`to_spiking` and
    #: `check_loihi` refuse such a memory by this flag).
    nengo_dl_only = False

    @removed_on_failure
    def __init__(self, theta, order, size_in=1, **kwargs):
        for name in _SET_BY_MEMORY:
            if name in kwargs:
                raise TypeError(
                    f"LMUMemory sets the LinearNetwork option {name!r} itself"
                )
        self.theta = check_positive_finite(theta, "theta", self)
        self.order = check_order(order, "order", self)
        check_count(size_in, "size_in", self)
        dt = kwargs["dt"] = check_positive_finite(kwargs.get("dt", 0.001), "dt", self)
        if self.theta < dt:
            raise ValidationError(
                f"must be at least one time step (dt={dt:g} s), got {self.theta:g}",
                attr="theta",
                obj=self,
            )
        default_high = (
            kwargs.get("neurons_per_dimension") is not None
            and kwargs.get("input_high") is None
        )
        if default_high:
            kwargs["input_high"] = 1.0 / self.theta
        try:
            super().__init__(
                LegendreDelay(self.theta, self.order),
                copies=size_in,
                output="state",
                **kwargs,
            )
        except ValidationError as err:
            realization = kwargs.get("realization", self.REALIZATIONS[0])
            raise self._neural_error(err, dt, realization, default_high) from None

    def _neural_error(self, err, dt, realization, default_high):
        """A ValidationError of the neural realisation, restated in terms of
        this memory's theta and order, with what would work."""
        msg = err.args[0] if err.args else str(err)
        theta, order = self.theta, self.order
        with np.errstate(over="ignore"):
            steps = theta / dt
        steps_text = f"{steps:.3g} steps" if np.isfinite(steps) else "over 1e308 steps"
        where = f"LMUMemory(theta={theta:g}, order={order}) at dt={dt:g}"
        if err.attr == "input_high" and default_high and "Nyquist" in msg:
            return ValidationError(
                f"{where}: a neural memory is scaled for inputs up to input_high = "
                f"1 / theta = {1 / theta:g} Hz by default, which is not below the "
                f"Nyquist frequency {0.5 / dt:g} Hz; use a larger theta (more than "
                f"{2 * dt:g} s) or give input_high below {0.5 / dt:g} Hz",
                attr="theta",
                obj=self,
            )
        too_long = err.attr in ("system", "input_rms") and (
            "stable" in msg or "overflow" in msg
        )
        # input_high = 1 / theta below the smallest normal float
        too_long |= err.attr == "input_high" and default_high and "normal" in msg
        if too_long:
            return ValidationError(
                f"{where}: theta is {steps_text}, so long that the discretised "
                "memory does not decay in floating point, and its states cannot be "
                "scaled for neurons; use a smaller theta (or a larger dt), or the "
                "exact memory (no neurons)",
                attr="theta",
                obj=self,
            )
        if err.attr == "system" and "minimal" in msg:
            other = "realization='legendre', " if realization == "balanced" else ""
            return ValidationError(
                f"{where}: the discretised Legendre delay cannot be balanced for "
                f"neurons: it is numerically not minimal with {order} states over "
                f"a window of {steps_text} ({msg}); use {other}a larger theta "
                f"(more steps per window) or a lower order",
                attr="order",
                obj=self,
            )
        return err

    def _euler_factors(self):
        # A and B at theta = 1 and the gain dt / theta: a trained gain is a
        # trained 1 / theta
        A, B = legendre_matrices(self.order)
        return A, B, self.dt / self.theta

    def _add_readout(self, C, label):
        p = C.shape[0]
        with self:
            node = nengo.Node(size_in=self.size_in * p, label=label)
            # one connection per input dimension (no dense block-diagonal
            # kron(I, C) over all memories)
            for d in range(self.size_in):
                nengo.Connection(
                    self._copy(self.output, d, self.order),
                    self._copy(node, d, p),
                    transform=C,
                    synapse=None,
                )
        return node

    def add_delay_output(self, r):
        """A Node decoding ``u(t - r theta)`` for one or more delays ``r``.

        Parameters
        ----------
        r : float or array_like
            Delays as fractions of ``theta``, each in ``[0, 1]``.

        Returns
        -------
        node : nengo.Node
            ``size_in * len(r)`` dimensions, ordered input dimension first.
        """
        r = check_fraction(r, "r", self)
        return self._add_readout(delay_readout(self.order, r), label="delay")

    def add_window_output(self, n_points=None, function=None):
        """A Node decoding the window: sampled, or weighted by a function.

        Give exactly one of:

        n_points : int
            Sample the window at this many evenly spaced delays, from
            ``u(t)`` to ``u(t - theta)``: ``size_in * n_points`` dimensions.
        function : callable
            A weight ``f(r)`` on ``r`` in ``[0, 1]`` (vectorised over numpy
            arrays): the node outputs ``integral_0^1 f(r) u(t - r theta) dr``
            per input dimension (e.g. ``lambda r: np.ones_like(r)`` gives the
            window's mean).
        """
        if (n_points is None) == (function is None):
            raise ValidationError(
                "give exactly one of n_points and function", attr="n_points", obj=self
            )
        if n_points is not None:
            return self._add_readout(window_readout(self.order, n_points), "window")
        if not callable(function):
            raise ValidationError(
                f"must be callable, got {function!r}", attr="function", obj=self
            )
        r = np.linspace(0, 1, 2001)
        weights = np.asarray(function(r), dtype=float)
        if weights.shape != r.shape or not np.all(np.isfinite(weights)):
            raise ValidationError(
                "must map an array of r in [0, 1] to finite values of the same shape",
                attr="function",
                obj=self,
            )
        basis = _shifted_legendre(self.order, r)
        C = scipy.integrate.trapezoid(weights[:, None] * basis, r, axis=0)
        return self._add_readout(C[None, :], "window_function")

    def add_output(self, function, n_points=100, **kwargs):
        """A Node with a (nonlinear) function of the window, per input dimension.

        ``function(window)`` gets the window sampled at ``n_points`` evenly
        spaced delays, ``window[0] = u(t)`` to ``window[-1] = u(t - theta)``
        (as `add_window_output` decodes it), and returns a scalar or a 1-D
        array. The exact memory computes it in a Node; the neural memory
        decodes it from neurons (an ensemble per input dimension that
        represents the whole memory state, see `.LinearNetwork.add_output`
        for the options ``neurons``, ``synapse``, ``n_eval_points`` and
        ensemble keywords).

        Returns
        -------
        node : nengo.Node
            ``size_in * size_out`` dimensions, ordered input dimension first.

        Examples
        --------
        The energy of the window, decoded from the memory's neurons:

        >>> with nengo.Network() as net:
        ...     memory = LMUMemory(1.0, 6, neurons_per_dimension=100)
        ...     energy = memory.add_output(lambda w: np.mean(w**2))
        """
        if not callable(function):
            raise ValidationError(
                f"must be callable, got {function!r}", attr="function", obj=self
            )
        W = window_readout(self.order, n_points)
        return super().add_output(lambda m: function(W @ m), **kwargs)


def lmu_memory(
    theta,
    order,
    memory_d=1,
    dt=0.001,
    discretizer="zoh",
    trainable_theta=False,
    neurons_per_dimension=None,
    matrices=None,
    label="memory",
    **kwargs,
):
    """The memory of an `.LMU`, a `.LinearNetwork` of the kind its options ask for.

    * ``matrices=(Abar, Bbar)``: a `.LinearNetwork` of the discrete system
      ``(Abar, Bbar, I)`` at ``dt``, one copy per memory, whose ``output`` is
      its state (``theta`` is not used).
    * ``discretizer="zoh"`` with ``trainable_theta``: a
      `~nengo_lmu.dl.trainable.TrainableThetaMemory`, the exact memory with
      its update in a NengoDL TensorNode (NengoDL is imported only then).
    * otherwise an `.LMUMemory` (exact, Euler, or neural with
      ``neurons_per_dimension``); with ``discretizer="euler"`` a trainable
      theta is the memory's `~.LinearNetwork.gain_connection`, which the
      caller leaves trainable.

    Every kind has ``input`` (``memory_d`` dimensions), ``output`` (the
    state, ``memory_d * order``, memory by memory) and ``discrete_system``
    (the update ``(Abar, Bbar)``, at the initial theta when it trains). The
    `.LMU` checks that the options go together before calling this.

    Parameters
    ----------
    theta : float or None
        Window in seconds (None only with ``matrices``).
    order : int
        Legendre coefficients per memory.
    memory_d : int
        Number of independent memories.
    dt : float
        Simulator time step in seconds.
    discretizer : {"zoh", "euler"}
        Discretisation of the exact memory.
    trainable_theta : bool
        Whether NengoDL is to train theta.
    neurons_per_dimension : int or None
        None for the exact memory, else neurons per state dimension.
    matrices : tuple of ndarray, optional
        ``(Abar, Bbar)`` of shapes ``(order, order)`` and ``(order, 1)``.
    label : str
        Label of the memory network.
    **kwargs
        Further `.LMUMemory` (so `.LinearNetwork`) options, for the neural
        memory.

    Returns
    -------
    memory : LinearNetwork
    """
    if matrices is not None:
        Abar, Bbar = matrices
        return LinearNetwork(
            LinearSystem(Abar, Bbar, np.eye(order), dt=dt),
            copies=memory_d,
            output="state",
            label=label,
        )
    if discretizer == "zoh" and trainable_theta:
        # pylint: disable=import-outside-toplevel
        from nengo_lmu.dl.trainable import TrainableThetaMemory

        return TrainableThetaMemory(theta, order, memory_d, dt=dt, label=label)
    return LMUMemory(
        theta,
        order,
        size_in=memory_d,
        neurons_per_dimension=neurons_per_dimension,
        dt=dt,
        discretizer=discretizer,
        label=label,
        **kwargs,
    )
