"""Parallel training: the LMU memory of a whole sequence at once.

When an LMU's memory does not depend on its own past (no ``hidden_to_memory``,
no ``memory_to_memory``) and its hidden cell is Dense (``hidden_recurrent=
False``), the memory is a fixed linear system driven by ``u_t = W_u x_t
(+ b_u)``, so it is the convolution of ``u`` with the system's impulse
response ``H[k] = Abar^k Bbar``::

    m_t = sum_{k=0}^{t} H[k] u_{t-k}

and nothing in the cell needs the previous step. `ParallelLMU` is a Keras
layer computing the cell this way: for the last step alone, one matrix
product with the reversed impulse response; for every step, a convolution by
FFT. It trains as fast as the hardware multiplies matrices, with no loop over
time, and its weights load back into an `~nengo_lmu.LMU` network
(`ParallelLMU.lmu_parameters`), which then runs step by step in Nengo (and
spiking, after `nengo_lmu.spiking.to_spiking`) with the same outputs.

TensorFlow is imported when a layer is made (`ParallelLMU` is created on
first use, so that ``import nengo_lmu.interop.parallel`` stays light).
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_count, check_dropout_rate
from nengo_lmu.systems import LegendreDelay

#: hidden activations of the layer and the neuron types of the Nengo LMU
HIDDEN_ACTIVATIONS = {
    "tanh": lambda: nengo.Tanh(tau_ref=1),
    "relu": lambda: nengo.RectifiedLinear(),
}


def impulse_response(Abar, Bbar, n_steps):
    """The discrete memory's response to a unit impulse at step 0.

    Parameters
    ----------
    Abar, Bbar : array_like
        ``(order, order)`` and ``(order, 1)``: ``m_t = Abar m_{t-1} + Bbar u_t``.
    n_steps : int
        Steps of the response.

    Returns
    -------
    H : ndarray, shape (n_steps, order)
        ``H[k] = Abar^k Bbar`` (float64).

    Examples
    --------
    >>> sys = LegendreDelay(1.0, 6).discretize(0.001)
    >>> impulse_response(sys.A, sys.B, 1000).shape
    (1000, 6)
    """
    n_steps = check_count(n_steps, "n_steps")
    Abar = np.asarray(Abar, dtype=float)
    b = np.asarray(Bbar, dtype=float).reshape(-1)
    H = np.empty((n_steps, b.size))
    for k in range(n_steps):
        H[k] = b
        b = Abar @ b
    return H


def lmu_memory_matrices(lmu):
    """``(Abar, Bbar)`` of an `~nengo_lmu.LMU`'s exact memory (zero-order
    hold of the Legendre system at ``lmu.dt``, or its ``memory_matrices``)."""
    if lmu.memory_matrices is not None:
        return lmu.memory_matrices
    system = LegendreDelay(lmu.theta, lmu.order).discretize(lmu.dt)
    return system.A, system.B


def check_parallel(lmu):
    """Raise a ValidationError unless ``lmu`` can be computed in parallel."""
    for attr, bad, why in (
        ("hidden_to_memory", lmu.hidden_to_memory, "feeds h_{t-1} into u_t"),
        ("memory_to_memory", lmu.memory_to_memory, "feeds m_{t-1} into u_t"),
        (
            "hidden_recurrent",
            lmu.hidden_units and lmu.hidden_recurrent,
            "feeds h_{t-1} into h_t (use hidden_recurrent=False, a Dense cell)",
        ),
        (
            "discretizer",
            lmu.discretizer != "zoh" and lmu.memory_matrices is None,
            "only the zero-order hold (or given memory_matrices) is supported",
        ),
        ("trainable_theta", lmu.trainable_theta, "theta is fixed in parallel"),
    ):
        if bad:
            raise ValidationError(
                f"the parallel path needs a memory and hidden cell that do not "
                f"depend on their own past; {attr} {why}",
                attr=attr,
                obj=lmu,
            )
    if lmu.hidden_units:
        kinds = {type(make()): name for name, make in HIDDEN_ACTIVATIONS.items()}
        if type(lmu.hidden_neuron_type) not in kinds:
            raise ValidationError(
                f"the parallel path supports hidden neuron types "
                f"{[type(make()).__name__ for make in HIDDEN_ACTIVATIONS.values()]}, "
                f"got {type(lmu.hidden_neuron_type).__name__}",
                attr="hidden_neuron_type",
                obj=lmu,
            )


def parallel_layer_config(lmu, weights=None):
    """`ParallelLMU` arguments equal to an `~nengo_lmu.LMU` (and its weights).

    ``weights`` defaults to ``lmu.weights`` (the initial weights); give a dict
    with the same keys for trained ones.
    """
    check_parallel(lmu)
    weights = dict(lmu.weights if weights is None else weights)
    Abar, Bbar = lmu_memory_matrices(lmu)
    activation = None
    if lmu.hidden_units:
        kinds = {type(make()): name for name, make in HIDDEN_ACTIVATIONS.items()}
        activation = kinds[type(lmu.hidden_neuron_type)]
    return dict(
        memory_d=lmu.memory_d,
        order=lmu.order,
        memory_matrices=(np.array(Abar, dtype=float), np.array(Bbar, dtype=float)),
        hidden_units=lmu.hidden_units,
        hidden_activation=activation,
        input_to_hidden=lmu.input_to_hidden,
        initial_weights={k: np.array(v, dtype=float) for k, v in weights.items()},
        theta=lmu.theta,
        dt=lmu.dt,
        given_matrices=lmu.memory_matrices is not None,
        dropout=lmu.dropout,
    )


_LAYER = None


def _layer_class():
    """The Keras layer class, defined on first use (TensorFlow imported then)."""
    global _LAYER  # pylint: disable=global-statement
    if _LAYER is not None:
        return _LAYER
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    class ParallelLMULayer(tf.keras.layers.Layer):
        """See `ParallelLMU`."""

        def __init__(
            self,
            memory_d,
            order,
            memory_matrices,
            hidden_units=0,
            hidden_activation="tanh",
            input_to_hidden=False,
            use_bias=False,
            return_sequences=False,
            initial_weights=None,
            theta=None,
            dt=0.001,
            given_matrices=False,
            dropout=0.0,
            **kwargs,
        ):
            super().__init__(**kwargs)
            self.dropout = check_dropout_rate(dropout, "dropout")
            self.memory_d = memory_d
            self.order = order
            Abar, Bbar = memory_matrices
            self.Abar = np.asarray(Abar, dtype=float)
            self.Bbar = np.asarray(Bbar, dtype=float).reshape(order, 1)
            self.hidden_units = hidden_units
            self.hidden_activation = hidden_activation
            self.input_to_hidden = input_to_hidden
            self.initial_weights = dict(initial_weights or {})
            self.use_bias = use_bias or "bias" in self.initial_weights
            self.return_sequences = return_sequences
            self.theta = theta
            self.dt = dt
            self.given_matrices = bool(given_matrices)

        def _add(self, name, shape, initializer="glorot_uniform"):
            value = self.initial_weights.get(name)
            if value is not None:
                value = np.asarray(value, dtype=float)
                if value.shape != tuple(shape):
                    raise ValidationError(
                        f"{name} must have shape {tuple(shape)}, got {value.shape}",
                        attr="initial_weights",
                    )
                initializer = tf.keras.initializers.Constant(value)
            return self.add_weight(name=name, shape=shape, initializer=initializer)

        def build(self, input_shape):
            steps, size_in = input_shape[1], input_shape[-1]
            if steps is None:
                raise ValidationError(
                    "the parallel path needs the sequence length in the input "
                    "shape (keras.Input((steps, d)))",
                    attr="input_shape",
                )
            self.size_in = int(size_in)
            self.steps = int(steps)
            n_mem = self.memory_d * self.order
            self.kernel = self._add("kernel", (self.size_in, self.memory_d))
            self.bias = (
                self._add("bias", (self.memory_d,), "zeros") if self.use_bias else None
            )
            H = impulse_response(self.Abar, self.Bbar, self.steps)
            # H reversed in time: the last step's memory is one product
            self.H_last = tf.constant(H[::-1], dtype=self.dtype)
            self.H = tf.constant(H, dtype=self.dtype)
            # the LMU's dropout: one mask per sequence on the memory's input
            self.dropout_layer = None
            if self.dropout:
                self.dropout_layer = tf.keras.layers.Dropout(
                    self.dropout, noise_shape=(None, 1, self.size_in), dtype=self.dtype
                )
            if self.hidden_units:
                hid_in = n_mem + (self.size_in if self.input_to_hidden else 0)
                self.hidden_kernel = self._add(
                    "hidden_kernel", (hid_in, self.hidden_units)
                )
                self.hidden_bias = self._add(
                    "hidden_bias", (self.hidden_units,), "zeros"
                )
            super().build(input_shape)

        def memory(self, u):
            """The memory of ``u`` (batch, steps, memory_d): every step
            (batch, steps, memory_d * order), or the last (batch, ...)."""
            if not self.return_sequences:
                m = tf.einsum("btd,tq->bdq", u, self.H_last)
                return tf.reshape(m, (-1, self.memory_d * self.order))
            # causal convolution along time by FFT, zero-padded to 2 * steps
            n = 2 * self.steps
            ctype = tf.complex128 if self.dtype == "float64" else tf.complex64
            U = tf.signal.rfft(tf.transpose(u, (0, 2, 1)), fft_length=[n])
            Hf = tf.signal.rfft(tf.transpose(self.H), fft_length=[n])
            M = tf.cast(U[:, :, None, :], ctype) * tf.cast(Hf[None, None], ctype)
            m = tf.signal.irfft(M, fft_length=[n])[..., : self.steps]
            # (batch, d, q, steps) -> (batch, steps, d * q)
            m = tf.transpose(m, (0, 3, 1, 2))
            return tf.reshape(m, (-1, self.steps, self.memory_d * self.order))

        def call(self, inputs, training=None):
            dropped = inputs
            if self.dropout_layer is not None:
                dropped = self.dropout_layer(inputs, training=training)
            u = tf.matmul(dropped, self.kernel)
            if self.bias is not None:
                u = u + self.bias
            m = self.memory(u)
            if not self.hidden_units:
                if self.input_to_hidden:
                    x = inputs if self.return_sequences else inputs[:, -1]
                    return tf.concat([m, x], axis=-1)
                return m
            if self.input_to_hidden:
                x = inputs if self.return_sequences else inputs[:, -1]
                m = tf.concat([m, x], axis=-1)
            j = tf.matmul(m, self.hidden_kernel) + self.hidden_bias
            return tf.tanh(j) if self.hidden_activation == "tanh" else tf.nn.relu(j)

        def lmu_weights(self):
            """The layer's weights, keys as `~nengo_lmu.LMU.weights`."""
            weights = {"kernel": self.kernel.numpy().astype(float)}
            if self.bias is not None:
                weights["bias"] = self.bias.numpy().astype(float)
            if self.hidden_units:
                weights["hidden_kernel"] = self.hidden_kernel.numpy().astype(float)
                weights["hidden_bias"] = self.hidden_bias.numpy().astype(float)
            return weights

        def lmu_parameters(self, dt=None):
            """Arguments for `~nengo_lmu.LMU` giving the same cell, weights
            included (step by step, with the exact memory)."""
            if not self.built:
                raise ValidationError("the layer must be built first", attr="layer")
            weights = self.lmu_weights()
            params = dict(
                size_in=self.size_in,
                memory_d=self.memory_d,
                order=self.order,
                theta=self.theta,
                dt=self.dt if dt is None else dt,
                hidden_units=self.hidden_units,
                hidden_recurrent=False,
                input_to_hidden=self.input_to_hidden,
                use_bias=self.bias is not None,
                kernel_initializer=weights["kernel"],
                dropout=self.dropout,
            )
            if self.theta is None or self.given_matrices:
                params["memory_matrices"] = (self.Abar, self.Bbar)
            else:
                # theta in steps is what the layer learned with
                params["theta"] = self.theta / self.dt * params["dt"]
            if self.bias is not None:
                params["bias_initializer"] = weights["bias"]
            if self.hidden_units:
                params["hidden_neuron_type"] = HIDDEN_ACTIVATIONS[
                    self.hidden_activation
                ]()
                params["hidden_kernel_initializer"] = weights["hidden_kernel"]
                params["hidden_bias_initializer"] = weights["hidden_bias"]
            return params

    _LAYER = ParallelLMULayer
    return _LAYER


def ParallelLMU(lmu=None, weights=None, return_sequences=False, **kwargs):
    """A Keras layer computing an LMU cell over a whole sequence at once.

    Parameters
    ----------
    lmu : LMU, optional
        The `~nengo_lmu.LMU` network to mirror (its options and ``weights``).
        It must not depend on its own past (see `check_parallel`). Without
        it, give the layer's arguments directly: ``memory_d``, ``order``,
        ``memory_matrices=(Abar, Bbar)``, ``hidden_units``,
        ``hidden_activation`` ("tanh" or "relu"), ``input_to_hidden``,
        ``use_bias``, ``initial_weights`` (dict, LMU weight names),
        ``theta`` and ``dt`` (for loading back; ``given_matrices=True`` loads
        the matrices back rather than rebuilding them from ``theta``),
        ``dropout`` (the LMU's: one mask per sequence on the memory's input,
        in training only).
    weights : dict, optional
        Trained weights to start from instead of ``lmu.weights``.
    return_sequences : bool
        Output every step (FFT convolution) or the last one (one matrix
        product with the reversed impulse response).
    **kwargs
        Further Keras layer arguments (``dtype="float64"``, ``name``).

    Returns
    -------
    layer : tf.keras.layers.Layer
        With ``lmu_weights()`` (the trained weights, `~nengo_lmu.LMU.weights`
        keys) and ``lmu_parameters(dt=None)`` (arguments for an equal
        `~nengo_lmu.LMU`).

    Examples
    --------
    >>> lmu = LMU(1, 1, 32, 0.256, hidden_units=64, hidden_recurrent=False,
    ...           input_to_hidden=True)
    >>> model = tf.keras.Sequential([tf.keras.Input((256, 1)), ParallelLMU(lmu),
    ...                              tf.keras.layers.Dense(10)])
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> # model.fit(...), then back into Nengo:
    >>> with nengo.Network() as net:
    ...     trained = LMU(**model.layers[0].lmu_parameters())
    """
    cls = _layer_class()
    if lmu is not None:
        config = parallel_layer_config(lmu, weights)
        config.update(kwargs)
        return cls(return_sequences=return_sequences, **config)
    if weights is not None:
        kwargs["initial_weights"] = weights
    return cls(return_sequences=return_sequences, **kwargs)
