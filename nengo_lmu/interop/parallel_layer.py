"""The Keras layer behind `~nengo_lmu.interop.parallel.ParallelLMU`.

Importing this module imports TensorFlow (it defines a
``tf.keras.layers.Layer`` subclass); `~nengo_lmu.interop.parallel.ParallelLMU`
imports it when called, so that ``import nengo_lmu.interop`` stays light.
A Keras model holding the layer saves (``.h5`` or SavedModel) and loads back
with ``custom_objects={"ParallelLMULayer": ParallelLMULayer}``.
"""

import numpy as np
import tensorflow as tf
from nengo.exceptions import ValidationError

from nengo_lmu._validation import (
    as_matrix,
    check_bool,
    check_choice,
    check_count,
    check_dropout_rate,
    check_order,
    check_positive_finite,
)
from nengo_lmu.interop.activations import ACTIVATIONS, activation_neuron_type
from nengo_lmu.interop.parallel import impulse_response, legendre_memory_matrices
from nengo_lmu.networks.linear import DISCRETIZERS

__all__ = ["ParallelLMULayer"]


#: The dtypes of the layer's variables (float16: the memory is computed in
#: float32 and cast back).
VARIABLE_DTYPES = ("float16", "float32", "float64")


class ParallelLMULayer(tf.keras.layers.Layer):
    """An LMU cell whose memory does not depend on its own past, computed over
    a whole sequence at once (make it with
    `~nengo_lmu.interop.parallel.ParallelLMU`).

    Parameters
    ----------
    memory_d : int
        Number of independent memories.
    order : int
        Legendre coefficients per memory.
    theta : float or None
        Memory window in seconds (``theta / dt`` steps). None only with
        ``memory_matrices`` (then a label).
    dt : float
        Seconds per sequence step.
    discretizer : {"zoh", "euler"}
        Discretisation of the Legendre memory (not with ``memory_matrices``).
    memory_matrices : tuple of array_like, optional
        ``(Abar, Bbar)``, shapes ``(order, order)`` and ``(order, 1)``, to use
        instead of the Legendre memory; they load back as the LMU's
        ``memory_matrices``.
    hidden_units : int
        Units of the hidden cell; 0 for none (the output is the memory, and
        the input with ``input_to_hidden``).
    hidden_activation : str
        A key of `~nengo_lmu.interop.activations.ACTIVATIONS`.
    hidden_recurrent : bool
        Hidden-to-hidden weights (KerasLMU's SimpleRNNCell); the hidden state
        alone then loops over time. False is a Dense hidden cell.
    input_to_hidden, use_bias : bool
        As in the LMU: ``x_t`` feeds the hidden cell; ``u_t`` has a bias.
    return_sequences : bool
        Output every step, or only the last one.
    dropout : float
        The LMU's ``dropout``: one mask per sequence on the memory's input
        ``x_t`` (not on the hidden cell's copy of it), in training only.
    initial_weights : dict, optional
        Starting weights by `~nengo_lmu.LMU.weights` keys (``kernel``,
        ``bias``, ``hidden_kernel``, ``hidden_recurrent_kernel``,
        ``hidden_bias``); Keras initializers for the others. Not part of the
        configuration: a saved model stores the weights themselves.
    **kwargs
        Further Keras layer arguments (``dtype``, ``name``). ``dtype`` is
        ``"float16"``, ``"float32"``, ``"float64"`` or a mixed policy such as
        ``"mixed_float16"``; the memory is computed in float32 (float64 for a
        float64 layer) and cast back. A Keras mask is refused (the memory is
        one convolution over the whole sequence).

    Examples
    --------
    >>> layer = ParallelLMULayer(1, 8, theta=0.05, hidden_units=4,
    ...                          dtype="float64")
    >>> layer(np.zeros((2, 50, 1))).shape
    TensorShape([2, 4])
    """

    def __init__(
        self,
        memory_d,
        order,
        theta=None,
        dt=0.001,
        discretizer="zoh",
        memory_matrices=None,
        hidden_units=0,
        hidden_activation="tanh",
        hidden_recurrent=False,
        input_to_hidden=False,
        use_bias=False,
        return_sequences=False,
        dropout=0.0,
        initial_weights=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if tf.as_dtype(self.dtype).name not in VARIABLE_DTYPES:
            raise ValidationError(
                f"the layer's variables must be one of {VARIABLE_DTYPES} (a "
                "dtype, or a policy such as 'mixed_float16' whose variables are "
                f"float32), got {tf.as_dtype(self.dtype).name!r}",
                attr="dtype",
                obj=self,
            )
        self.memory_d = check_count(memory_d, "memory_d", self)
        self.order = check_order(order, "order", self)
        self.dt = check_positive_finite(dt, "dt", self)
        self.discretizer = check_choice(discretizer, DISCRETIZERS, "discretizer", self)
        self.hidden_units = check_count(hidden_units, "hidden_units", self, low=0)
        self.hidden_activation = check_choice(
            hidden_activation, ACTIVATIONS, "hidden_activation", self
        )
        self.hidden_recurrent = check_bool(hidden_recurrent, "hidden_recurrent", self)
        self.input_to_hidden = check_bool(input_to_hidden, "input_to_hidden", self)
        self.return_sequences = check_bool(return_sequences, "return_sequences", self)
        self.dropout = check_dropout_rate(dropout, "dropout", self)
        self.initial_weights = dict(initial_weights or {})
        self.use_bias = (
            check_bool(use_bias, "use_bias", self) or "bias" in self.initial_weights
        )
        self.given_matrices = memory_matrices is not None
        if self.given_matrices:
            if self.discretizer != "zoh":
                raise ValidationError(
                    "memory_matrices are the discrete memory; they cannot be "
                    f"combined with discretizer={self.discretizer!r}",
                    attr="discretizer",
                    obj=self,
                )
            self.theta = (
                None if theta is None else check_positive_finite(theta, "theta", self)
            )
            self.Abar, self.Bbar = self._check_matrices(memory_matrices)
        else:
            if theta is None:
                raise ValidationError(
                    "must be a finite number > 0 (None only with memory_matrices)",
                    attr="theta",
                    obj=self,
                )
            self.theta = check_positive_finite(theta, "theta", self)
            self.Abar, self.Bbar = legendre_memory_matrices(
                self.theta, self.order, self.dt, self.discretizer
            )

    def _check_matrices(self, memory_matrices):
        try:
            Abar, Bbar = memory_matrices
        except (TypeError, ValueError):
            raise ValidationError(
                "must be a pair (Abar, Bbar)", attr="memory_matrices", obj=self
            ) from None
        Abar = as_matrix(Abar, "memory_matrices", self)
        Bbar = as_matrix(Bbar, "memory_matrices", self, vector_as="column")
        q = self.order
        if Abar.shape != (q, q) or Bbar.shape != (q, 1):
            raise ValidationError(
                f"Abar and Bbar must have shapes {(q, q)} and {(q, 1)}, got "
                f"{Abar.shape} and {Bbar.shape}",
                attr="memory_matrices",
                obj=self,
            )
        return Abar, Bbar

    def get_config(self):
        """The layer's arguments (JSON types), without ``initial_weights``."""
        config = super().get_config()
        config.update(
            memory_d=self.memory_d,
            order=self.order,
            theta=self.theta,
            dt=self.dt,
            discretizer=self.discretizer,
            memory_matrices=(
                [self.Abar.tolist(), self.Bbar.tolist()]
                if self.given_matrices
                else None
            ),
            hidden_units=self.hidden_units,
            hidden_activation=self.hidden_activation,
            hidden_recurrent=self.hidden_recurrent,
            input_to_hidden=self.input_to_hidden,
            use_bias=self.use_bias,
            return_sequences=self.return_sequences,
            dropout=self.dropout,
        )
        return config

    @classmethod
    def from_config(cls, config):
        """A layer from `get_config`'s output (its weights from Keras's
        initializers until the saved weights are loaded)."""
        return cls(**config)

    def _add(self, name, shape, initializer="glorot_uniform"):
        value = self.initial_weights.get(name)
        if value is not None:
            value = np.asarray(value, dtype=float)
            if value.shape != tuple(shape):
                raise ValidationError(
                    f"{name} must have shape {tuple(shape)}, got {value.shape}",
                    attr="initial_weights",
                    obj=self,
                )
            initializer = tf.keras.initializers.Constant(value)
        return self.add_weight(name=name, shape=shape, initializer=initializer)

    def build(self, input_shape):
        """Make the weights and the impulse response (the sequence length
        must be in ``input_shape``)."""
        steps, size_in = input_shape[1], input_shape[-1]
        if steps is None:
            raise ValidationError(
                "the parallel path needs the sequence length in the input "
                "shape (keras.Input((steps, d)))",
                attr="input_shape",
                obj=self,
            )
        self.size_in = int(size_in)
        self.steps = int(steps)
        n_mem = self.memory_d * self.order
        self.kernel = self._add("kernel", (self.size_in, self.memory_d))
        self.bias = (
            self._add("bias", (self.memory_d,), "zeros") if self.use_bias else None
        )
        H = impulse_response(self.Abar, self.Bbar, self.steps)
        # the memory (a long sum, an FFT) in float32 at least: float16 has
        # no FFT in TensorFlow and too few bits for the sum
        self.memory_dtype = "float64" if self.dtype == "float64" else "float32"
        # H reversed in time: the last step's memory is one product
        self.H_last = tf.constant(H[::-1], dtype=self.memory_dtype)
        self.H = tf.constant(H, dtype=self.memory_dtype)
        # the LMU's dropout: one mask per sequence on the memory's input
        self.dropout_layer = None
        if self.dropout:
            self.dropout_layer = tf.keras.layers.Dropout(
                self.dropout,
                noise_shape=(None, 1, self.size_in),
                dtype=self.dtype_policy,
            )
        self.hidden_recurrent_kernel = None
        if self.hidden_units:
            hid_in = n_mem + (self.size_in if self.input_to_hidden else 0)
            self.hidden_kernel = self._add("hidden_kernel", (hid_in, self.hidden_units))
            if self.hidden_recurrent:
                self.hidden_recurrent_kernel = self._add(
                    "hidden_recurrent_kernel",
                    (self.hidden_units, self.hidden_units),
                    "orthogonal",
                )
            self.hidden_bias = self._add("hidden_bias", (self.hidden_units,), "zeros")
        super().build(input_shape)

    def _mask_error(self):
        return ValidationError(
            "the parallel LMU cannot honour a Keras mask (its memory is a "
            "convolution over the whole sequence, which cannot skip masked "
            "steps); remove the Masking layer (give sequences of one length), "
            "or use the recurrent LMU (nengo_lmu.interop.to_keras with "
            "feedforward=False), whose keras RNN layer honours masks",
            attr="mask",
            obj=self,
        )

    def __call__(self, inputs, *args, **kwargs):
        # refuse a mask here, before Keras traces `call` (where the error
        # would come wrapped in TensorFlow's staging errors)
        mask = kwargs.get("mask")
        if mask is None:
            mask = getattr(inputs, "_keras_mask", None)
        if mask is not None:
            raise self._mask_error()
        return super().__call__(inputs, *args, **kwargs)

    def memory(self, u, every_step):
        """The memory of ``u`` (batch, steps, memory_d): at every step
        (batch, steps, memory_d * order), or at the last (batch, ...),
        computed in `memory_dtype` and returned in ``u``'s dtype."""
        dtype = u.dtype
        u = tf.cast(u, self.memory_dtype)
        if not every_step:
            m = tf.einsum("btd,tq->bdq", u, self.H_last)
            return tf.cast(tf.reshape(m, (-1, self.memory_d * self.order)), dtype)
        # causal convolution along time by FFT, zero-padded to 2 * steps
        n = 2 * self.steps
        ctype = tf.complex128 if self.memory_dtype == "float64" else tf.complex64
        U = tf.signal.rfft(tf.transpose(u, (0, 2, 1)), fft_length=[n])
        Hf = tf.signal.rfft(tf.transpose(self.H), fft_length=[n])
        M = tf.cast(U[:, :, None, :], ctype) * tf.cast(Hf[None, None], ctype)
        m = tf.signal.irfft(M, fft_length=[n])[..., : self.steps]
        # (batch, d, q, steps) -> (batch, steps, d * q)
        m = tf.transpose(m, (0, 3, 1, 2))
        m = tf.reshape(m, (-1, self.steps, self.memory_d * self.order))
        return tf.cast(m, dtype)

    def call(self, inputs, training=None, mask=None):
        """The cell's output at every step or at the last.

        A Keras mask (from a ``Masking`` or ``Embedding(mask_zero=True)``
        layer) is refused: the memory is one convolution over the whole
        sequence, which cannot skip masked steps as a recurrent layer does.
        """
        if mask is not None:
            raise self._mask_error()
        dropped = inputs
        if self.dropout_layer is not None:
            dropped = self.dropout_layer(inputs, training=training)
        u = tf.matmul(dropped, self.kernel)
        if self.bias is not None:
            u = u + self.bias
        # a recurrent hidden cell needs the memory at every step
        every_step = self.return_sequences or self.hidden_recurrent_kernel is not None
        m = self.memory(u, every_step)
        if self.input_to_hidden:
            x = inputs if every_step else inputs[:, -1]
            m = tf.concat([m, x], axis=-1)
        if not self.hidden_units:
            return m
        activation = tf.keras.activations.get(self.hidden_activation)
        j = tf.matmul(m, self.hidden_kernel) + self.hidden_bias
        if self.hidden_recurrent_kernel is None:
            return activation(j)

        def step(h, j_t):
            return activation(j_t + tf.matmul(h, self.hidden_recurrent_kernel))

        # h_t = f(j_t + U h_{t-1}) from h_{-1} = 0, time first for tf.scan
        h = tf.scan(
            step, tf.transpose(j, (1, 0, 2)), initializer=tf.zeros_like(j[:, 0])
        )
        return tf.transpose(h, (1, 0, 2)) if self.return_sequences else h[-1]

    def lmu_weights(self):
        """The layer's weights, keys as `~nengo_lmu.LMU.weights`."""
        weights = {"kernel": self.kernel.numpy().astype(float)}
        if self.bias is not None:
            weights["bias"] = self.bias.numpy().astype(float)
        if self.hidden_units:
            weights["hidden_kernel"] = self.hidden_kernel.numpy().astype(float)
            if self.hidden_recurrent_kernel is not None:
                weights["hidden_recurrent_kernel"] = (
                    self.hidden_recurrent_kernel.numpy().astype(float)
                )
            weights["hidden_bias"] = self.hidden_bias.numpy().astype(float)
        return weights

    def lmu_parameters(self, dt=None):
        """Arguments for `~nengo_lmu.LMU` giving the same cell, weights
        included (step by step, with the exact memory); ``dt`` (default the
        layer's) keeps ``theta`` in steps."""
        if not self.built:
            raise ValidationError(
                "the layer must be built first", attr="layer", obj=self
            )
        weights = self.lmu_weights()
        params = dict(
            size_in=self.size_in,
            memory_d=self.memory_d,
            order=self.order,
            theta=self.theta,
            dt=self.dt if dt is None else dt,
            discretizer=self.discretizer,
            hidden_units=self.hidden_units,
            hidden_recurrent=self.hidden_recurrent_kernel is not None,
            input_to_hidden=self.input_to_hidden,
            use_bias=self.bias is not None,
            kernel_initializer=weights["kernel"],
            dropout=self.dropout,
        )
        if self.given_matrices:
            params["memory_matrices"] = (self.Abar, self.Bbar)
        else:
            # theta in steps is what the layer learned with
            params["theta"] = self.theta / self.dt * params["dt"]
        if self.bias is not None:
            params["bias_initializer"] = weights["bias"]
        if self.hidden_units:
            params["hidden_neuron_type"] = activation_neuron_type(
                self.hidden_activation, "hidden_activation"
            )
            params["hidden_kernel_initializer"] = weights["hidden_kernel"]
            if self.hidden_recurrent_kernel is not None:
                params["hidden_recurrent_initializer"] = weights[
                    "hidden_recurrent_kernel"
                ]
            params["hidden_bias_initializer"] = weights["hidden_bias"]
        return params
