"""LinearNetwork: any linear system as a Nengo network, exactly or in neurons.

Every memory in NengoLMU is built here: `LinearNetwork` realises a
`~nengo_lmu.systems.LinearSystem` (analog or discrete) either exactly, as a
Node updated each time step, or in ensembles of neurons whose recurrence is
mapped onto a synapse by `~nengo_lmu.mapping.ss2sim`. `.LMUMemory` is a
LinearNetwork of a `~nengo_lmu.systems.LegendreDelay` plus its readouts.
"""

import warnings

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    check_count,
    check_positive_finite,
    check_synapse,
)
from nengo_lmu.mapping import balanced_realization, scaled_realization, ss2sim
from nengo_lmu.systems import LinearSystem

DISCRETIZERS = ("zoh", "euler")
OUTPUTS = ("system", "state")
#: Unless given, the neural realisation's intercepts and solver (measured on
#: benchmark B1, see the docs).
DEFAULT_INTERCEPTS = nengo.dists.Uniform(-0.3, 0.3)
DEFAULT_SOLVER = nengo.solvers.LstsqL2(reg=0.03)
#: Taylor degree of the inverse of a synapse's zeros in the neural mapping
#: (`~nengo_lmu.mapping.ss2sim`'s ``zero_order``).
DEFAULT_ZERO_ORDER = 1


def renamed_keyword(kwargs, old, new, value, default, obj=None, since="0.2"):
    """The value of a renamed keyword argument, warning if the old name was used.

    ``kwargs`` (a ``**kwargs`` dict) may hold the ``old`` name; it is popped.
    Raises a ValidationError if both names were given.
    """
    if old not in kwargs:
        return value
    old_value = kwargs.pop(old)
    if value is not default:
        raise ValidationError(
            f"given twice, as {new!r} and as its deprecated name {old!r}",
            attr=new,
            obj=obj,
        )
    warnings.warn(
        f"{old!r} is deprecated since NengoLMU {since} and will be removed in the "
        f"next release; use {new!r}",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value


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
      the exact one by one time step (the recurrent synapse's update).
      Unless given, intercepts are ``Uniform(-0.3, 0.3)`` and the solver is
      ``LstsqL2(reg=0.03)`` (benchmark B1). Higher-order synapses with zeros
      (``nengo.Alpha``, ``nengo.DoubleExp``, discretised by zero-order hold)
      are mapped with the inverse of their zeros approximated to
      ``zero_order`` Taylor terms (see `~nengo_lmu.mapping.ss2sim`); input
      advances that a higher-order synapse calls for are summed onto the
      current input (exact for inputs that change little over a few steps).

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
        realisation.
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
        (default), or the given system's own states, scaled.
    ensemble_dimensions : int
        States per ensemble: 1 (default, an array of 1-D ensembles) up to the
        number of states (one ensemble per copy); must divide the number of
        states.
    mapping_synapse : nengo.LinearFilter, optional
        The synapse the recurrence is mapped onto when the simulator realises
        ``synapse`` as a different filter (for example the Loihi emulator's
        decode filter and delays, `nengo_lmu.loihi.loop_synapse`); defaults to
        ``synapse``.
    zero_order : int
        Taylor degree of the approximate inverse of the mapping synapse's
        zeros (default 1; synapses without zeros are mapped exactly
        whatever its value).
    **ensemble_kwargs
        Passed to every `nengo.Ensemble` (e.g. ``max_rates``, ``intercepts``,
        ``encoders``, ``eval_points``, ``radius``); ``solver`` is passed to the
        recurrent and state connections.

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

    REALIZATIONS = ("balanced", "given")

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
        neurons_per_dimension = renamed_keyword(
            ensemble_kwargs, "n_neurons", "neurons_per_dimension",
            neurons_per_dimension, None, self,
        )
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
        if neuron_type is not None and not isinstance(
            neuron_type, nengo.neurons.NeuronType
        ):
            raise ValidationError(
                f"must be a nengo.neurons.NeuronType instance, got {neuron_type!r}",
                attr="neuron_type",
                obj=self,
            )
        self.zero_order = check_count(zero_order, "zero_order", self, low=0)
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
        self.mapped_system = None
        self.state_transform = None
        self.gain_connection = None

        with self:
            self.input = nengo.Node(size_in=self.size_in, label="input")
            self.state = nengo.Node(size_in=self.copies * n, label="state")
            if self.neurons_per_dimension is None:
                if discretizer == "euler":
                    self._build_euler()
                else:
                    self._build_exact()
            else:
                self._build_neural(
                    neuron_type, input_rms, input_high, n_std, ensemble_kwargs
                )
            self.output = self.state if output == "state" else self._build_output()

    def _check_choice(self, value, choices, attr):
        if not isinstance(value, str) or value not in choices:
            raise ValidationError(
                f"must be one of {choices}, got {value!r}", attr=attr, obj=self
            )

    def _copy(self, node, c, size):
        """Copy ``c``'s slice of ``node`` (the whole node for one copy: no
        slicing ops in NengoDL)."""
        return node if self.copies == 1 else node[c * size: (c + 1) * size]

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
        system = self.discrete_system
        n, m = system.state_size, system.input_size
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
        Ahat, Bhat = self.mapped_system.A, self.mapped_system.B
        # terms on the input's advances (higher-order synapses only), grouped
        # by advance: summed onto the current input
        Bhat = Bhat.reshape(n, -1, m).sum(axis=1)
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
            u = self._copy(self.input, c, m)
            for post, bi in zip(group, blocks):
                nengo.Connection(u, post, transform=Bhat[bi], synapse=self.synapse)

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
