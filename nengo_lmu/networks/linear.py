"""LinearNetwork: any linear system as a Nengo network, exactly or in neurons.

Every memory in NengoLMU is built here: `LinearNetwork` realises a
`~nengo_lmu.systems.LinearSystem` (analog or discrete) either exactly, as a
Node updated each time step, or in ensembles of neurons whose recurrence is
mapped onto a synapse by `~nengo_lmu.mapping.ss2sim`. `.LMUMemory` is a
LinearNetwork of a `~nengo_lmu.systems.LegendreDelay` plus its readouts.
"""

import difflib
import inspect

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_count,
    check_neuron_type,
    check_positive_finite,
    check_synapse,
)
from nengo_lmu.mapping import (
    balanced_realization,
    scaled_realization,
    ss2sim,
    state_covariance,
)
from nengo_lmu.networks.defaults import DEFAULT_INTERCEPTS, DEFAULT_SOLVER
from nengo_lmu.networks.guards import check_neural, removed_on_failure
from nengo_lmu.networks.latch import build_nonfinite_latch
from nengo_lmu.networks.readouts import add_output
from nengo_lmu.systems import LinearSystem

DISCRETIZERS = ("zoh", "euler")
OUTPUTS = ("system", "state")
#: `nengo.Ensemble` arguments that the network sets itself.
RESERVED_ENSEMBLE_OPTIONS = frozenset({"n_neurons", "dimensions", "label"})
#: Taylor degree of the inverse of a synapse's zeros in the neural mapping
#: (`~nengo_lmu.mapping.ss2sim`'s ``zero_order``).
DEFAULT_ZERO_ORDER = 1


#: `nengo.Ensemble` options that the neural realisation passes on.
ENSEMBLE_OPTIONS = frozenset(
    set(inspect.signature(nengo.Ensemble.__init__).parameters)
    - {"self"}
    - RESERVED_ENSEMBLE_OPTIONS
)


class LinearNetwork(nengo.Network):
    """A linear system ``(A, B, C, D)`` as a Nengo network, exact or in neurons.

    The system is realised in one of two ways:

    * ``neurons_per_dimension=None``: exactly, as a Node updated each step by
      the discrete system (an analog system discretised at ``dt`` by
      ``discretizer``), ``x[k] = Abar x[k-1] + Bbar u[k]``: one connection
      back to the state Node with ``synapse=0`` (a one-step delay) and one
      from the input with ``synapse=None``. The state equals
      `scipy.signal.dlsim`'s ``x[k + 1]`` step for step. With
      ``discretizer="euler"`` the update is
      ``x[k] = x[k-1] + g (A x[k-1] + B u[k])`` with the gain ``g = dt`` on a
      connection of its own (`gain_connection`), which NengoDL can train.
    * ``neurons_per_dimension=N``: in ensembles of ``N`` neurons per state
      dimension. The states are transformed to the balanced realisation
      (`~nengo_lmu.mapping.balanced_realization`; or kept in the system's
      own coordinates, ``realization="given"``), scaled so that each state's
      standard deviation is ``radius / n_std`` for the stated input class
      (`~nengo_lmu.mapping.scaled_realization`), and mapped onto
      ``mapping_synapse`` at ``dt`` by `~nengo_lmu.mapping.ss2sim` (the
      discrete Principle 3). The recurrence runs ensemble to ensemble, with
      no Node in the loop, so it can run on Loihi. The decoded state lags
      the exact one by one time step (the recurrent synapse's update; see
      `input_delay` for higher-order synapses).
      Unless given, intercepts are ``Uniform(-0.3, 0.3)`` and the solver is
      ``LstsqL2(reg=0.03)`` (benchmark B1). Higher-order synapses with zeros
      (``nengo.Alpha``, ``nengo.DoubleExp``, discretised by zero-order hold)
      are mapped with the inverse of their zeros approximated to
      ``zero_order`` Taylor terms (see `~nengo_lmu.mapping.ss2sim`). A
      synapse of order ``q`` (after that approximation: ``q = 3`` for Alpha
      with ``zero_order=1``) calls for the input ``q - 1`` steps ahead; the
      input is instead delayed by ``q - 1`` steps (`input_delay`, a chain of
      one-step delays outside the recurrent loop), which makes the
      recurrence follow the system exactly, ``input_delay`` steps late.

    ``state`` is the state in the given system's own coordinates in both
    realisations (neural states are decoded and transformed back), and
    ``output`` is the system's output ``C x + D u`` (``output="system"``) or
    the state itself (``output="state"``).

    Parameters
    ----------
    system : LinearSystem
        The system to realise; analog, or discrete with ``dt`` equal to the
        simulator's.
    neurons_per_dimension : int or None
        Neurons per state dimension; None (default) for the exact (Node)
        realisation. Refused before anything is built beyond
        `~nengo_lmu.networks.guards.MAX_NEURONS` neurons in all, or when
        building would need more than `~nengo_lmu.networks.guards.MAX_BUILD_BYTES`
        (estimated by `~nengo_lmu.networks.guards.build_bytes`; the constants
        of `nengo_lmu.networks.guards` may be raised).
    synapse : nengo.LinearFilter
        Synapse of the neural recurrence (default ``nengo.Lowpass(0.1)``).
    dt : float, optional
        Time step of the simulator that will run the network: the exact
        realisation is discretised with it and the neural mapping is exact
        only for it. Defaults to a discrete system's ``dt``, else 0.001.
    copies : int
        Independent copies of the system side by side (input and state
        ordered copy first): ``input`` has ``copies * system.input_size``
        dimensions.
    output : {"system", "state"}
        What ``output`` carries: the system's output ``C x + D u``
        (default) or its state.
    discretizer : {"zoh", "euler"}
        How an analog system is discretised (ignored for a discrete one):
        zero-order hold (default) or forward Euler with its gain on a
        connection of its own.
    neuron_type : nengo.neurons.NeuronType, optional
        Neuron type of the ensembles (Nengo's default if None).
    input_rms, input_high : float
        The input class the neural state scaling is designed for: white noise
        with this root-mean-square value and flat power up to ``input_high``
        Hz (needed for the neural realisation). States stay within the
        radius for inputs of this class; larger inputs saturate the neurons.
    n_std : float
        How many standard deviations of each state fit within the radius
        (default 3: states stay within the radius 99.7% of the time).
    realization : {"balanced", "given"}
        States of the neural realisation: the balanced realisation, scaled
        (default), or the given system's own states, scaled. The allowed
        names are the class's `REALIZATIONS` (`.LMUMemory` calls the given
        states ``"legendre"``).
    ensemble_dimensions : int
        States per ensemble: 1 (default, an array of 1-D ensembles) up to the
        number of states (one ensemble per copy); must divide the number of
        states.
    mapping_synapse : nengo.LinearFilter, optional
        The synapse the recurrence is mapped onto when the simulator realises
        ``synapse`` as a different filter (for example the Loihi emulator's
        decode filter and delays, `nengo_lmu.loihi.loop_synapse`); defaults to
        ``synapse``. The input advances that a higher-order mapping synapse
        calls for are then summed onto the current input (the simulator may
        not filter the input as it does the recurrence), which is exact only
        for inputs that change little over the synapse's extra delay.
    zero_order : int
        Taylor degree of the approximate inverse of the mapping synapse's
        zeros (default 1; synapses without zeros are mapped exactly
        whatever its value).
    **ensemble_kwargs
        Passed to every `nengo.Ensemble` (e.g. ``max_rates``, ``intercepts``,
        ``encoders``, ``eval_points``, ``radius``; not ``n_neurons``,
        ``dimensions`` or ``label``, which the network sets); ``solver`` is
        passed to the recurrent and state connections.

    Attributes
    ----------
    input : nengo.Node
        Input, ``copies * system.input_size`` dimensions.
    state : nengo.Node
        The state in the system's coordinates, ``copies * system.state_size``
        dimensions.
    output : nengo.Node
        ``C x + D u`` per copy, or ``state`` (see ``output``).
    system : LinearSystem
        The system being realised.
    discrete_system : LinearSystem
        The system discretised at ``dt`` (the system itself if discrete).
    neurons_per_dimension : int or None
        Neurons per state dimension (`nengo.Network`'s own ``n_neurons`` is
        the count of all neurons in the network).
    ensembles : list of nengo.Ensemble
        The neural realisation's ensembles (empty for the exact one), grouped
        by copy.
    mapped_system : LinearSystem or None
        The scaled system mapped onto the synapse (``Ahat``, ``Bhat``).
    state_transform : ndarray or None
        ``T`` with the system's state ``x = T z`` for the ensembles' ``z``.
    gain_connection : nengo.Connection or None
        The Euler update's gain ``g`` (exact Euler realisation only).
    nonfinite : nengo.Node or None
        Neural realisation only: per copy, 0 while every input so far was
        finite, NaN from the first that was not; added (times 0) to the state,
        so that a NaN or infinite input propagates as in the exact
        realisation, in every backend, instead of silencing the neurons.
    input_delay : int
        Steps by which the neural realisation delays the input (0 unless a
        higher-order ``synapse`` calls for input advances): the decoded state
        lags the exact one by ``1 + input_delay`` steps.

    Examples
    --------
    A 4th-order Butterworth low-pass filter in spiking neurons:

    >>> import scipy.signal
    >>> zpk = scipy.signal.butter(4, 2 * np.pi * 2, analog=True, output="zpk")
    >>> butterworth = LinearSystem(*scipy.signal.zpk2ss(*zpk))
    >>> with nengo.Network(seed=0) as net:
    ...     stim = nengo.Node(nengo.processes.WhiteSignal(10, high=5, rms=0.3))
    ...     lowpass = LinearNetwork(
    ...         butterworth, neurons_per_dimension=200,
    ...         synapse=nengo.Lowpass(0.05), input_high=5,
    ...         neuron_type=nengo.SpikingRectifiedLinear())
    ...     nengo.Connection(stim, lowpass.input, synapse=None)
    ...     probe = nengo.Probe(lowpass.output, synapse=0.005)
    """

    #: Names of the neural realisations: the balanced one (first) and the
    #: system's own states (second), which a subclass may rename.
    REALIZATIONS = ("balanced", "given")

    @removed_on_failure
    def __init__(
        self,
        system,
        neurons_per_dimension=None,
        synapse=nengo.Lowpass(0.1),
        dt=None,
        copies=1,
        output="system",
        discretizer="zoh",
        neuron_type=None,
        input_rms=0.3,
        input_high=None,
        n_std=3.0,
        realization="balanced",
        ensemble_dimensions=1,
        mapping_synapse=None,
        zero_order=DEFAULT_ZERO_ORDER,
        label=None,
        seed=None,
        add_to_container=None,
        **ensemble_kwargs,
    ):
        super().__init__(label=label, seed=seed, add_to_container=add_to_container)
        if not isinstance(system, LinearSystem):
            raise ValidationError(
                f"must be a nengo_lmu.LinearSystem, got {type(system).__name__}",
                attr="system",
                obj=self,
            )
        self.system = system
        self.neurons_per_dimension = check_count(
            neurons_per_dimension, "neurons_per_dimension", self, allow_none=True
        )
        self.synapse = check_synapse(synapse, obj=self)
        self._mapping_synapse_given = mapping_synapse is not None
        self.mapping_synapse = (
            self.synapse
            if mapping_synapse is None
            else check_synapse(mapping_synapse, "mapping_synapse", self)
        )
        if dt is None:
            dt = 0.001 if system.analog else system.dt
        self.dt = check_positive_finite(dt, "dt", self)
        if not system.analog and not np.isclose(system.dt, self.dt, rtol=1e-12):
            raise ValidationError(
                f"must equal the discrete system's dt={system.dt:g}, got {self.dt:g}",
                attr="dt",
                obj=self,
            )
        self.copies = check_count(copies, "copies", self)
        self.size_in = self.copies * system.input_size
        self._check_choice(output, OUTPUTS, "output")
        self._check_choice(discretizer, DISCRETIZERS, "discretizer")
        if discretizer == "euler" and not system.analog:
            raise ValidationError(
                "only an analog system can be discretised; this one is discrete "
                f"(dt={system.dt:g})",
                attr="discretizer",
                obj=self,
            )
        self.discretizer = discretizer
        self._check_choice(realization, self.REALIZATIONS, "realization")
        self.realization = realization
        n = system.state_size
        self.ensemble_dimensions = check_count(
            ensemble_dimensions, "ensemble_dimensions", self
        )
        if n % self.ensemble_dimensions != 0:
            raise ValidationError(
                f"must divide the number of states ({n}), got "
                f"{self.ensemble_dimensions}",
                attr="ensemble_dimensions",
                obj=self,
            )
        check_neuron_type(neuron_type, "neuron_type", self, allow_none=True)
        self.zero_order = check_count(zero_order, "zero_order", self, low=0)
        for name in RESERVED_ENSEMBLE_OPTIONS & set(ensemble_kwargs):
            raise ValidationError(
                "is set by the network (neurons_per_dimension and "
                "ensemble_dimensions size the ensembles), not an ensemble option",
                attr=name,
                obj=self,
            )
        for name in sorted(set(ensemble_kwargs) - ENSEMBLE_OPTIONS - {"solver"}):
            close = difflib.get_close_matches(
                name, sorted(ENSEMBLE_OPTIONS | NETWORK_OPTIONS), n=1
            )
            raise ValidationError(
                f"{name!r} is neither an option of {type(self).__name__} nor of "
                "nengo.Ensemble"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + f"; the network's options are {sorted(NETWORK_OPTIONS)}",
                attr=name,
                obj=self,
            )
        if self.neurons_per_dimension is None and (
            ensemble_kwargs or neuron_type is not None
        ):
            raise ValidationError(
                "ensemble options need a neural realisation (neurons_per_dimension); "
                f"got {sorted(ensemble_kwargs) or ['neuron_type']}",
                attr="neurons_per_dimension",
                obj=self,
            )
        if self.neurons_per_dimension is not None and input_high is None:
            raise ValidationError(
                "the neural realisation needs the input class it is scaled for: "
                "give input_high, the highest input frequency in Hz",
                attr="input_high",
                obj=self,
            )
        self.discrete_system = (
            system if not system.analog else system.discretize(self.dt, discretizer)
        )
        if self.neurons_per_dimension is not None:
            input_rms, input_high, n_std = check_neural(
                self, input_rms, input_high, n_std, ensemble_kwargs
            )
        self.mapped_system = None
        self.state_transform = None
        self.gain_connection = None
        self.nonfinite = None
        self.input_delay = 0
        self._groups = []
        if self.neurons_per_dimension is not None:
            # all the mathematics (and its checks) before building anything
            ensemble_kwargs = self._realise(
                neuron_type, input_rms, input_high, n_std, ensemble_kwargs
            )

        with self:
            self.input = nengo.Node(size_in=self.size_in, label="input")
            self.state = nengo.Node(size_in=self.copies * n, label="state")
            if self.neurons_per_dimension is None:
                if discretizer == "euler":
                    self._build_euler()
                else:
                    self._build_exact()
            else:
                self._build_neural(ensemble_kwargs)
            self.output = self.state if output == "state" else self._build_output()

    def _check_choice(self, value, choices, attr):
        if not isinstance(value, str) or value not in choices:
            raise ValidationError(
                f"must be one of {choices}, got {value!r}", attr=attr, obj=self
            )

    def _copy(self, node, c, size):
        """Copy ``c``'s slice of ``node`` (the whole node for one copy: no
        slicing ops in NengoDL)."""
        return node if self.copies == 1 else node[c * size : (c + 1) * size]

    def _build_exact(self):
        A, B = self.discrete_system.A, self.discrete_system.B
        n, m = B.shape
        # one pair of connections per copy, rather than one block-diagonal
        # kron(I, Abar): that would be (copies * n)^2 dense
        for c in range(self.copies):
            x, u = self._copy(self.state, c, n), self._copy(self.input, c, m)
            # synapse=0 is a one-step delay: x[k] = Abar x[k-1] + Bbar u[k]
            nengo.Connection(x, x, transform=A, synapse=0)
            nengo.Connection(u, x, transform=B, synapse=None)

    def _euler_factors(self):
        """``(A, B, g)`` of the Euler update ``x <- x + g (A x + B u)``."""
        return self.system.A, self.system.B, self.dt

    def _build_euler(self):
        A, B, gain = self._euler_factors()
        n, m = B.shape
        change = nengo.Node(size_in=self.copies * n, label="change")
        nengo.Connection(self.state, self.state, synapse=0)
        for c in range(self.copies):
            x, u = self._copy(self.state, c, n), self._copy(self.input, c, m)
            dx = self._copy(change, c, n)
            nengo.Connection(x, dx, transform=A, synapse=0)
            nengo.Connection(u, dx, transform=B, synapse=None)
        # one scalar for all copies, so that training changes the time scale
        self.gain_connection = nengo.Connection(
            change, self.state, transform=gain, synapse=None
        )

    def _realise(self, neuron_type, input_rms, input_high, n_std, ens_kwargs):
        """The neural realisation's transforms; returns the ensemble options."""
        # Defaults measured on benchmark B1 (docs/benchmarks.rst): narrow
        # intercepts put every neuron's threshold where the scaled states
        # spend their time, and lighter regularisation than Nengo's 0.1 keeps
        # the decoded feedback gain close to one.
        ens_kwargs = dict(ens_kwargs)
        ens_kwargs.setdefault("solver", DEFAULT_SOLVER)
        ens_kwargs.setdefault("intercepts", DEFAULT_INTERCEPTS)
        if neuron_type is not None:
            ens_kwargs["neuron_type"] = neuron_type
        radius = ens_kwargs.get("radius", 1.0)
        system = self.discrete_system
        n = system.state_size
        T = np.eye(n)
        if self.realization == "balanced":
            system, T = balanced_realization(system)
        scaled, T_scale = scaled_realization(
            system, input_rms, input_high, radius=radius, n_std=n_std
        )
        T = T @ T_scale
        self.mapped_system = ss2sim(
            scaled, self.mapping_synapse, dt=self.dt, zero_order=self.zero_order
        )
        self.state_transform = T
        # for nonlinear readouts (add_output): where the ensembles' states
        # spend their time, and the options they were built with
        self._state_covariance = state_covariance(scaled, input_rms, input_high)
        self._ensemble_options = {k: v for k, v in ens_kwargs.items() if k != "solver"}
        return ens_kwargs

    def _build_neural(self, ens_kwargs):
        ens_kwargs = dict(ens_kwargs)
        conn_kwargs = {"solver": ens_kwargs.pop("solver")}
        n, m = self.discrete_system.state_size, self.discrete_system.input_size
        T = self.state_transform
        Ahat = self.mapped_system.A
        # Bhat's columns are grouped by the input's advance j = 0 .. q-1 (q > 1
        # for higher-order synapses only)
        Bhat = self.mapped_system.B.reshape(n, -1, m)
        q = Bhat.shape[1]
        guarded = build_nonfinite_latch(self, n, m)
        if not self._mapping_synapse_given:
            # exact, for the input delayed by q - 1 steps: u[k + j - (q - 1)]
            # from a chain of one-step delays (outside the recurrent loop)
            inputs = [guarded]
            for j in range(1, q):
                inputs.append(nengo.Node(size_in=self.size_in, label=f"input[k-{j}]"))
                nengo.Connection(inputs[-2], inputs[-1], synapse=0)
            inputs = [(inputs[q - 1 - j], Bhat[:, j]) for j in range(q)]
        else:
            # the mapping synapse stands for a filter the simulator applies to
            # the recurrence, not necessarily to the input: advances summed
            # onto the current input
            inputs = [(guarded, Bhat.sum(axis=1))]
        self.input_delay = 0 if len(inputs) == 1 else q - 1
        k = self.ensemble_dimensions
        blocks = [slice(b, b + k) for b in range(0, n, k)]
        for c in range(self.copies):
            group = [
                nengo.Ensemble(
                    self.neurons_per_dimension * k,
                    k,
                    label=f"state[{c}][{b.start}]",
                    **ens_kwargs,
                )
                for b in blocks
            ]
            self._groups.append(list(zip(group, blocks)))
            x = self._copy(self.state, c, n)
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
                # back to the system's coordinates, x = T z
                nengo.Connection(
                    pre, x, transform=T[:, bj], synapse=None, **conn_kwargs
                )
            for node, B in inputs:
                u = self._copy(node, c, m)
                for post, bi in zip(group, blocks):
                    nengo.Connection(u, post, transform=B[bi], synapse=self.synapse)

    def _build_output(self):
        C, D = self.discrete_system.C, self.discrete_system.D
        p, (n, m) = C.shape[0], self.system.B.shape
        output = nengo.Node(size_in=self.copies * p, label="output")
        for c in range(self.copies):
            y = self._copy(output, c, p)
            nengo.Connection(self._copy(self.state, c, n), y, transform=C, synapse=None)
            if np.any(D):
                nengo.Connection(
                    self._copy(self.input, c, m), y, transform=D, synapse=None
                )
        return output

    def add_output(
        self,
        function,
        neurons=None,
        synapse=nengo.Lowpass(0.005),
        n_eval_points=None,
        label="function",
        **ensemble_kwargs,
    ):
        """A Node with a (nonlinear) function of each copy's state.

        ``function`` maps the state ``x`` in the system's coordinates (one
        copy, ``system.state_size`` values) to a scalar or a vector.

        * Exact realisation: a Node computes ``function(x)`` each step, from
          the state of the same step.
        * Neural realisation: ``function`` is decoded from neurons. Per copy,
          an ensemble of ``neurons`` neurons represents the whole scaled
          state ``z`` (driven from the memory's ensembles through
          ``synapse``), and its connection to the output decodes
          ``function(T z)``, with evaluation points drawn from the states'
          stationary distribution for the input class the network was
          scaled for (so the decoders are fit where the states are). The
          ensemble uses the network's neuron type and ensemble options
          unless ``ensemble_kwargs`` override them, except the intercepts:
          ``Uniform(-0.1, 0.6)`` unless given (on the delay task's window
          functions this beat ``Uniform(-0.3, 0.3)``, the memory's default,
          by about a third in NRMSE; see docs/guide/memory.rst).

        Parameters
        ----------
        function : callable
            ``function(x) -> float or 1-D array`` on one copy's state.
        neurons : int, optional
            Neurons of each readout ensemble (neural realisation only;
            default ``300 * state_size``).
        synapse : nengo.synapses.Synapse or None
            From the memory's ensembles to the readout ensemble (neural
            realisation only; default ``Lowpass(0.005)``, which smooths
            spikes at the cost of a few milliseconds' lag).
        n_eval_points : int, optional
            Evaluation points for the decoders (default ``max(1000, 200 *
            state_size)``).
        label : str
            Label of the output Node.
        **ensemble_kwargs
            Options of the readout ensembles (neural realisation only);
            ``solver`` goes to the decoding connection.

        Returns
        -------
        node : nengo.Node
            ``copies * size_out`` dimensions, ordered copy first.
        """
        return add_output(
            self, function, neurons, synapse, n_eval_points, label, ensemble_kwargs
        )


#: `LinearNetwork`'s own options (the rest go to `nengo.Ensemble`).
NETWORK_OPTIONS = frozenset(
    set(inspect.signature(LinearNetwork.__init__).parameters)
    - {"self", "ensemble_kwargs"}
)
