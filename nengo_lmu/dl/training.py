"""NengoDL's settings for training sequences on networks holding LMUs."""

import nengo
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_bool
from nengo_lmu.dl._imports import import_nengo_dl
from nengo_lmu.dl.weights import KERAS_WEIGHT_NAMES, lmus_in
from nengo_lmu.networks.weights import DRAWN_SEED_LIMIT


def configure_training(
    network,
    train_memory=False,
    stateful=False,
    keep_history=False,
    fixed=(),
    **settings,
):
    """Set NengoDL's options for training sequences on ``network``.

    Call it on the top-level network (it enters ``with network:`` itself).

    * Every `~nengo_lmu.LMU` memory's own connections (``Abar``, ``Bbar``,
      or a neural memory's ensembles and decoders) are fixed unless
      ``train_memory``; a trainable theta (Euler) stays trainable.
    * ``stateful=False``: every sequence (minibatch) starts from zero state,
      as Keras's RNN layers do.
    * ``keep_history``: False keeps only the last step's probe value, what a
      last-step task (psMNIST) trains on; True keeps every step.
    * ``fixed``: names of LMU weights that training leaves alone on every
      `~nengo_lmu.LMU` in ``network``, from `lmu_weights`' keys (``"kernel"``,
      ``"recurrent_kernel"``, ``"bias"``, ``"hidden_kernel"``,
      ``"hidden_recurrent_kernel"``, ``"hidden_bias"``, ``"theta"``): the
      LMU paper cell's per-weight trainability, by whole weight (its input
      and hidden encoders are ``"kernel"``, its hidden kernel
      ``"hidden_recurrent_kernel"``; see the guide). Names an LMU does not
      have are ignored; unknown names raise an error.

    * Probes without a seed get one that no connection can be assigned
      (see `~nengo_lmu.networks.weights.protect_from_probe_seeds`): NengoDL
      makes any connection whose seed equals a probe's untrainable, which
      happens silently when a subnetwork has the same seed as its parent.
      Only probes of Nodes, Neurons and Connections, whose seed is unused.

    * ``planner``: NengoDL's ``noop_planner`` unless given. NengoDL's default
      (tree) planner merges operators in a way that makes the LMU's long
      unrolled recurrence about four times slower to train (benchmark B2).
    * ``simplifications``: NengoDL's defaults plus
      `nengo_lmu.dl.fusion.fuse_dot_copies` unless given (one operator
      instead of two per connection; 7-19% less CPU time per training step
      of a small LMU, benchmark B2).

    Further keyword arguments go to ``nengo_dl.configure_settings``.
    """
    if not isinstance(network, nengo.Network):
        raise ValidationError(
            f"must be a nengo.Network, got {type(network).__name__}", attr="network"
        )
    train_memory = check_bool(train_memory, "train_memory")
    stateful = check_bool(stateful, "stateful")
    keep_history = check_bool(keep_history, "keep_history")
    nengo_dl = import_nengo_dl()
    settings.setdefault("planner", nengo_dl.graph_optimizer.noop_planner)
    if "simplifications" not in settings:
        from nengo_lmu.dl.fusion import (  # pylint: disable=import-outside-toplevel
            fuse_dot_copies,
        )

        settings["simplifications"] = (
            nengo_dl.graph_optimizer.default_simplifications + (fuse_dot_copies,)
        )
    with network:
        nengo_dl.configure_settings(
            trainable=None, stateful=stateful, keep_history=keep_history, **settings
        )
    for i, probe in enumerate(network.all_probes):
        target = getattr(probe.target, "obj", probe.target)  # a slice's object
        if probe.seed is None and not isinstance(target, nengo.Ensemble):
            probe.seed = DRAWN_SEED_LIMIT + i
    fixed = _check_fixed(fixed)
    for lmu in lmus_in(network):
        _fix_weights(network, lmu, fixed)
        for conn in lmu.memory.all_connections:
            network.config[conn].trainable = bool(train_memory)
        for ens in lmu.memory.all_ensembles:
            network.config[ens].trainable = bool(train_memory)
        if lmu.theta_connection is not None:
            network.config[lmu.theta_connection].trainable = "theta" not in fixed
        if lmu.theta_layer is not None:
            lmu.theta_layer.trainable = "theta" not in fixed
        if lmu.hidden is not None:
            # the hidden state is driven through .neurons: its encoders are
            # unused, its biases are the cell's b_h
            network.config[lmu.hidden].trainable = False
            network.config[lmu.hidden.neurons].trainable = "hidden_bias" not in fixed
    return network


def _check_fixed(fixed):
    if isinstance(fixed, str):
        fixed = [fixed]
    try:
        fixed = set(fixed)
    except TypeError:
        raise ValidationError(
            f"must be a list of weight names, got {fixed!r}", attr="fixed"
        ) from None
    unknown = sorted(str(name) for name in fixed - set(KERAS_WEIGHT_NAMES))
    if unknown:
        raise ValidationError(
            f"unknown weight names {unknown}; use {sorted(KERAS_WEIGHT_NAMES)}",
            attr="fixed",
        )
    return fixed


def _fix_weights(network, lmu, fixed):
    for name, conns in lmu.weight_connections.items():
        for conn in conns:
            network.config[conn].trainable = name not in fixed
