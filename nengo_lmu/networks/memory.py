"""LMUMemory: the LMU's linear memory as a Nengo network, exact or in neurons."""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_count,
    check_fraction,
    check_order,
    check_positive_finite,
    check_synapse,
)
from nengo_lmu.basis import delay_readout, shifted_legendre, window_readout
from nengo_lmu.mapping import balanced_realization, scaled_realization, ss2sim

REALIZATIONS = ("balanced", "scaled")
DEFAULT_INTERCEPTS = nengo.dists.Uniform(-0.3, 0.3)
DEFAULT_SOLVER = nengo.solvers.LstsqL2(reg=0.03)
from nengo_lmu.systems import LegendreDelay


class LMUMemory(nengo.Network):
    """The memory of a Legendre Memory Unit, ``theta dm/dt = A m + B u``.

    Each of the ``size_in`` input dimensions gets its own memory of ``order``
    Legendre coefficients of its last ``theta`` seconds (KerasLMU's
    ``memory_d``). The memory is realised in one of two ways:

    * ``n_neurons=None``: exactly, as a Node updated each step by the
      zero-order-hold discretisation, ``m[k] = Abar m[k-1] + Bbar u[k]`` (the
      KerasLMU update, step for step).
    * ``n_neurons=N``: in ensembles of ``N`` neurons per state dimension. The
      states are first transformed to the balanced realisation
      (`~nengo_lmu.mapping.balanced_realization`) and scaled so that each
      state's standard deviation is ``radius / n_std`` for the stated input
      class (`~nengo_lmu.mapping.scaled_realization`), then mapped onto
      ``synapse`` at ``dt`` by `~nengo_lmu.mapping.ss2sim` (the discrete
      Principle 3). Unless given, intercepts are ``Uniform(-0.3, 0.3)`` and
      the solver is ``LstsqL2(reg=0.03)``. Each of these choices lowers the
      delay error measurably (benchmark B1, see the docs). The recurrence runs ensemble to ensemble, with no Node in
      the loop, so it can run on Loihi. The represented state lags the exact
      one by one time step (the recurrent synapse's update).

    ``output`` is the memory state in Legendre coordinates in both cases
    (neural states are decoded and transformed back), so the same readouts
    apply; `add_delay_output` and `add_window_output` build them.

    Parameters
    ----------
    theta : float
        Window length in seconds (> 0).
    order : int
        Legendre coefficients per input dimension (>= 1).
    size_in : int
        Number of input dimensions, each with an independent memory.
    n_neurons : int or None
        Neurons per state dimension; None for the exact (Node) realisation.
    synapse : nengo.LinearFilter
        Synapse of the neural recurrence (default ``nengo.Lowpass(0.1)``).
        Only Lowpass synapses map exactly onto a discrete system; see
        `~nengo_lmu.mapping.ss2sim`.
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
    realization : {"balanced", "scaled"}
        States of the neural realisation: the balanced realisation, scaled
        (default), or the Legendre states, scaled.
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
        coefficient ``i`` of input dimension ``d``.
    system : LegendreDelay
        The analog system being realised.
    discrete_system : LinearSystem
        Its zero-order-hold discretisation at ``dt``.
    neurons_per_dimension : int or None
        The ``n_neurons`` argument (``n_neurons`` itself is Nengo's count of
        all neurons in the network).
    ensembles : list of nengo.Ensemble
        The neural realisation's ensembles (empty for the exact one), grouped
        by input dimension (Nengo's own list of the network's ensembles).
    mapped_system : LinearSystem or None
        The scaled system mapped onto ``synapse`` (``Ahat``, ``Bhat``).
    state_transform : ndarray or None
        ``T`` with Legendre state ``m = T z`` for the ensembles' state ``z``.

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
    ...     memory = LMUMemory(theta=1.0, order=6, n_neurons=100,
    ...                        neuron_type=nengo.SpikingRectifiedLinear())
    ...     nengo.Connection(stim, memory.input, synapse=None)
    ...     delayed = memory.add_delay_output(1.0)
    ...     probe = nengo.Probe(delayed, synapse=0.01)
    """

    def __init__(
        self,
        theta,
        order,
        size_in=1,
        n_neurons=None,
        synapse=nengo.Lowpass(0.1),
        dt=0.001,
        neuron_type=None,
        input_rms=0.3,
        input_high=None,
        n_std=3.0,
        realization="balanced",
        ensemble_dimensions=1,
        mapping_synapse=None,
        label=None,
        seed=None,
        add_to_container=None,
        **ensemble_kwargs,
    ):
        super().__init__(label=label, seed=seed, add_to_container=add_to_container)
        self.theta = check_positive_finite(theta, "theta", self)
        self.order = check_order(order, "order", self)
        self.size_in = check_count(size_in, "size_in", self)
        self.neurons_per_dimension = check_count(
            n_neurons, "n_neurons", self, allow_none=True
        )
        self.synapse = check_synapse(synapse)
        self.mapping_synapse = (
            self.synapse if mapping_synapse is None else check_synapse(mapping_synapse)
        )
        self.dt = check_positive_finite(dt, "dt", self)
        if self.theta < self.dt:
            raise ValidationError(
                f"must be at least one time step (dt={self.dt:g} s), got "
                f"{self.theta:g}",
                attr="theta",
                obj=self,
            )
        self.ensemble_dimensions = check_count(
            ensemble_dimensions, "ensemble_dimensions", self
        )
        if self.order % self.ensemble_dimensions != 0:
            raise ValidationError(
                f"must divide order={self.order}, got {self.ensemble_dimensions}",
                attr="ensemble_dimensions",
                obj=self,
            )
        if realization not in REALIZATIONS:
            raise ValidationError(
                f"must be one of {REALIZATIONS}, got {realization!r}",
                attr="realization",
                obj=self,
            )
        self.realization = realization
        if neuron_type is not None and not isinstance(
            neuron_type, nengo.neurons.NeuronType
        ):
            raise ValidationError(
                f"must be a nengo.neurons.NeuronType instance, got {neuron_type!r}",
                attr="neuron_type",
                obj=self,
            )
        self.system = LegendreDelay(self.theta, self.order)
        self.discrete_system = self.system.discretize(self.dt)
        self.mapped_system = None
        self.state_transform = None

        with self:
            self.input = nengo.Node(size_in=self.size_in, label="input")
            if self.neurons_per_dimension is None:
                if ensemble_kwargs or neuron_type is not None:
                    raise ValidationError(
                        "ensemble options need a neural realisation (n_neurons); "
                        f"got {sorted(ensemble_kwargs) or ['neuron_type']}",
                        attr="n_neurons",
                        obj=self,
                    )
                self._build_exact()
            else:
                input_high = 1.0 / self.theta if input_high is None else input_high
                self._build_neural(
                    neuron_type, input_rms, input_high, n_std, ensemble_kwargs
                )

    def _build_exact(self):
        self.output = nengo.Node(size_in=self.size_in * self.order, label="state")
        # one pair of connections per input dimension, rather than one
        # block-diagonal kron(I, Abar): that would be (size_in * order)^2 dense
        # (whole nodes when there is one dimension: no slicing ops in NengoDL)
        for d in range(self.size_in):
            state, u = self.output, self.input
            if self.size_in > 1:
                state, u = state[d * self.order: (d + 1) * self.order], u[d]
            # synapse=0 is a one-step delay: m[k] = Abar m[k-1] + Bbar u[k]
            nengo.Connection(state, state, transform=self.discrete_system.A, synapse=0)
            nengo.Connection(u, state, transform=self.discrete_system.B, synapse=None)

    def _build_neural(self, neuron_type, input_rms, input_high, n_std, ens_kwargs):
        # Defaults measured on benchmark B1 (docs/benchmarks.rst): narrow
        # intercepts put every neuron's threshold where the scaled states
        # spend their time, and lighter regularisation than Nengo's 0.1 keeps
        # the decoded feedback gain close to one.
        conn_kwargs = {"solver": ens_kwargs.pop("solver", DEFAULT_SOLVER)}
        ens_kwargs.setdefault("intercepts", DEFAULT_INTERCEPTS)
        if neuron_type is not None:
            ens_kwargs["neuron_type"] = neuron_type
        radius = ens_kwargs.get("radius", 1.0)
        system, T = self.discrete_system, np.eye(self.order)
        if self.realization == "balanced":
            system, T = balanced_realization(system)
        scaled, T_scale = scaled_realization(
            system, input_rms, input_high, radius=radius, n_std=n_std
        )
        T = T @ T_scale
        self.mapped_system = ss2sim(scaled, self.mapping_synapse, dt=self.dt)
        self.state_transform = T
        Ahat, Bhat = self.mapped_system.A, self.mapped_system.B
        # terms on the input's advances (higher-order mapping synapses only)
        Bhat = Bhat.reshape(self.order, -1, 1).sum(axis=1)
        k = self.ensemble_dimensions
        blocks = [slice(b, b + k) for b in range(0, self.order, k)]
        self.output = nengo.Node(size_in=self.size_in * self.order, label="output")
        for d in range(self.size_in):
            group = [
                nengo.Ensemble(
                    self.neurons_per_dimension * k,
                    k,
                    label=f"memory[{d}][{b.start}]",
                    **ens_kwargs,
                )
                for b in blocks
            ]
            out = self.output[d * self.order: (d + 1) * self.order]
            for pre, bj in zip(group, blocks):
                for post, bi in zip(group, blocks):
                    if np.any(Ahat[bi, bj]):
                        nengo.Connection(
                            pre,
                            post,
                            transform=Ahat[bi, bj],
                            synapse=self.synapse,
                            **conn_kwargs,
                        )
                # back to Legendre coordinates, m = T z
                nengo.Connection(
                    pre, out, transform=T[:, bj], synapse=None, **conn_kwargs
                )
            for post, bi in zip(group, blocks):
                nengo.Connection(
                    self.input[d], post, transform=Bhat[bi, :1], synapse=self.synapse
                )

    def _add_readout(self, C, label):
        with self:
            node = nengo.Node(size_in=self.size_in * C.shape[0], label=label)
            nengo.Connection(
                self.output,
                node,
                transform=np.kron(np.eye(self.size_in), C),
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
        C = np.trapz(weights[:, None] * shifted_legendre(self.order, r), r, axis=0)
        return self._add_readout(C[None, :], "window_function")
