"""The experiment kit: build, fit, predict and run sequence networks.

The recipe that every sequence experiment of the library follows, written
once; the tasks (`nengo_lmu.tasks.psmnist`, `nengo_lmu.tasks.mackey_glass`),
the examples and the benchmarks call these functions instead of writing it
out again.

Build
    `sequence_network` (an input Node, an LMU or any network, a readout and
    a probe), `glorot_uniform` (the readout's initial weight) and `chip_lmu`
    (an LMU whose every part runs on Loihi after
    `nengo_lmu.spiking.to_spiking`, its memory mapped for NengoDL or the chip).
Train and predict in NengoDL
    `fit` (`nengo_lmu.dl.configure_training`, compile, fit, write the trained
    weights back), `predict` (the last step or the whole sequence) and
    `classification_accuracy`.
Run
    `run_sequences` (each sequence from zero state on ``"nengo"``, ``"dl"`` or
    ``"loihi"``, the NengoLoihi emulator) and `copy_trained` (trained weights
    into a twin whose memory is mapped for another simulator).
Adjust to a backend
    `correct_memory_reading` (the hidden units' memory weights corrected by a
    linear map fitted from the backend's memory states to the trained
    network's) and `refit_readout` (the readout fitted again, by softmax
    regression, to the model's output as the backend runs it).

A *sequence network* is a ``nengo.Network`` with ``stim`` (the input Node)
and ``probe`` (the output Probe); the data are NengoDL's arrays, ``x`` shaped
``(sequences, steps, dimensions)``, one value per step of ``dt``.

**Partial batches.** NengoDL runs batches of one fixed size, so whenever the
sequences are split into batches (`fit`, `predict`, `run_sequences` on
``"dl"``) the batch size is the largest divisor of the number of sequences not
above the one asked for (`batch_size_for`): every sequence is used once, none
is padded or dropped. Choose counts with a divisor near the batch size
(multiples of 10 or 100); a prime count runs one sequence per batch. The
unroll length follows the same rule against the number of steps.

Modules: ``building``, ``training`` (NengoDL), ``running`` and ``readout``;
everything is imported here. NengoDL, TensorFlow and NengoLoihi are imported
inside the functions that use them.
"""

from nengo_lmu.tasks.experiment.building import (
    chip_lmu,
    glorot_uniform,
    sequence_network,
)
from nengo_lmu.tasks.experiment.readout import correct_memory_reading, refit_readout
from nengo_lmu.tasks.experiment.running import (
    BACKENDS,
    ENSEMBLE_PARAMS,
    copy_trained,
    run_sequences,
)
from nengo_lmu.tasks.experiment.training import (
    LOSSES,
    batch_size_for,
    classification_accuracy,
    fit,
    predict,
)

__all__ = [
    "BACKENDS",
    "ENSEMBLE_PARAMS",
    "LOSSES",
    "batch_size_for",
    "chip_lmu",
    "classification_accuracy",
    "copy_trained",
    "correct_memory_reading",
    "fit",
    "glorot_uniform",
    "predict",
    "refit_readout",
    "run_sequences",
    "sequence_network",
]
