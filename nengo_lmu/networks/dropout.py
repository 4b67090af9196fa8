"""Dropout that is on in NengoDL training and off everywhere else.

KerasLMU's ``dropout`` and ``recurrent_dropout`` multiply a signal by a
random mask of zeros and ``1 / (1 - rate)``, one mask per sequence of the
minibatch, kept for every step of that sequence (Gal and Ghahramani's
variational dropout, as ``DropoutRNNCellMixin`` draws it), and only while
training.

Here that is a `SequenceDropout` process on a Node. Nengo builds it as a
copy of its input, so ``nengo.Simulator`` (and NengoLoihi, which runs Nodes
on the host) never drops anything. NengoDL builds it with an operator of its
own: in training mode (``sim.fit``, ``training=True``) the first step of a
sequence draws the mask, which the Node's state then holds; in inference
(``sim.predict``, ``sim.run``) it is a copy again. The NengoDL builder is
registered when this module's Nengo build function runs inside a NengoDL
build, so NengoDL is imported only by NengoDL.
"""

import functools
import sys

import nengo
import numpy as np
from nengo.builder import Builder, Operator, Signal

from nengo_lmu._validation import check_dropout_rate


class SequenceDropout(nengo.Process):
    """Variational dropout of a Node's input, active only in NengoDL training.

    Use it as the output of a Node with ``size_in`` equal to ``size_out``:
    ``nengo.Node(SequenceDropout(0.1), size_in=n)``.

    Parameters
    ----------
    rate : float
        Fraction of the elements set to zero, in [0, 1). The others are
        scaled by ``1 / (1 - rate)`` so that the mean is unchanged.
    """

    def __init__(self, rate, seed=None):
        self.rate = check_dropout_rate(rate, "rate", self)
        super().__init__(default_size_in=1, default_size_out=1, seed=seed)

    def make_step(self, shape_in, shape_out, dt, rng, state):
        # outside NengoDL training dropout is the identity
        def step_sequence_dropout(t, x):
            return x

        return step_sequence_dropout


class SimSequenceDropout(Operator):
    """Copies ``input`` to ``output``; NengoDL's builder masks it in training.

    Notes
    -----
    1. sets ``[output]``
    2. incs ``[]``
    3. reads ``[input]``
    4. updates ``[mask, drawn]`` (the mask of each sequence, and whether it
       has been drawn yet; both start at zero with every sequence)
    """

    def __init__(self, rate, input, output, mask, drawn, tag=None):
        super().__init__(tag=tag)
        self.rate = rate
        self.sets = [output]
        self.incs = []
        self.reads = [input]
        self.updates = [mask, drawn]

    @property
    def input(self):
        return self.reads[0]

    @property
    def output(self):
        return self.sets[0]

    @property
    def mask(self):
        return self.updates[0]

    @property
    def drawn(self):
        return self.updates[1]

    def make_step(self, signals, dt, rng):
        x = signals[self.input]
        y = signals[self.output]

        def step_sequence_dropout():
            y[...] = x

        return step_sequence_dropout


@Builder.register(SequenceDropout)
def build_sequence_dropout(model, process, sig_in=None, sig_out=None, mode="set"):
    """Build a `SequenceDropout` (a copy in Nengo; see `SimSequenceDropout`)."""
    if sig_in is None or sig_out is None or sig_in.shape != sig_out.shape:
        raise nengo.exceptions.BuildError(
            f"{process} needs a Node with size_in equal to size_out"
        )
    if mode != "set":
        raise nengo.exceptions.BuildError(f"{process} only supports mode='set'")
    n = sig_in.shape[0]
    mask = Signal(np.zeros(n), name=f"{process}.mask")
    drawn = Signal(np.zeros(n), name=f"{process}.drawn")
    model.add_op(SimSequenceDropout(process.rate, sig_in, sig_out, mask, drawn))
    if "nengo_dl" in sys.modules:
        register_nengo_dl_builder()


@functools.lru_cache(maxsize=None)
def register_nengo_dl_builder():
    """Register the NengoDL builder of `SimSequenceDropout` (once)."""
    # pylint: disable=import-outside-toplevel
    import tensorflow as tf
    from nengo_dl.builder import Builder as DLBuilder
    from nengo_dl.builder import OpBuilder

    @DLBuilder.register(SimSequenceDropout)
    class SequenceDropoutBuilder(OpBuilder):
        """Masks in training mode, copies otherwise (all dropout ops merged)."""

        def build_pre(self, signals, config):
            super().build_pre(signals, config)
            self.input_data = signals.combine([op.input for op in self.ops])
            self.output_data = signals.combine([op.output for op in self.ops])
            self.mask_data = signals.combine([op.mask for op in self.ops])
            self.drawn_data = signals.combine([op.drawn for op in self.ops])
            rate = np.concatenate(
                [np.full(op.input.shape[0], op.rate) for op in self.ops]
            )
            self.rate = tf.constant(rate, dtype=signals.dtype)

        def build_step(self, signals):
            x = signals.gather(self.input_data)
            training = self.config.training
            if isinstance(training, (bool, int)) and not training:
                signals.scatter(self.output_data, x)
                return
            mask = signals.gather(self.mask_data)
            drawn = signals.gather(self.drawn_data)
            # a fresh mask on the first step of each sequence, then the same.
            # No op seed: NengoDL sets TensorFlow's global seed from the
            # simulator's, and the op's seed follows from it
            keep = tf.random.uniform(tf.shape(x), dtype=x.dtype)
            fresh = tf.cast(keep >= self.rate, x.dtype) / (1 - self.rate)
            mask = tf.where(drawn > 0, mask, fresh)
            signals.scatter(self.mask_data, mask)
            signals.scatter(self.drawn_data, tf.ones_like(drawn))
            active = tf.cast(training, x.dtype)
            signals.scatter(self.output_data, x * (1 + active * (mask - 1)))

        @staticmethod
        def mergeable(x, y):
            return True

    return SequenceDropoutBuilder
