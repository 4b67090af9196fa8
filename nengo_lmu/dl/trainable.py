"""The exact LMU memory with a time scale that NengoDL can train (zero-order hold).

The zero-order hold of ``theta dm/dt = A m + B u`` at a step of ``dt`` is::

    [[Abar, Bbar], [0, I]] = expm([[A, B], [0, 0]] * dt / theta)

which is no linear function of a weight, so it cannot be a Connection
transform. As KerasLMU 0.8 does, the memory update here computes ``Abar``
and ``Bbar`` from the trainable ``theta_inv = dt / theta`` (KerasLMU's
``theta_inv``, in steps) by a differentiable matrix exponential, in a
``nengo_dl.TensorNode``. KerasLMU computes the exponential at every step;
``theta`` does not change during a forward pass, so here NengoDL's build
stage that runs once per pass, outside the simulation loop (``build_pre``),
computes it and every step reuses it: the same matrices and gradients, and
no matrix exponential (a nested loop and conditionals) in the loop body.

This memory therefore runs in NengoDL only; to run the learned time scale in
``nengo.Simulator`` or on a neural memory, build the LMU again with the
learned ``theta`` (`nengo_lmu.dl.lmu_weights`).

TensorFlow and NengoDL are imported only when such a memory is built.
"""

import functools

import nengo
import numpy as np

from nengo_lmu._extras import require
from nengo_lmu.networks.memory import LMUMemory
from nengo_lmu.systems import LegendreDelay

_NOT_COPYABLE = (
    "an LMU with trainable_theta=True and discretizer='zoh' (its memory is a "
    "TrainableThetaMemory, a NengoDL TensorNode holding a Keras layer) cannot be "
    "copied or pickled: build the network again instead, and carry trained values "
    "over with nengo_lmu.dl.lmu_weights(sim, lmu) (its 'theta' is the learned one)"
)


@functools.lru_cache(maxsize=None)
def _layer_class():
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    class ZOHThetaMemory(tf.keras.layers.Layer):
        """One step ``m_t = Abar m_{t-1} + Bbar u_t`` of ``memory_d`` memories,
        with ``(Abar, Bbar)`` the zero-order hold at the trainable
        ``theta_inv``. Input ``[u_t ; m_{t-1}]``, output ``m_t``."""

        def __init__(self, order, memory_d, theta_inv, **kwargs):
            super().__init__(**kwargs)
            self.order = order
            self.memory_d = memory_d
            self.initial_theta_inv = float(theta_inv)
            A, B = LegendreDelay(1.0, order).ss[:2]
            # [[A, B], [0, 0]]: expm of it times theta_inv holds Abar and Bbar
            square = np.zeros((order + 1, order + 1))
            square[:order, :order] = A
            square[:order, order:] = B
            self.square = square
            self.theta_inv = None

        def build(self, input_shape):
            # float64 whatever the simulator's precision: the exponential is
            # computed in float64 and cast to the signals' dtype
            self.theta_inv = self.add_weight(
                name="theta_inv",
                shape=(),
                dtype="float64",
                initializer=tf.initializers.constant(self.initial_theta_inv),
                # >= 0 as KerasLMU's NonNeg (which casts to float32)
                constraint=tf.nn.relu,
            )
            super().build(input_shape)

        def discrete_matrices(self):
            """``(Abar, Bbar)`` at the current ``theta_inv``."""
            full = tf.linalg.expm(tf.constant(self.square) * self.theta_inv)
            return full[: self.order, : self.order], full[: self.order, self.order :]

        def call(self, inputs):
            return self.step(inputs, *self.discrete_matrices())

        def step(self, inputs, Abar, Bbar):
            """The step with ``(Abar, Bbar)`` computed already."""
            Abar = tf.cast(Abar, inputs.dtype)
            Bbar = tf.cast(Bbar, inputs.dtype)
            d, q = self.memory_d, self.order
            u = inputs[:, :d]
            m = tf.reshape(inputs[:, d:], (-1, d, q))
            m = tf.matmul(m, Abar, transpose_b=True) + u[:, :, None] * Bbar[:, 0]
            return tf.reshape(m, (-1, d * q))

        def compute_output_shape(self, input_shape):
            return tf.TensorShape((input_shape[0], self.memory_d * self.order))

        def __reduce_ex__(self, protocol):
            raise TypeError(_NOT_COPYABLE)

        def __deepcopy__(self, memo):
            raise TypeError(_NOT_COPYABLE)

    return ZOHThetaMemory


@functools.lru_cache(maxsize=None)
def _step_node_class():
    """A ``nengo_dl.TensorNode`` whose NengoDL builder computes the layer's
    ``(Abar, Bbar)`` once per run (in ``build_pre``) instead of every step."""
    # pylint: disable=import-outside-toplevel
    import nengo_dl
    from nengo_dl.tensor_node import (
        SimTensorNode,
        SimTensorNodeBuilder,
        build_tensor_node,
    )

    class ZOHStepNode(nengo_dl.TensorNode):
        """The memory's step; ``tensor_func`` is a ZOHThetaMemory layer."""

    class SimZOHStep(SimTensorNode):
        """SimTensorNode of a ZOHStepNode (its own type, for its builder)."""

    @nengo_dl.builder.NengoBuilder.register(ZOHStepNode)
    def build_zoh_step(model, node):
        build_tensor_node(model, node)
        op = model.operators.pop()
        assert isinstance(op, SimTensorNode) and op.func is node.tensor_func
        model.operators.append(
            SimZOHStep(op.func, op.time, op.input, op.output, op.shape_in)
        )

    @nengo_dl.builder.Builder.register(SimZOHStep)
    class ZOHStepBuilder(SimTensorNodeBuilder):
        def build_pre(self, signals, config):
            super().build_pre(signals, config)
            # outside the simulation loop: once per forward pass
            self.matrices = self.func.discrete_matrices()

        def build_step(self, signals):
            inputs = signals.gather(self.src_data)
            signals.scatter(self.dst_data, self.func.step(inputs, *self.matrices))

    return ZOHStepNode


class TrainableThetaMemory(LMUMemory):
    """The exact zero-order-hold `.LMUMemory` with a trainable ``theta`` (NengoDL).

    An `.LMUMemory` in all but its update step (so it has the same
    ``input``, ``output`` and ``state``, ``theta``, ``order``, ``system``,
    readouts such as `~.LMUMemory.add_delay_output`): the step
    ``m_t = Abar m_{t-1} + Bbar u_t`` of all ``size_in`` memories is one
    ``nengo_dl.TensorNode`` that computes ``(Abar, Bbar)`` from the trainable
    ``theta_inv = dt / theta`` (`layer`). ``discrete_system`` is the update
    at the initial ``theta``; `trained_theta` gives the current one.

    Parameters
    ----------
    theta : float
        Initial window in seconds.
    order : int
        Legendre coefficients per memory.
    size_in : int
        Number of memories (KerasLMU's ``memory_d``).
    dt : float
        Simulator time step in seconds.
    label, seed, add_to_container
        As for any `nengo.Network`.

    Attributes
    ----------
    layer : tf.keras.layers.Layer
        The step, holding the trainable ``theta_inv = dt / theta``.

    Notes
    -----
    It runs in NengoDL only: `~nengo_lmu.spiking.to_spiking` and
    `~nengo_lmu.loihi.check_loihi` refuse it, and it (so a network holding
    it) cannot be copied or pickled (a TypeError that says so): NengoDL's
    TensorNode cannot be copied under Nengo 4. Rebuild the network instead.

    See Also
    --------
    nengo_lmu.networks.memory.lmu_memory : builds it for an `.LMU` with
        ``trainable_theta=True`` and ``discretizer="zoh"``.
    """

    nengo_dl_only = True

    def __init__(
        self,
        theta,
        order,
        size_in=1,
        dt=0.001,
        label=None,
        seed=None,
        add_to_container=None,
    ):
        # fail here, before building anything, without NengoDL
        require(
            "nengo_dl", "tensorflow", what="a trainable theta with discretizer='zoh'"
        )

        self.layer = None
        super().__init__(
            theta,
            order,
            size_in=size_in,
            dt=dt,
            label=label,
            seed=seed,
            add_to_container=add_to_container,
        )

    def _build_exact(self):
        # LinearNetwork's hook for the exact update: one TensorNode for all
        # memories instead of Abar and Bbar as Connection transforms
        d, q = self.copies, self.order
        n = d * q
        self.layer = _layer_class()(q, d, self.dt / self.theta)
        step = _step_node_class()(
            self.layer,
            shape_in=(d + n,),
            shape_out=(n,),
            pass_time=False,
            label="zoh_step",
        )
        nengo.Connection(self.input, step[:d], synapse=None)
        # synapse=0 is a one-step delay: m_{t-1} into the step
        nengo.Connection(self.state, step[d:], synapse=0)
        nengo.Connection(step, self.state, synapse=None)

    def _not_copyable(self):
        return TypeError(
            f"{self} (a trainable-theta memory: a TensorFlow layer in a "
            "nengo_dl.TensorNode) cannot be copied or pickled; read "
            "the learned theta (nengo_lmu.dl.lmu_weights(sim, lmu)['theta']) and "
            "build the LMU again with it and trainable_theta=False"
        )

    def __deepcopy__(self, memo):
        raise self._not_copyable()

    def __reduce_ex__(self, protocol):
        raise self._not_copyable()

    def trained_theta(self):
        """``theta`` in seconds at the layer's current ``theta_inv``."""
        if self.layer.theta_inv is None:
            return self.theta
        return self.dt / float(self.layer.theta_inv.numpy())
