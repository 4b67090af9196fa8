"""LMU: the whole Legendre Memory Unit cell as a Nengo network.

Step for step the KerasLMU 0.8 cell::

    u_t = W_u [x_t ; h_{t-1}] + b_u + W_mm m_{t-1}
    m_t = Abar m_{t-1} + Bbar u_t
    h_t = f(W_h [m_t ; x_t] + U h_{t-1} + b_h)

Weights are stored and accepted in KerasLMU's shapes (``kernel`` is
``(input_d [+ units], memory_d)`` and so on), so weights copy across directly.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    as_matrix,
    check_bool,
    check_count,
    check_dropout_rate,
    check_neuron_type,
    check_order,
    check_positive_finite,
    check_seed,
    coerce_synapse,
)
from nengo_lmu.networks.dropout import SequenceDropout
from nengo_lmu.networks.guards import removed_on_failure
from nengo_lmu.networks.linear import DISCRETIZERS
from nengo_lmu.networks.memory import lmu_memory
from nengo_lmu.networks.weights import (
    inherited_seed,
    make_weights,
    protect_from_probe_seeds,
)


class LMU(nengo.Network):
    """A Legendre Memory Unit cell: the memory and a nonlinear hidden state.

    The semantics are KerasLMU 0.8's ``LMUCell`` (option names as there), with
    ``theta`` in seconds: one input sample per simulator step of ``dt``, so
    KerasLMU's ``theta`` of ``n`` steps is ``n * dt`` seconds here. The hidden
    state is built from an Ensemble's ``.neurons`` (gain 1, bias ``b_h``), so
    ``h = f(J)`` for the neuron type's rate function ``f``; NengoDL trains its
    connection weights and biases, and the reference simulator runs it.

    With ``steps_per_sample=k`` the network runs the same model at a finer
    time resolution: each input sample is held for ``k`` simulator steps of
    ``dt`` (e.g. ``np.repeat(x, k, axis=1)``), and the memory is the
    zero-order hold of the Legendre system over a window of ``k * theta``
    simulated seconds, discretised at ``dt``. The zero-order hold composes
    exactly (``Abar_dt**k = Abar_{k dt}``), so after the ``k`` steps of each
    held sample the memory, and with it the output, equals the model's at
    that sample; the steps in between are the memory of the held input at
    intermediate times. Spiking neurons (`nengo_lmu.spiking.to_spiking`) and
    neural memories then get ``k`` steps per sample to settle.

    Parameters
    ----------
    size_in : int
        Input dimensions ``input_d``.
    memory_d : int
        Number of independent memories.
    order : int
        Legendre coefficients per memory.
    theta : float or None
        Memory window in seconds of the model, at one sample per ``dt``
        (KerasLMU's ``theta`` in steps times ``dt``), whatever
        ``steps_per_sample`` is: with ``k`` steps per sample the window lasts
        ``k * theta`` simulated seconds (`memory` has that ``theta``). None
        only with ``memory_matrices`` (whose matrices already hold the time
        scale; ``theta`` is then a label).
    hidden_units : int
        Units of the hidden state; 0 for no hidden part (the output is then
        ``m``, or ``[m ; x]`` with ``input_to_hidden``, as KerasLMU with
        ``hidden_cell=None``).
    hidden_neuron_type : nengo.neurons.NeuronType
        Nonlinearity ``f`` (default ``nengo.Tanh(tau_ref=1)``, i.e. tanh).
        Rate types (Tanh, RectifiedLinear, LIFRate, NengoDL's SoftLIFRate)
        train in NengoDL; spiking types run after `nengo_lmu.spiking.to_spiking`.
    hidden_recurrent : bool
        Hidden-to-hidden weights ``U`` (KerasLMU's SimpleRNNCell); False is a
        Dense hidden cell.
    hidden_to_memory, memory_to_memory, input_to_hidden, use_bias : bool
        As in KerasLMU: ``h_{t-1}`` feeds ``u``; ``m_{t-1}`` feeds ``u``;
        ``x_t`` feeds the hidden state; ``u`` has a bias ``b_u``.
    discretizer : {"zoh", "euler"}
        Discretisation of the memory.
    trainable_theta : bool
        Make the time scale trainable in NengoDL, as KerasLMU does. With
        ``"euler"`` the memory update is
        ``m_t = m_{t-1} + (dt / theta) (A m_{t-1} + B u_t)`` with the gain
        ``dt / theta`` on a Connection of its own (`theta_connection`). With
        ``"zoh"`` the update recomputes ``Abar`` and ``Bbar`` from the
        trainable ``dt / theta`` by a matrix exponential on every step, in a
        ``nengo_dl.TensorNode`` (`theta_layer`;
        `~nengo_lmu.dl.trainable.TrainableThetaMemory`), so such an LMU
        runs in NengoDL only. In both cases
        ``nengo_lmu.dl.lmu_weights(sim, lmu)["theta"]`` is the learned
        value; build the LMU again with it (and ``trainable_theta=False``)
        to run it in ``nengo.Simulator`` or with a neural memory. Only for
        the exact memory.
    dt : float
        Simulator time step in seconds.
    steps_per_sample : int
        Simulator steps per input sample (default 1), see above. Only where
        the cell can be dilated exactly, i.e. where nothing carries a
        previous *sample's* value into the memory or the hidden state: not
        with ``hidden_to_memory`` or ``memory_to_memory`` (``u`` would read
        ``h`` or ``m`` one *step* back), a recurrent hidden state
        (``hidden_recurrent`` with ``hidden_units >= 1``: ``U h`` would recur
        every step), ``discretizer="euler"`` (Euler steps do not compose:
        ``(I + A dt / (k theta))**k`` is not ``I + A dt / theta``) or
        ``memory_matrices`` (no exact ``k``-th root in general); a
        ValidationError names the option that blocks it. A trainable theta
        (zero-order hold) is exact; `nengo_lmu.dl.lmu_weights` reports it in
        the model's seconds, as ``theta``.
    memory_neurons_per_dimension : int or None
        None (default) for the exact memory (a Node); an integer for a neural
        memory with that many neurons per state dimension (`LMUMemory`'s
        ``neurons_per_dimension``; Euler memory not supported there).
    memory_kwargs : dict, optional
        Further `LMUMemory` arguments for the neural memory (so
        `.LinearNetwork`'s: ``synapse``, ``neuron_type``, ensemble options...).
    output_synapse : nengo.synapses.Synapse or float, optional
        Synapse from the hidden neurons to ``output`` (None by default, as in
        Keras). Training with the synapse that a spiking version will need
        (see `nengo_lmu.spiking.to_spiking`) teaches the readout the synapse's lag,
        so that only spike noise differs after the swap.
    memory_matrices : tuple of array_like, optional
        ``(Abar, Bbar)`` of shapes ``(order, order)`` and ``(order, 1)``: the
        discrete memory update ``m_t = Abar m_{t-1} + Bbar u_t`` to use instead
        of the zero-order hold of the Legendre system (each of the
        ``memory_d`` memories gets the same matrices). For weights trained
        with a learned or otherwise different memory, such as the LMU paper's
        ``LMUCell`` (see `nengo_lmu.interop.network_from_paper_file`). Only
        for the exact memory: not with ``memory_neurons_per_dimension``,
        ``discretizer="euler"`` or ``trainable_theta``.
    kernel_initializer, recurrent_initializer, bias_initializer : optional
        ``W_u`` ``(input_d [+ units], memory_d)``, ``W_mm``
        ``(memory_d * order, memory_d)``, ``b_u`` ``(memory_d,)``; arrays, a
        nengo Distribution, or "glorot_uniform", "orthogonal", "zeros".
    hidden_kernel_initializer, hidden_recurrent_initializer, \
hidden_bias_initializer : optional
        ``W_h`` ``(memory_d * order [+ input_d], units)``, ``U``
        ``(units, units)``, ``b_h`` ``(units,)``; as above.
    kernel_regularizer, recurrent_regularizer, bias_regularizer : optional
        As in KerasLMU: penalties on ``kernel`` (``W_u``, all its rows),
        ``recurrent_kernel`` (``W_mm``) and ``bias`` (``b_u``), each a
        callable from the weight (a tensor in KerasLMU's shape) to a scalar,
        such as ``tf.keras.regularizers.L2(1e-4)``. They enter the NengoDL
        training loss through `nengo_lmu.dl.add_regularization`; the
        reference simulator ignores them.
    dropout : float
        As in KerasLMU's ``LMUCell``: the fraction of the memory's input
        ``[x_t ; h_{t-1}]`` (what ``kernel`` weighs; not the hidden state's
        copy of ``x_t``) dropped while training in NengoDL, with one mask per
        sequence, the kept values scaled by ``1 / (1 - dropout)``. Off at
        inference and in ``nengo.Simulator``
        (`~nengo_lmu.networks.dropout.SequenceDropout`).
    recurrent_dropout : float
        The same for ``m_{t-1}`` on its way through ``recurrent_kernel``;
        used only with ``memory_to_memory``, as in KerasLMU.
    seed : int, optional
        Seed for the initial weights and the network. Without one, an LMU
        built inside a seeded network draws its initial weights from a seed
        derived from the nearest seeded enclosing network and the LMU's place
        in it (`~nengo_lmu.networks.weights.inherited_seed`), so
        ``Network(seed=0)`` repeats them; with no seed anywhere they differ on
        every run, as in Nengo.

    Attributes
    ----------
    input : nengo.Node
        ``x_t``.
    output : nengo.Node
        ``h_t`` (or the memory output when ``hidden_units=0``).
    memory : LinearNetwork
        The memory (`~nengo_lmu.networks.memory.lmu_memory`): its ``input``
        is ``u_t``, its ``output`` is ``m_t`` and its ``discrete_system`` the
        update ``(Abar, Bbar)``. An `LMUMemory` (with ``theta``, ``order``
        and the window's readouts), the zero-order hold with a trainable
        theta included (`~nengo_lmu.dl.trainable.TrainableThetaMemory`, an
        `LMUMemory` subclass); with ``memory_matrices`` a plain
        `.LinearNetwork` of the discrete `~nengo_lmu.LinearSystem`
        ``(Abar, Bbar, I)``, one copy per memory.
    memory_matrices : tuple of ndarray or None
        The ``(Abar, Bbar)`` given, as float arrays.
    hidden : nengo.Ensemble or None
        The hidden state (use ``hidden.neurons``).
    weights : dict
        The initial weights in KerasLMU shapes: ``kernel``,
        ``recurrent_kernel``, ``bias``, ``hidden_kernel``,
        ``hidden_recurrent_kernel``, ``hidden_bias`` (absent when unused).
    fixed_connections : list of nengo.Connection
        The memory's own connections (``Abar``, ``Bbar``), which training
        leaves alone by default (see `nengo_lmu.dl.configure_training`).
    theta_connection : nengo.Connection or None
        The trainable ``dt / theta`` gain (Euler with ``trainable_theta``).
    dropout_nodes : dict
        The `~nengo_lmu.networks.dropout.SequenceDropout` Nodes by the
        signal they drop: ``"input"`` (``x_t``), ``"hidden"`` (``h_{t-1}``,
        with ``hidden_to_memory``), ``"memory"`` (``m_{t-1}``, with
        ``recurrent_dropout``); empty without dropout.
    steps_per_sample : int
        Simulator steps per input sample.
    theta_layer : tf.keras.layers.Layer or None
        The memory step holding the trainable ``theta_inv = dt / theta``
        (zero-order hold with ``trainable_theta``).
    weight_connections : dict
        For each key of `weights`, the Connections holding that weight (their
        transposed transforms stacked along rows give the KerasLMU weight);
        `nengo_lmu.dl.lmu_weights` reads them back.
    """

    @removed_on_failure
    def __init__(
        self,
        size_in,
        memory_d,
        order,
        theta,
        hidden_units=0,
        hidden_neuron_type=None,
        hidden_recurrent=True,
        hidden_to_memory=False,
        memory_to_memory=False,
        input_to_hidden=False,
        use_bias=False,
        discretizer="zoh",
        trainable_theta=False,
        dt=0.001,
        steps_per_sample=1,
        memory_neurons_per_dimension=None,
        memory_kwargs=None,
        output_synapse=None,
        memory_matrices=None,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        hidden_kernel_initializer="glorot_uniform",
        hidden_recurrent_initializer="orthogonal",
        hidden_bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        label=None,
        seed=None,
        add_to_container=None,
    ):
        seed = check_seed(seed, "seed", allow_none=True)
        super().__init__(label=label, seed=seed, add_to_container=add_to_container)
        self.size_in = check_count(size_in, "size_in", self)
        self.memory_d = check_count(memory_d, "memory_d", self)
        self.order = check_order(order, "order", self)
        if theta is None and memory_matrices is None:
            raise ValidationError(
                "must be a finite number > 0 (None only with memory_matrices)",
                attr="theta",
                obj=self,
            )
        self.theta = (
            None if theta is None else check_positive_finite(theta, "theta", self)
        )
        self.hidden_units = check_count(hidden_units, "hidden_units", self, low=0)
        self.dt = check_positive_finite(dt, "dt", self)
        output_synapse = coerce_synapse(
            output_synapse, "output_synapse", self, allow_none=True
        )
        self.output_synapse = output_synapse
        if discretizer not in DISCRETIZERS:
            raise ValidationError(
                f"must be one of {DISCRETIZERS}, got {discretizer!r}",
                attr="discretizer",
                obj=self,
            )
        self.discretizer = discretizer
        self.trainable_theta = check_bool(trainable_theta, "trainable_theta", self)
        if self.trainable_theta and memory_neurons_per_dimension is not None:
            raise ValidationError(
                "theta is trainable only on the exact memory "
                "(memory_neurons_per_dimension=None); learn it there, then "
                "build the neural memory with the learned theta "
                "(nengo_lmu.dl.lmu_weights(sim, lmu)['theta'])",
                attr="trainable_theta",
                obj=self,
            )
        if memory_neurons_per_dimension is not None and discretizer != "zoh":
            raise ValidationError(
                "a neural memory is mapped from the zero-order hold; use "
                "discretizer='zoh' with memory_neurons_per_dimension",
                attr="discretizer",
                obj=self,
            )
        self.memory_matrices = self._check_memory_matrices(
            memory_matrices, memory_neurons_per_dimension, memory_kwargs
        )
        if hidden_neuron_type is None:
            hidden_neuron_type = nengo.Tanh(tau_ref=1)
        self.hidden_neuron_type = check_neuron_type(
            hidden_neuron_type, "hidden_neuron_type", self
        )
        self.hidden_recurrent = check_bool(hidden_recurrent, "hidden_recurrent", self)
        self.hidden_to_memory = check_bool(hidden_to_memory, "hidden_to_memory", self)
        self.memory_to_memory = check_bool(memory_to_memory, "memory_to_memory", self)
        self.input_to_hidden = check_bool(input_to_hidden, "input_to_hidden", self)
        self.use_bias = check_bool(use_bias, "use_bias", self)
        if self.hidden_units == 0 and self.hidden_to_memory:
            raise ValidationError(
                "needs a hidden part (hidden_units >= 1)",
                attr="hidden_to_memory",
                obj=self,
            )
        self.steps_per_sample = self._check_steps_per_sample(steps_per_sample)

        self.dropout = check_dropout_rate(dropout, "dropout", self)
        self.recurrent_dropout = check_dropout_rate(
            recurrent_dropout, "recurrent_dropout", self
        )

        rng = np.random.RandomState(seed if seed is not None else inherited_seed(self))
        n_mem = self.memory_d * self.order
        enc_d = self.size_in + (self.hidden_units if self.hidden_to_memory else 0)
        hid_in = n_mem + (self.size_in if self.input_to_hidden else 0)
        w = {
            "kernel": make_weights(
                kernel_initializer,
                (enc_d, self.memory_d),
                rng,
                "kernel_initializer",
                self,
            )
        }
        if self.memory_to_memory:
            w["recurrent_kernel"] = make_weights(
                recurrent_initializer,
                (n_mem, self.memory_d),
                rng,
                "recurrent_initializer",
                self,
            )
        if self.use_bias:
            w["bias"] = make_weights(
                bias_initializer, (self.memory_d,), rng, "bias_initializer", self
            )
        if self.hidden_units:
            w["hidden_kernel"] = make_weights(
                hidden_kernel_initializer,
                (hid_in, self.hidden_units),
                rng,
                "hidden_kernel_initializer",
                self,
            )
            if self.hidden_recurrent:
                w["hidden_recurrent_kernel"] = make_weights(
                    hidden_recurrent_initializer,
                    (self.hidden_units, self.hidden_units),
                    rng,
                    "hidden_recurrent_initializer",
                    self,
                )
            w["hidden_bias"] = make_weights(
                hidden_bias_initializer,
                (self.hidden_units,),
                rng,
                "hidden_bias_initializer",
                self,
            )
        self.weights = w
        self.regularizers = {}
        for name, attr, reg in (
            ("kernel", "kernel_regularizer", kernel_regularizer),
            ("recurrent_kernel", "recurrent_regularizer", recurrent_regularizer),
            ("bias", "bias_regularizer", bias_regularizer),
        ):
            if reg is None:
                continue
            if not callable(reg):
                raise ValidationError(
                    "must be None or a callable from the weight to a scalar "
                    f"(e.g. tf.keras.regularizers.L2(1e-4)), got {reg!r}",
                    attr=attr,
                    obj=self,
                )
            if name in w:  # as in Keras, a weight the cell lacks has none
                self.regularizers[name] = reg

        with self:
            self._build(memory_neurons_per_dimension, memory_kwargs or {})
        protect_from_probe_seeds(self.all_connections, rng)

    def _build(self, memory_neurons_per_dimension, memory_kwargs):
        w = self.weights
        n_mem = self.memory_d * self.order
        self.input = nengo.Node(size_in=self.size_in, label="x")
        self.memory = lmu_memory(
            None if self.theta is None else self.theta * self.steps_per_sample,
            self.order,
            memory_d=self.memory_d,
            dt=self.dt,
            discretizer=self.discretizer,
            trainable_theta=self.trainable_theta,
            neurons_per_dimension=memory_neurons_per_dimension,
            matrices=self.memory_matrices,
            label="memory",
            **memory_kwargs,
        )
        # the zero-order hold's trainable theta (a TrainableThetaMemory)
        self.theta_layer = getattr(self.memory, "layer", None)
        gain = getattr(self.memory, "gain_connection", None)
        # the Euler gain dt / theta stays trainable when theta is, the rest
        # of the memory is fixed
        self.theta_connection = gain if self.trainable_theta else None
        self.fixed_connections = [
            c for c in self.memory.all_connections if c is not self.theta_connection
        ]
        u = self.memory.input
        m = self.memory.output
        kernel = w["kernel"]
        self.dropout_nodes = {}
        # the Connections holding each KerasLMU weight, as (connection, rows)
        # pairs: the weight is the transposed transforms stacked along rows
        parts = self.weight_connections = {}
        parts["kernel"] = [
            nengo.Connection(
                self._dropped(self.input, "input", self.dropout),
                u,
                transform=kernel[: self.size_in].T,
                synapse=None,
            )
        ]
        if self.use_bias:
            bias = nengo.Node(np.ones(1), label="bias")
            parts["bias"] = [
                nengo.Connection(bias, u, transform=w["bias"][:, None], synapse=None)
            ]
        if self.memory_to_memory:
            # synapse=0 delays one step: W_mm m_{t-1}
            parts["recurrent_kernel"] = [
                nengo.Connection(
                    self._dropped(m, "memory", self.recurrent_dropout),
                    u,
                    transform=w["recurrent_kernel"].T,
                    synapse=0,
                )
            ]

        if self.hidden_units == 0:
            self.hidden = None
            self.output = nengo.Node(
                size_in=n_mem + (self.size_in if self.input_to_hidden else 0),
                label="output",
            )
            nengo.Connection(m, self.output[:n_mem], synapse=None)
            if self.input_to_hidden:
                nengo.Connection(self.input, self.output[n_mem:], synapse=None)
            return

        self.hidden = nengo.Ensemble(
            self.hidden_units,
            1,
            neuron_type=self.hidden_neuron_type,
            gain=np.ones(self.hidden_units),
            bias=w["hidden_bias"],
            label="hidden",
        )
        h = self.hidden.neurons
        hk = w["hidden_kernel"]
        parts["hidden_kernel"] = [
            nengo.Connection(m, h, transform=hk[:n_mem].T, synapse=None)
        ]
        if self.input_to_hidden:
            parts["hidden_kernel"].append(
                nengo.Connection(self.input, h, transform=hk[n_mem:].T, synapse=None)
            )
        if self.hidden_recurrent:
            parts["hidden_recurrent_kernel"] = [
                nengo.Connection(
                    h, h, transform=w["hidden_recurrent_kernel"].T, synapse=0
                )
            ]
        if self.hidden_to_memory:
            parts["kernel"].append(
                nengo.Connection(
                    self._dropped(h, "hidden", self.dropout),
                    u,
                    transform=kernel[self.size_in :].T,
                    synapse=0,
                )
            )
        self.output = nengo.Node(size_in=self.hidden_units, label="output")
        nengo.Connection(h, self.output, synapse=self.output_synapse)

    def _check_steps_per_sample(self, steps_per_sample):
        """``steps_per_sample`` as an int, or a ValidationError naming the
        option that keeps the cell from being dilated exactly."""
        k = check_count(steps_per_sample, "steps_per_sample", self)
        if k == 1:
            return k
        for option, blocks, why in (
            (
                "hidden_to_memory",
                self.hidden_to_memory,
                "the memory's input would read h one step back, not one sample",
            ),
            (
                "memory_to_memory",
                self.memory_to_memory,
                "the memory's input would read m one step back, not one sample",
            ),
            (
                "hidden_recurrent",
                self.hidden_units > 0 and self.hidden_recurrent,
                "the hidden state would recur on every step, not every sample; "
                "use hidden_recurrent=False (a Dense hidden cell)",
            ),
            (
                "discretizer='euler'",
                self.discretizer == "euler",
                "k Euler steps do not compose to one: (I + A dt / (k theta))**k "
                "is not I + A dt / theta; use discretizer='zoh'",
            ),
            (
                "memory_matrices",
                self.memory_matrices is not None,
                "a given discrete update has no exact k-th root in general",
            ),
        ):
            if blocks:
                raise ValidationError(
                    f"steps_per_sample={k} cannot run this cell exactly with "
                    f"{option}: {why}; only steps_per_sample=1 is allowed with it",
                    attr="steps_per_sample",
                    obj=self,
                )
        return k

    def _dropped(self, signal, name, rate):
        """``signal``, or a dropout Node fed by it when ``rate > 0``."""
        if rate == 0:
            return signal
        size = signal.size_out
        node = nengo.Node(
            SequenceDropout(rate), size_in=size, size_out=size, label=f"{name}_dropout"
        )
        nengo.Connection(signal, node, synapse=None)
        self.dropout_nodes[name] = node
        return node

    def _check_memory_matrices(
        self, memory_matrices, memory_neurons_per_dimension, memory_kwargs
    ):
        if memory_matrices is None:
            return None
        attr = "memory_matrices"
        for option, bad in (
            ("memory_neurons_per_dimension", memory_neurons_per_dimension is not None),
            ("memory_kwargs", bool(memory_kwargs)),
            ("discretizer='euler'", self.discretizer != "zoh"),
            ("trainable_theta", self.trainable_theta),
        ):
            if bad:
                raise ValidationError(
                    f"given memory matrices are only for the exact memory; they "
                    f"cannot be combined with {option}",
                    attr=attr,
                    obj=self,
                )
        try:
            Abar, Bbar = memory_matrices
        except (TypeError, ValueError):
            raise ValidationError(
                "must be a pair (Abar, Bbar)", attr=attr, obj=self
            ) from None
        Abar = as_matrix(Abar, attr, self)
        Bbar = as_matrix(Bbar, attr, self, vector_as="column")
        q = self.order
        if Abar.shape != (q, q) or Bbar.shape != (q, 1):
            raise ValidationError(
                f"Abar and Bbar must have shapes {(q, q)} and {(q, 1)} "
                f"(order={q}), got {Abar.shape} and {Bbar.shape}",
                attr=attr,
                obj=self,
            )
        return Abar, Bbar
