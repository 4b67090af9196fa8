"""KerasLMU's weight regularizers as NengoDL training losses."""

import numpy as np

from nengo_lmu.dl.weights import check_dl_simulator, lmus_in


def add_regularization(sim):
    """Add every `~nengo_lmu.LMU`'s regularizers to ``sim``'s training loss.

    ``LMU(..., kernel_regularizer=..., recurrent_regularizer=...,
    bias_regularizer=...)`` penalise the weights as KerasLMU does: the
    penalty of each weight (in KerasLMU's shape, see `lmu_weights`) is added
    to the loss that ``sim.fit`` minimises (and that ``sim.evaluate``
    reports). Call it once, after creating the simulator and before
    ``sim.fit``.

    Parameters
    ----------
    sim : nengo_dl.Simulator

    Returns
    -------
    n : int
        The number of penalties added.

    Examples
    --------
    >>> with nengo_dl.Simulator(net) as sim:  # doctest: +SKIP
    ...     add_regularization(sim)
    ...     sim.compile(optimizer=tf.optimizers.SGD(0.1), loss=tf.losses.mse)
    ...     sim.fit(x, y)
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    check_dl_simulator(sim)
    n = 0
    for lmu in lmus_in(sim.model.toplevel):
        for name, reg in lmu.regularizers.items():
            conns = lmu.weight_connections[name]

            def penalty(conns=conns, reg=reg, bias=name == "bias"):
                weight = tf.concat(
                    [tf.transpose(_live_weights(sim, c)) for c in conns], axis=0
                )
                return reg(weight[0] if bias else weight)

            sim.keras_model.add_loss(penalty)
            n += 1
    return n


def _live_weights(sim, conn):
    """The trainable variable's slice holding ``conn``'s weights (a tensor in
    the current graph, so that gradients reach the variable)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    graph = sim.tensor_graph
    tensor_sig = graph.signals[sim.model.sig[conn]["weights"]]
    base = graph.base_params[tensor_sig.key]
    rows = np.concatenate(
        [np.arange(start, stop) for start, stop in tensor_sig.slices]
    ).astype(np.int32)
    return tf.reshape(tf.gather(base, tf.constant(rows)), tensor_sig.shape)
