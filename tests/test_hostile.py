"""Hostile inputs of issue 22 (items 3 and 4): each case is refused before the
work with an error naming the user's argument, or handled as documented.

Property tests cover `to_keras`'s and the parallel layer's arguments.
"""

import copy
import io
import os
import pickle
import signal
import stat
import sys
import time

import nengo
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nengo.exceptions import BuildError, ValidationError

from nengo_lmu import LMU, LinearNetwork, LMUMemory
from nengo_lmu._atomic import replaced_atomically
from nengo_lmu.systems import LinearSystem
from tests.robustness import HYPOTHESIS, SPECIAL, attempt, is_huge

# --- silent wrong results: a non-finite input to a neural memory ------------


def _memory_outputs(simulator, value, neuron_type, copies=2, **sim_kwargs):
    """Neural memory (and its readout) of inputs 0, then ``value`` in copy
    0 from step 50 to 99, then 0.1; the exact memory as the reference."""
    rows = [[0.0] * copies, [value] + [0.1] * (copies - 1), [0.1] * copies]
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.PresentInput(rows, 0.05))
        neural = LMUMemory(
            0.1, 3, size_in=copies, neurons_per_dimension=20, neuron_type=neuron_type
        )
        exact = LMUMemory(0.1, 3, size_in=copies)
        probes = []
        for memory in (neural, exact):
            nengo.Connection(stim, memory.input, synapse=None)
            probes.append(nengo.Probe(memory.output))
            probes.append(nengo.Probe(memory.add_delay_output(0.5)))
    with simulator(net, progress_bar=False, **sim_kwargs) as sim:
        sim.run(0.15)
    return [np.asarray(sim.data[p]).reshape(-1, sim.data[p].shape[-1]) for p in probes]


def _check_propagates(outputs, copies=2):
    state, delayed, exact_state, exact_delayed = outputs
    order = state.shape[1] // copies
    # the exact memory: NaN from the bad step on, in the bad copy only (the
    # documented propagation this test holds the neural memory to)
    assert np.all(np.isnan(exact_state[60:, :order]))
    assert np.all(np.isfinite(exact_state[:, order:]))
    assert np.all(np.isfinite(state[:50]))
    assert np.all(np.isnan(state[55:, :order]))
    assert np.all(np.isnan(delayed[55:, 0]))
    # the other copy is untouched
    assert np.all(np.isfinite(state[:, order:]))
    assert np.all(np.isfinite(delayed[:, 1:]))


@pytest.mark.parametrize(
    "value, neuron_type",
    [
        (np.nan, nengo.LIF()),
        (np.inf, nengo.LIF()),
        (np.nan, nengo.LIFRate()),
        (-np.inf, nengo.SpikingRectifiedLinear()),
        (np.inf, nengo.RectifiedLinear()),
    ],
)
def test_nonfinite_input_propagates_in_neural_memory_nengo(value, neuron_type):
    # before: a LIF memory went silently to exactly 0; an infinity crashed
    # Nengo with a FloatingPointError inside its synapse update
    _check_propagates(_memory_outputs(nengo.Simulator, value, neuron_type))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nonfinite_input_propagates_in_neural_memory_nengo_dl(value):
    import nengo_dl

    # before: finite wrong values
    _check_propagates(_memory_outputs(nengo_dl.Simulator, value, nengo.LIF()))


# --- false passes: check_loihi ----------------------------------------------------


def _loihi_lmu_net(**kwargs):
    with nengo.Network(seed=0) as net:
        stim = nengo.Node([0.1])
        lmu = LMU(
            1,
            1,
            4,
            0.1,
            hidden_units=3,
            hidden_neuron_type=nengo.SpikingRectifiedLinear(),
            **kwargs,
        )
        nengo.Connection(stim, lmu.input)
    return net, lmu


def test_check_loihi_refuses_nengo_dl_only_memory():
    from nengo_lmu.loihi import check_loihi

    net, lmu = _loihi_lmu_net(trainable_theta=True)
    # the emulator cannot run it (its TensorNode fails at the first step)
    with pytest.raises(ValidationError, match="NengoDL only") as info:
        check_loihi(net)
    assert "TrainableThetaMemory" in str(info.value)
    # the same LMU with a fixed theta passes
    check_loihi(_loihi_lmu_net()[0])


@pytest.mark.parametrize("stage", ["build", "emulator"])
def test_check_loihi_never_lets_an_assertion_out(monkeypatch, stage):
    import nengo_loihi.builder
    import nengo_loihi.emulator

    from nengo_lmu.loihi import check_loihi

    def fail(*args, **kwargs):
        assert 1 == 2, "an internal check"

    if stage == "build":
        monkeypatch.setattr(nengo_loihi.builder.Model, "build", fail)
    else:
        monkeypatch.setattr(nengo_loihi.emulator.EmulatorInterface, "__init__", fail)
    net, _ = _loihi_lmu_net()
    with pytest.raises(BuildError, match="internal check of NengoLoihi") as info:
        check_loihi(net)
    assert str(net) in str(info.value)


# --- crashes where a clear error belongs ------------------------------------------


@pytest.fixture(scope="module")
def small_lmu():
    with nengo.Network():
        lmu = LMU(1, 1, 4, 0.01, hidden_units=3)
    return lmu


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"dtype": "float63"}, "dtype"),
        ({"dtype": "int32"}, "dtype"),
        ({"dtype": 5}, "dtype"),
        ({"dtype": "float16"}, "dtype"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"n_steps": 0.5}, "n_steps"),
        ({"n_steps": 0}, "n_steps"),
    ],
)
def test_to_keras_refuses_bad_dtype_and_n_steps(small_lmu, kwargs, attr):
    from nengo_lmu.interop import to_keras

    with pytest.raises(ValidationError) as info:
        to_keras(small_lmu, **kwargs)
    assert info.value.attr == attr


def _trainable_theta_net():
    with nengo.Network() as net:
        LMU(1, 1, 4, 0.01, hidden_units=3, trainable_theta=True)
    return net


@pytest.mark.parametrize(
    "how",
    [
        lambda net: pickle.dumps(net),
        lambda net: net.copy(),
        lambda net: copy.deepcopy(net),
    ],
)
def test_trainable_theta_network_refuses_copy_and_pickle_clearly(how):
    # before: AttributeError (a local class) or Nengo's KeyError 'size_in'
    with pytest.raises(TypeError, match="cannot be copied or pickled"):
        how(_trainable_theta_net())


def test_to_spiking_refuses_trainable_theta_and_decoded_tanh_probe():
    from nengo_lmu.spiking import to_spiking

    with pytest.raises(ValidationError, match="NengoDL only"):
        to_spiking(_trainable_theta_net())
    with nengo.Network() as net:
        lmu = LMU(1, 1, 4, 0.01, hidden_units=3)
        nengo.Probe(lmu.hidden)
    # before: converted, then Nengo's BuildError at the simulator
    with pytest.raises(ValidationError, match="decodes the tanh ensemble"):
        to_spiking(net)


def test_lmu_weights_refuses_a_nengo_simulator():
    from nengo_lmu.dl import lmu_weights

    with nengo.Network() as net:
        lmu = LMU(1, 1, 4, 0.01, hidden_units=3)
    with nengo.Simulator(net, progress_bar=False) as sim:
        # before: AttributeError 'SimulationData' object has no 'get_params'
        with pytest.raises(ValidationError, match="nengo_dl.Simulator") as info:
            lmu_weights(sim, lmu)
    assert info.value.attr == "sim"


# --- the parallel layer: precision and masks ---------------------------------------


def _parallel_output(dtype, x):
    from nengo_lmu.interop.parallel_layer import ParallelLMULayer

    rng = np.random.RandomState(1)
    weights = {
        "kernel": rng.uniform(-1, 1, (1, 1)),
        "hidden_kernel": rng.uniform(-1, 1, (3, 2)),
        "hidden_recurrent_kernel": rng.uniform(-0.5, 0.5, (2, 2)),
        "hidden_bias": rng.uniform(-0.1, 0.1, 2),
    }
    layer = ParallelLMULayer(
        1,
        3,
        theta=0.004,
        hidden_units=2,
        hidden_recurrent=True,
        return_sequences=True,
        initial_weights=weights,
        dtype=dtype,
    )
    return np.asarray(layer(x), dtype=float)


@pytest.mark.parametrize("dtype", ["float16", "mixed_float16"])
def test_parallel_layer_runs_in_half_precision(dtype):
    x = np.random.RandomState(0).uniform(-1, 1, (2, 6, 1)).astype("float32")
    # before: "RFFT requires tf.float32 or tf.float64 inputs"
    half = _parallel_output(dtype, x)
    full = _parallel_output("float32", x)
    assert np.allclose(half, full, atol=5e-3)


@pytest.mark.parametrize("dtype", ["bfloat16", "int32"])
def test_parallel_layer_refuses_other_dtypes(dtype):
    from nengo_lmu.interop.parallel_layer import ParallelLMULayer

    with pytest.raises(ValidationError) as info:
        ParallelLMULayer(1, 3, theta=0.004, dtype=dtype)
    assert info.value.attr == "dtype"


def test_parallel_layer_refuses_a_mask():
    import tensorflow as tf

    from nengo_lmu.interop.parallel_layer import ParallelLMULayer

    inp = tf.keras.Input((5, 1))
    masked = tf.keras.layers.Masking(0.0)(inp)
    # before: the padded last step came out, as if it were data
    with pytest.raises(ValidationError, match="cannot honour a Keras mask"):
        ParallelLMULayer(1, 3, theta=0.004)(masked)
    layer = ParallelLMULayer(1, 3, theta=0.004)
    with pytest.raises(ValidationError, match="mask"):
        layer(np.ones((1, 5, 1), "float32"), mask=np.ones((1, 5), bool))


# --- errors that blame the right thing; nothing half-built -----------------------


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"input_rms": 1e300}, "input_rms"),
        ({"input_rms": 1e-300}, "input_rms"),
        ({"radius": 1e300}, "radius"),
        ({"radius": 1e-300}, "radius"),
        ({"radius": 5e-324}, "radius"),
        ({"n_std": 1e-300}, "n_std"),
        ({"n_std": 5e-324}, "n_std"),
        ({"input_high": 5e-324}, "input_high"),
        ({"neuron_typ": nengo.LIF()}, "neuron_typ"),
    ],
)
def test_neural_memory_blames_the_argument_given(kwargs, attr):
    # before: theta (for input_rms, radius, n_std), system, LinearSystem.A/T,
    # or Ensemble's TypeError for the typo; and half-built networks
    with nengo.Network() as parent:
        with pytest.raises(ValidationError) as info:
            LMUMemory(1.0, 6, neurons_per_dimension=10, **kwargs)
    assert info.value.attr == attr
    assert not parent.networks and not parent.all_objects


def test_memory_kwargs_typo_names_the_option():
    with nengo.Network() as parent:
        with pytest.raises(ValidationError, match="did you mean 'neuron_type'"):
            LMU(
                1,
                1,
                4,
                0.1,
                hidden_units=2,
                memory_neurons_per_dimension=10,
                memory_kwargs={"neuron_typ": nengo.LIF()},
            )
    assert not parent.networks and not parent.all_objects


@pytest.mark.parametrize("realization", ["balanced", "given"])
def test_integrator_in_neurons_is_refused_as_unstable(realization):
    integrator = LinearSystem([[0.0]], [[1.0]], [[1.0]], [[0.0]])
    with nengo.Network() as parent:
        with pytest.raises(ValidationError, match="stable system") as info:
            LinearNetwork(
                integrator,
                neurons_per_dimension=10,
                input_high=1,
                realization=realization,
            )
    # before: "LinearSystem.omega: contains a pole", a parameter never given
    assert info.value.attr == "system"
    assert "omega" not in str(info.value)
    assert not parent.networks


def test_refused_lmu_leaves_nothing_in_its_parent():
    with nengo.Network() as parent:
        before = nengo.Node(size_in=1)
        with pytest.raises(ValidationError):
            LMU(
                1,
                1,
                4,
                0.1,
                hidden_units=3,
                memory_neurons_per_dimension=10,
                memory_kwargs={"radius": -1},
            )
        with pytest.raises(ValidationError):
            LinearNetwork(
                LinearSystem([[-1.0]], [[1.0]], [[1.0]], [[0.0]]),
                neurons_per_dimension=10,
                input_high=1,
                radius=0,
            )
    # before: the LMU (with its input Node) stayed in the parent
    assert parent.all_objects == [before] and not parent.networks


def test_size_guards_refuse_before_building():
    start = time.process_time()
    # before: 30 s of building, then MemoryError (order 1,000: about 64 GB)
    with pytest.raises(ValidationError, match="GiB") as info:
        LMUMemory(1.0, 200, neurons_per_dimension=100)
    assert info.value.attr == "neurons_per_dimension"
    with pytest.raises(ValidationError, match="neurons") as info:
        LMUMemory(1.0, 6, neurons_per_dimension=10**6)
    assert info.value.attr == "neurons_per_dimension"
    assert time.process_time() - start < 60  # generous: a loaded machine


# --- files and the terminal ---------------------------------------------------------


def _write(path, text="new"):
    with replaced_atomically(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


def test_outputs_keep_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        _write(tmp_path / "a.txt")
    finally:
        os.umask(old)
    # before: 0600 whatever the umask
    assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o640
    # a replaced file keeps its mode
    os.chmod(tmp_path / "a.txt", 0o604)
    _write(tmp_path / "a.txt", "again")
    assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o604


def test_read_only_output_is_refused(tmp_path):
    from nengo_lmu._validation import check_output_file

    path = tmp_path / "ro.png"
    path.write_text("keep")
    path.chmod(0o444)
    with pytest.raises(ValidationError, match="read-only"):
        check_output_file(path, "output", (".png",))
    # before: silently replaced
    with pytest.raises(PermissionError):
        _write(path)
    assert path.read_text() == "keep"


def test_output_through_a_symlink_is_written_through(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    _write(link)
    # before: the link was replaced by a file
    assert link.is_symlink()
    assert target.read_text() == "new"


def test_import_of_a_named_pipe_is_refused_before_opening(tmp_path, capsys):
    from nengo_lmu.cli import main

    pipe = tmp_path / "model.h5"
    os.mkfifo(pipe)

    def hung(signum, frame):
        raise AssertionError("hung on the named pipe")

    # before: hung forever reading the pipe (here: failed after 60 s)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        assert main(["import", str(pipe)]) == 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert "not a regular file" in capsys.readouterr().err


def test_info_into_a_closed_pipe_is_quiet(monkeypatch, capsys):
    from nengo_lmu import cli

    read, write = os.pipe()
    os.close(read)

    class ClosedPipe(io.TextIOBase):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return write

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    monkeypatch.setattr(cli, "_silence_stdout", lambda: None)
    try:
        # before: a BrokenPipeError traceback
        assert cli.main(["info"]) == 141
    finally:
        os.close(write)
    assert capsys.readouterr().err == ""


def test_non_utf8_file_name_is_printed_escaped(monkeypatch, tmp_path):
    from nengo_lmu import cli
    from nengo_lmu.tasks import delay

    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(delay, "plot_delay", lambda *a: None)
    name = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"bad\xff.png"))
    argv = ["delay", "--duration", "1", "--theta", "0.05", "--order", "2"]
    argv += ["--neurons", "5", "--output", name]
    # before: UnicodeEncodeError after the simulation
    assert cli.main(argv) == 0
    stdout.flush()
    assert b"bad\\udcff.png" in raw.getvalue()


def test_missing_plot_extra_is_named_before_the_work(monkeypatch, capsys, tmp_path):
    from nengo_lmu import cli
    from nengo_lmu.tasks import delay

    def no_work(**kwargs):
        raise AssertionError("simulated before the check")

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(delay, "run_delay", no_work)
    argv = ["delay", "--duration", "1", "--theta", "0.05"]
    assert cli.main(argv + ["--output", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "'plot' extra" in err and 'pip install "nengo-lmu[plot]"' in err


@pytest.mark.parametrize("module", ["matplotlib", "nengo_loihi", "keras_lmu"])
def test_missing_extras_named_at_library_entry_points(monkeypatch, module):
    from nengo_lmu.interop import to_keras
    from nengo_lmu.loihi import check_loihi
    from nengo_lmu.tasks._plotting import pyplot

    monkeypatch.setitem(sys.modules, module, None)
    entry = {
        "matplotlib": pyplot,
        "nengo_loihi": lambda: check_loihi(nengo.Network()),
        "keras_lmu": lambda: to_keras(nengo.Network()),
    }[module]
    with pytest.raises(ImportError, match="pip install") as info:
        entry()
    assert module in str(info.value)


# --- property tests: to_keras's and the parallel layer's arguments ----------------

KERAS_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "n_steps": st.one_of(st.sampled_from(SPECIAL), st.integers(-2, 12)),
        "dtype": st.sampled_from(
            SPECIAL + ["float32", "float64", "float16", "int8", "bool", "float63"]
        ),
        "return_sequences": st.sampled_from([True, False]),
        "feedforward": st.sampled_from([True, False]),
    },
)


@settings(max_examples=25, **HYPOTHESIS)
@given(kwargs=KERAS_ARGS)
def test_to_keras_arguments_property(small_lmu, kwargs):
    from nengo_lmu.interop import to_keras

    model = attempt("to_keras", to_keras, small_lmu, **kwargs)
    if model is not None:
        n_steps = kwargs.get("n_steps") or 3
        x = np.zeros((1, n_steps, 1), dtype=model.input.dtype.as_numpy_dtype)
        assert np.all(np.isfinite(np.asarray(model(x), dtype=float)))


#: A valid layer; each example replaces one argument by a hostile (or another
#: valid) value, so that every refusal is about that argument.
LAYER_VALID = dict(
    memory_d=1,
    order=3,
    theta=0.004,
    hidden_units=2,
    hidden_recurrent=True,
    return_sequences=False,
)
LAYER_VALUES = {
    "memory_d": st.one_of(st.integers(-1, 3), st.sampled_from(SPECIAL)),
    "order": st.one_of(st.integers(-1, 5), st.sampled_from(SPECIAL)),
    "theta": st.one_of(st.floats(0.001, 0.02), st.sampled_from(SPECIAL)),
    "dt": st.one_of(st.floats(1e-4, 0.002), st.sampled_from(SPECIAL)),
    "discretizer": st.sampled_from(["zoh", "euler", "ZOH", None, 1]),
    "hidden_units": st.one_of(st.integers(0, 3), st.sampled_from(SPECIAL)),
    "hidden_activation": st.sampled_from(["tanh", "relu", "softmax", None, 3]),
    "hidden_recurrent": st.sampled_from([True, False, "False", 1, None]),
    "input_to_hidden": st.sampled_from([True, False, "True", 0]),
    "use_bias": st.sampled_from([True, False, "False", None]),
    "return_sequences": st.sampled_from([True, False, "True", 0]),
    "dropout": st.one_of(st.floats(0, 0.9), st.sampled_from(SPECIAL)),
    "dtype": st.sampled_from(
        ["float16", "float32", "float64", "mixed_float16", "bfloat16", "int32", 5]
    ),
}
LAYER_ARGS = st.sampled_from(sorted(LAYER_VALUES)).flatmap(
    lambda name: LAYER_VALUES[name].map(lambda value: {**LAYER_VALID, name: value})
)


def _build_parallel_layer(kwargs, masked):
    import tensorflow as tf

    from nengo_lmu.interop.parallel_layer import ParallelLMULayer

    layer = ParallelLMULayer(**kwargs)
    x = np.random.RandomState(0).uniform(-1, 1, (2, 4, 1)).astype("float32")
    if masked:
        inp = tf.keras.Input((4, 1))
        return tf.keras.Model(inp, layer(tf.keras.layers.Masking(0.0)(inp)))
    return np.asarray(layer(x), dtype=float)


@settings(max_examples=60, **HYPOTHESIS)
@given(kwargs=LAYER_ARGS, masked=st.sampled_from([False, False, True]))
def test_parallel_layer_arguments_property(kwargs, masked):
    huge = is_huge(kwargs["memory_d"], kwargs.get("hidden_units"))
    out = attempt(
        "ParallelLMULayer",
        _build_parallel_layer,
        kwargs,
        masked,
        huge_allocation=huge,
    )
    if out is not None:
        assert not masked, "a masked input must be refused"
        assert np.all(np.isfinite(out))
