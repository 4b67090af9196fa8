"""LMUMemory: the LMU's linear memory, a `.LinearNetwork` of a Legendre delay."""

import warnings

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
from nengo_lmu.networks.linear import (
    DEFAULT_INTERCEPTS,
    DEFAULT_SOLVER,
    DEFAULT_ZERO_ORDER,
    LinearNetwork,
    renamed_keyword,
)
from nengo_lmu.systems import LegendreDelay, legendre_matrices

__all__ = ["LMUMemory", "DEFAULT_INTERCEPTS", "DEFAULT_SOLVER"]

REALIZATIONS = ("balanced", "legendre")


class LMUMemory(LinearNetwork):
    """The memory of a Legendre Memory Unit, ``theta dm/dt = A m + B u``.

    A `.LinearNetwork` of a `~nengo_lmu.systems.LegendreDelay` (one copy per
    input dimension) whose ``output`` is the memory state, plus the window's
    readouts. Each of the ``size_in`` input dimensions gets its own memory of
    ``order`` Legendre coefficients of its last ``theta`` seconds (KerasLMU's
    ``memory_d``). The memory is realised in one of two ways:

    * ``neurons_per_dimension=None``: exactly, as a Node updated each step by
      the zero-order-hold discretisation, ``m[k] = Abar m[k-1] + Bbar u[k]``
      (the KerasLMU update, step for step); or, with ``discretizer="euler"``,
      ``m[k] = m[k-1] + (dt / theta) (A m[k-1] + B u[k])`` with the gain
      ``dt / theta`` on a connection of its own (`gain_connection`), which
      NengoDL can train (KerasLMU's trainable theta).
    * ``neurons_per_dimension=N``: in ensembles of ``N`` neurons per state
      dimension. The states are first transformed to the balanced
      realisation (`~nengo_lmu.mapping.balanced_realization`) and scaled so
      that each state's standard deviation is ``radius / n_std`` for the
      stated input class (`~nengo_lmu.mapping.scaled_realization`), then
      mapped onto ``synapse`` at ``dt`` by `~nengo_lmu.mapping.ss2sim` (the
      discrete Principle 3). Unless given, intercepts are
      ``Uniform(-0.3, 0.3)`` and the solver is ``LstsqL2(reg=0.03)``. Each of
      these choices lowers the delay error measurably (benchmark B1, see the
      docs). The recurrence runs ensemble to ensemble, with no Node in the
      loop, so it can run on Loihi. The represented state lags the exact one
      by one time step (the recurrent synapse's update).

    ``output`` is the memory state in Legendre coordinates in both cases
    (neural states are decoded and transformed back), so the same readouts
    apply; `add_delay_output` and `add_window_output` build them, and
    `add_output` decodes a nonlinear function of the window.

    Parameters
    ----------
    theta : float
        Window length in seconds (> 0).
    order : int
        Legendre coefficients per input dimension (>= 1).
    size_in : int
        Number of input dimensions, each with an independent memory.
    neurons_per_dimension : int or None
        Neurons per state dimension; None for the exact (Node) realisation.
        (Formerly ``n_neurons``, still accepted with a DeprecationWarning.)
    synapse : nengo.LinearFilter
        Synapse of the neural recurrence (default ``nengo.Lowpass(0.1)``).
        Lowpass and other all-pole synapses are mapped exactly onto the
        discrete system; higher-order synapses with zeros (``nengo.Alpha``,
        ``nengo.DoubleExp``) approximately, see ``zero_order``.
    dt : float
        Time step of the simulator that will run the network (the neural
        mapping is exact only for this ``dt``; the exact realisation is
        discretised with it).
    neuron_type : nengo.neurons.NeuronType, optional
        Neuron type of the ensembles (Nengo's default if None).
    input_rms, input_high : float
        The input class the neural state scaling is designed for: white noise
        with this root-mean-square value and flat power up to ``input_high``
        Hz (default ``1 / theta``). States stay within the radius for inputs
        of this class; larger inputs saturate the neurons.
    n_std : float
        How many standard deviations of each state fit within the radius
        (default 3: states stay within the radius 99.7% of the time).
    realization : {"balanced", "legendre"}
        States of the neural realisation: the balanced realisation, scaled
        (default), or the Legendre states, scaled. (``"scaled"`` is the
        deprecated name of ``"legendre"``.)
    mapping_synapse : nengo.LinearFilter, optional
        The synapse the recurrence is mapped onto when the simulator realises
        ``synapse`` as a different filter (for example the Loihi emulator's
        decode filter and delays, `nengo_lmu.loihi.loop_synapse`); defaults to
        ``synapse``. For a higher-order mapping synapse the input terms on the
        input's advances are summed onto the current input, which is exact
        for inputs that change little over the synapse's extra delay.
    ensemble_dimensions : int
        States per ensemble: 1 (default, an array of 1-D ensembles) up to
        ``order`` (one ensemble per input dimension); must divide ``order``.
    discretizer : {"zoh", "euler"}
        Discretisation of the exact memory (the neural one is mapped from
        the zero-order hold).
    zero_order : int
        Taylor degree of the approximate inverse of the synapse's zeros
        (`~nengo_lmu.mapping.ss2sim`); no effect for all-pole synapses.
    **ensemble_kwargs
        Passed to every `nengo.Ensemble` (e.g. ``max_rates``, ``intercepts``,
        ``encoders``, ``eval_points``, ``radius``); ``solver`` is passed to the
        recurrent and output connections.

    Attributes
    ----------
    input : nengo.Node
        Input, ``size_in`` dimensions.
    output : nengo.Node
        Memory state in Legendre coordinates, ``size_in * order`` dimensions,
        ordered input dimension first: ``output[d * order + i]`` is
        coefficient ``i`` of input dimension ``d`` (the same Node as
        ``state``).
    system : LegendreDelay
        The analog system being realised.
    discrete_system : LinearSystem
        Its discretisation at ``dt`` (zero-order hold unless
        ``discretizer="euler"``).
    neurons_per_dimension : int or None
        Neurons per state dimension (``n_neurons`` itself is Nengo's count of
        all neurons in the network).
    ensembles : list of nengo.Ensemble
        The neural realisation's ensembles (empty for the exact one), grouped
        by input dimension (Nengo's own list of the network's ensembles).
    mapped_system : LinearSystem or None
        The scaled system mapped onto ``synapse`` (``Ahat``, ``Bhat``).
    state_transform : ndarray or None
        ``T`` with Legendre state ``m = T z`` for the ensembles' state ``z``.
    gain_connection : nengo.Connection or None
        The Euler update's gain ``dt / theta`` (exact Euler memory only).

    Notes
    -----
    Inputs arrive at run time, so no build-time check can refuse a NaN or
    an infinite input. If one reaches ``input`` (from a process, or an
    upstream computation; a Node function returning one is already refused
    by Nengo), it propagates and stays: the exact memory's state becomes NaN
    at that step (an infinity becomes NaN one step later, through
    ``inf - inf`` in ``Abar m``) and every later state and readout is NaN,
    since a linear recurrence cannot forget it; the neural memory's voltages
    and synapse states become NaN the same way. Only ``sim.reset()`` (or a
    new simulator) clears it. Guard the input upstream (for example with
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

    REALIZATIONS = ("balanced", "given")

    def __init__(
        self,
        theta,
        order,
        size_in=1,
        neurons_per_dimension=None,
        synapse=nengo.Lowpass(0.1),
        dt=0.001,
        neuron_type=None,
        input_rms=0.3,
        input_high=None,
        n_std=3.0,
        realization="balanced",
        ensemble_dimensions=1,
        mapping_synapse=None,
        discretizer="zoh",
        zero_order=DEFAULT_ZERO_ORDER,
        label=None,
        seed=None,
        add_to_container=None,
        **ensemble_kwargs,
    ):
        neurons_per_dimension = renamed_keyword(
            ensemble_kwargs,
            "n_neurons",
            "neurons_per_dimension",
            neurons_per_dimension,
            None,
            self,
        )
        self.theta = check_positive_finite(theta, "theta", self)
        self.order = check_order(order, "order", self)
        check_count(size_in, "size_in", self)
        dt = check_positive_finite(dt, "dt", self)
        if self.theta < dt:
            raise ValidationError(
                f"must be at least one time step (dt={dt:g} s), got " f"{self.theta:g}",
                attr="theta",
                obj=self,
            )
        if realization == "scaled":
            warnings.warn(
                "realization='scaled' is deprecated since NengoLMU 0.1.0 (both "
                "realisations are scaled) and will be removed in the next "
                "release; use realization='legendre'",
                DeprecationWarning,
                stacklevel=2,
            )
            realization = "legendre"
        if not isinstance(realization, str) or realization not in REALIZATIONS:
            raise ValidationError(
                f"must be one of {REALIZATIONS}, got {realization!r}",
                attr="realization",
                obj=self,
            )
        default_high = neurons_per_dimension is not None and input_high is None
        if default_high:
            input_high = 1.0 / self.theta
        try:
            super().__init__(
                LegendreDelay(self.theta, self.order),
                neurons_per_dimension=neurons_per_dimension,
                synapse=synapse,
                dt=dt,
                copies=size_in,
                output="state",
                discretizer=discretizer,
                neuron_type=neuron_type,
                input_rms=input_rms,
                input_high=input_high,
                n_std=n_std,
                realization="given" if realization == "legendre" else realization,
                ensemble_dimensions=ensemble_dimensions,
                mapping_synapse=mapping_synapse,
                zero_order=zero_order,
                label=label,
                seed=seed,
                add_to_container=add_to_container,
                **ensemble_kwargs,
            )
        except ValidationError as err:
            raise self._neural_error(err, dt, realization, default_high) from None
        self.realization = realization

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
        if err.attr in ("system", "input_rms") and (
            "stable" in msg or "overflow" in msg
        ):
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
