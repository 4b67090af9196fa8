import os
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# imported at collection, like the other test modules: progressbar2 (under
# NengoDL) keeps the sys.stderr of its import as a default stream, which must
# not be a single test's captured stream
import nengo_dl  # noqa: E402, F401

from nengo_lmu.cli import main  # noqa: E402


def test_delay_command_prints_errors_and_writes_png(capsys, tmp_path):
    png = tmp_path / "delay.png"
    assert main(["delay", "--duration", "4", "--output", str(png)]) == 0
    out = capsys.readouterr().out
    rows = [
        line.split()
        for line in out.splitlines()
        if line.strip()[:1].isdigit() and len(line.split()) == 3
    ]
    assert [float(r[0]) for r in rows] == [0.25, 0.5, 1.0]
    spiking, exact = float(rows[-1][1]), float(rows[-1][2])
    assert exact < 0.05 and spiking < 0.2  # delay of theta
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_delay_command_dl_backend(capsys):
    assert main(["delay", "--duration", "2", "--backend", "dl", "--output", ""]) == 0
    assert "NRMSE" in capsys.readouterr().out


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "nengo " in out and "nengo_dl" in out


@pytest.mark.parametrize(
    "option",
    [
        "--order=0",
        "--theta=-1",
        "--theta=nan",
        "--order=2.5",
        "--bogus=1",
        "--backend=gpu",
        "--neuron-type=Tanh",
    ],
)
def test_bad_options_exit_2_with_one_line(option):
    out = subprocess.run(
        [sys.executable, "-m", "nengo_lmu", "delay", option],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "error:" in out.stderr.splitlines()[-1]


def test_library_errors_exit_2_without_traceback():
    # theta shorter than a time step: a ValidationError from the library
    out = subprocess.run(
        [sys.executable, "-m", "nengo_lmu", "delay", "--theta=1e-9", "--output="],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2, out.stderr[-500:]
    assert "Traceback" not in out.stderr


def keras_classifier(steps, softmax=False, order=4, seed=0):
    import keras_lmu
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    return tf.keras.Sequential(
        [
            tf.keras.Input((steps, 1)),
            keras_lmu.LMU(1, order, steps, tf.keras.layers.SimpleRNNCell(5)),
            tf.keras.layers.Dense(10, activation="softmax" if softmax else None),
        ]
    )


def import_lines(capsys, path, *options):
    assert main(["import", str(path), *options]) == 0
    return capsys.readouterr().out


def logit_difference(out):
    return float(out.split("max |logit difference| ")[1].split()[0])


def test_import_command(tmp_path, capsys):
    import keras_lmu
    import numpy as np
    import tensorflow as tf

    path = tmp_path / "model.h5"
    keras_classifier(784).save(path)
    out = import_lines(capsys, path, "--n-test", "10")
    assert "Keras model with 1 LMU layer" in out and "784 steps per sequence" in out
    assert logit_difference(out) < 1e-4
    # not a psMNIST classifier: built, not evaluated
    other = tf.keras.Sequential(
        [tf.keras.Input((5, 2)), keras_lmu.LMU(1, 4, 5, None, input_to_hidden=False)]
    )
    other(np.zeros((1, 5, 2), dtype=np.float32))
    other.save(tmp_path / "other.h5")
    assert "not evaluated" in import_lines(capsys, tmp_path / "other.h5")
    bad = tmp_path / "notes.txt"
    bad.write_text("not a model")
    assert main(["import", str(bad)]) == 2
    assert main(["import", str(tmp_path / "missing.h5")]) == 2


def test_import_compares_logits_with_logits(tmp_path, capsys):
    """A softmax classifier's logits are compared (the issue measured 0.618
    comparing Keras's probabilities with Nengo's logits)."""
    path = tmp_path / "softmax.keras"
    keras_classifier(784, softmax=True).save(path)
    out = import_lines(capsys, path, "--n-test", "10")
    assert logit_difference(out) < 1e-4


def test_import_runs_at_the_models_sequence_length(tmp_path, capsys):
    # 196 steps: psMNIST read every 4th pixel
    keras_classifier(196).save(tmp_path / "short.h5")
    out = import_lines(capsys, tmp_path / "short.h5", "--n-test", "10")
    assert "10 test digits of 196 steps" in out
    assert logit_difference(out) < 1e-4
    # no psMNIST sequence has 100 steps: says why, evaluates nothing
    keras_classifier(100).save(tmp_path / "odd.h5")
    out = import_lines(capsys, tmp_path / "odd.h5")
    assert "not evaluated" in out and "100 steps" in out and "ceil(784 / s)" in out


def test_import_dense_only_model_is_a_keras_model(tmp_path, capsys):
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(10)])
    model.save(tmp_path / "dense.h5")
    out = import_lines(capsys, tmp_path / "dense.h5")
    assert "Keras model with 0 LMU layer(s)" in out and "LMU-paper" not in out


def test_psmnist_command_quick(tmp_path, capsys):
    args = [
        "psmnist",
        "--quick",
        "--epochs",
        "1",
        "--order",
        "16",
        "--units",
        "16",
        "--output-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("test accuracy")][0]
    rate = float(line.split("rate ")[1].split(",")[0])
    spiking = float(line.split("spiking ")[1])
    assert 0 <= spiking <= 1 and rate > 0.1  # above chance after one epoch
    assert (tmp_path / "psmnist_params.npz").exists()
    assert (tmp_path / "psmnist_training.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_tasks_and_interop_import_light():
    """The command line, the tasks and the importers import no heavy backend
    until a command or function needs one."""
    code = (
        "import sys, nengo_lmu.cli, nengo_lmu.tasks, nengo_lmu.interop\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'nengo_dl', 'nengo_loihi', 'keras', 'keras_lmu', "
        "'matplotlib', 'mlxtend', 'h5py')]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


# --- fail fast: every argument, path and combination before any work ----------


@pytest.fixture
def no_work(monkeypatch):
    """Replace the commands' work with a recorder: a test fails if work starts
    for arguments that should have been refused."""
    from nengo_lmu.interop import files
    from nengo_lmu.tasks import delay, psmnist

    calls = []

    def record(name):
        def work(*args, **kwargs):
            calls.append((name, args, kwargs))
            raise KeyboardInterrupt  # stop here: nothing is simulated

        return work

    monkeypatch.setattr(delay, "run_delay", record("delay"))
    monkeypatch.setattr(psmnist, "run_psmnist", record("psmnist"))
    monkeypatch.setattr(files, "load_model_file", record("import"))
    import nengo_lmu.interop

    monkeypatch.setattr(nengo_lmu.interop, "load_model_file", record("import"))
    return calls


def run_main(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.splitlines()


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["delay", "--theta", "3", "--duration", "2"], "--theta"),
        (["delay", "--theta", "2", "--duration", "2"], "--theta"),
        (["delay", "--theta", "1e6"], "--theta"),
        (["delay", "--theta", "1e308"], "--theta"),
        (["delay", "--theta", "1e6", "--duration", "2e6"], "--duration"),
        (["delay", "--neurons", "100000"], "--neurons"),
        (["delay", "--order", "5000"], "--order"),
        (["delay", "--seed", "-1"], "--seed"),
        (["delay", "--output", "/missing_dir/x.png"], "--output"),
        (["delay", "--output", "out.txt"], "--output"),
        (["delay", "--output", "."], "--output"),
        (["delay", "--output", "setup.py/x.png"], "--output"),
        (["psmnist", "--output-dir", "/missing/dir"], "--output-dir"),
        (["psmnist", "--output-dir", "setup.py"], "--output-dir"),
        (["psmnist", "--order", "100000"], "--order"),
        (["import", "/missing/model.h5"], "FILE"),
        (["import", "setup.py", "--n-test", "1001"], "--n-test"),
        (["import", "setup.py", "--n-test", "0"], "--n-test"),
        (["delay", "--theta", "nan"], "--theta"),
        (["delay", "--backend", "gpu"], "--backend"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(capsys, no_work, argv, flag):
    code, err = run_main(capsys, argv)
    assert code == 2 and no_work == []
    assert len(err) == 1, err
    assert err[0].startswith(f"nengo-lmu {argv[0]}: error: argument {flag}")


def test_good_arguments_reach_the_work(capsys, no_work, tmp_path):
    code, err = run_main(
        capsys,
        [
            "delay",
            "--theta",
            "0.5",
            "--duration",
            "0.6",
            "--output",
            str(tmp_path / "x.svg"),
        ],
    )
    assert code == 130 and err == ["nengo-lmu delay: interrupted"]
    ((name, _, kwargs),) = no_work
    assert name == "delay" and kwargs["theta"] == 0.5 and kwargs["duration"] == 0.6


def test_ctrl_c_ends_with_one_line_and_130_and_no_file(tmp_path):
    """A real SIGINT during the simulation: one line, exit 130, no PNG and no
    temporary file left behind."""
    import signal
    import time

    png = tmp_path / "delay.png"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nengo_lmu",
            "delay",
            "--duration",
            "60",
            "--output",
            str(png),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job inherits SIGINT ignored, and Python then
        # installs no KeyboardInterrupt handler; restore the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    line = proc.stdout.readline()  # printed after the checks, before the run
    assert line.startswith("Spiking LMU memory")
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "nengo-lmu delay: interrupted"
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_outputs_are_written_whole_or_not_at_all(tmp_path):
    from nengo_lmu._atomic import replaced_atomically

    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with replaced_atomically(target, ".png") as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]
    with replaced_atomically(target, ".png") as tmp:
        with open(tmp, "wb") as f:
            f.write(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


# --- property tests: argument values and paths ---------------------------------

import contextlib  # noqa: E402
import io  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from robustness import record, tally  # noqa: E402

from nengo_lmu.tasks.delay import LIMITS  # noqa: E402

CLI_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers_text = st.one_of(
    st.sampled_from(
        [
            "0",
            "-1",
            "1",
            "2",
            "0.5",
            "1e-9",
            "1e6",
            "1e308",
            "nan",
            "inf",
            "-inf",
            "",
            " ",
            "1_0",
            "0x10",
            "1e",
            "3.",
            "٣",
            "1e-320",
            "100000",
            "99999999999999999999",
        ]
    ),
    st.integers(-10, 10**7).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)


def path_text(tmp_path):
    folder = str(tmp_path)
    names = st.one_of(
        st.sampled_from(
            [
                "out.png",
                "out.PDF",
                "o.svg",
                "out.txt",
                "out",
                ".png",
                "a b.png",
                "ü.png",
                "x" * 300 + ".png",
                "new\nline.png",
            ]
        ),
        st.text(min_size=1, max_size=12).filter(lambda s: "\0" not in s),
    )
    return st.one_of(
        st.sampled_from(
            [
                "",
                ".",
                "/",
                "/missing_dir/x.png",
                folder,
                os.path.join(folder, "missing", "x.png"),
                os.path.join(folder, "file.txt", "x.png"),
                os.path.join(folder, "file.txt"),
            ]
        ),
        names.map(lambda n: os.path.join(folder, n)),
    )


def run_recorded(argv):
    """main(argv) with the work replaced by a recorder: (exit code, stderr
    lines, the recorded work call or None). Any exception fails the test."""
    from nengo_lmu.interop import files
    from nengo_lmu.tasks import delay, psmnist

    calls = []

    def record(*args, **kwargs):
        calls.append(kwargs or args)
        raise KeyboardInterrupt

    err = io.StringIO()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        for module, name in [
            (delay, "run_delay"),
            (psmnist, "run_psmnist"),
            (files, "load_model_file"),
        ]:
            mp.setattr(module, name, record)
        import nengo_lmu.interop

        mp.setattr(nengo_lmu.interop, "load_model_file", record)
        code = main(argv)
    return code, err.getvalue().splitlines(), (calls[0] if calls else None)


def check_outcome(argv, code, err, call):
    record(f"cli {argv[0]}", "refused" if call is None else "ran")
    if call is None:
        assert code in (0, 2), (argv, code, err)
        if code == 2:
            assert len(err) == 1 and err[0].startswith("nengo-lmu"), (argv, err)
            assert "error:" in err[0]
    else:
        assert code == 130 and len(err) == 1, (argv, code, err)


@settings(max_examples=200, **CLI_SETTINGS)
@given(data=st.data())
def delay_arguments(tmp_path, data):
    (tmp_path / "file.txt").write_text("x")
    options = data.draw(
        st.dictionaries(
            st.sampled_from(
                ["--theta", "--order", "--neurons", "--duration", "--seed", "--synapse"]
            ),
            numbers_text,
            max_size=4,
        )
    )
    argv = ["delay"]
    for key, value in options.items():
        argv.append(f"{key}={value}")
    argv.append(f"--output={data.draw(path_text(tmp_path))}")
    code, err, call = run_recorded(argv)
    check_outcome(argv, code, err, call)
    if call is not None:  # everything it ran with was checked
        theta, duration = call["theta"], call["duration"]
        assert call["dt"] <= theta < duration
        assert round(duration / call["dt"]) <= LIMITS["steps"]
        assert call["order"] * call["neurons_per_dimension"] <= LIMITS["neurons"]
        assert 0 <= call["seed"] < 2**32


@settings(max_examples=80, **CLI_SETTINGS)
@given(data=st.data())
def psmnist_and_import_arguments(tmp_path, data):
    (tmp_path / "file.txt").write_text("x")
    if data.draw(st.booleans()):
        options = data.draw(
            st.dictionaries(
                st.sampled_from(["--epochs", "--order", "--units", "--rate-scale"]),
                numbers_text,
                max_size=3,
            )
        )
        argv = ["psmnist"] + [f"{k}={v}" for k, v in options.items()]
        argv.append(f"--output-dir={data.draw(path_text(tmp_path))}")
    else:
        options = data.draw(
            st.dictionaries(
                st.sampled_from(["--dt", "--n-test"]), numbers_text, max_size=2
            )
        )
        argv = ["import", data.draw(path_text(tmp_path))]
        argv += [f"{k}={v}" for k, v in options.items()]
    code, err, call = run_recorded(argv)
    check_outcome(argv, code, err, call)
    if call is not None and argv[0] == "psmnist":
        assert os.path.isdir(call["output_dir"])
        assert call["rate_scale"] > 0 and call["epochs"] <= 1000
    elif call is not None:
        assert os.path.exists(call[0])


def test_delay_arguments_property(tmp_path):
    """Any values of delay's options and any output path: refused with one
    usage line, or run with checked values. At least 150 cases (of 200),
    some of each."""
    with tally("cli delay", minimum=150) as seen:
        delay_arguments(tmp_path=tmp_path)
    assert seen["cli delay", "refused"] and seen["cli delay", "ran"], seen


def test_psmnist_and_import_arguments_property(tmp_path):
    """The same for psmnist's and import's options and paths: at least 20
    cases of each command (measured: 53 and 27 of the 80), some refused and
    some run."""
    with tally("cli psmnist", "cli import", minimum=20) as seen:
        psmnist_and_import_arguments(tmp_path=tmp_path)
    assert seen["cli psmnist", "refused"] and seen["cli import", "refused"], seen
    assert seen["cli psmnist", "ran"] + seen["cli import", "ran"] > 0, seen


def test_closed_output_pipe_ends_quietly():
    """Issue 22: `nengo-lmu info | head -1` reported a broken pipe; a reader
    that goes away ends the command quietly (exit 141, as SIGPIPE would)."""
    import os

    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE
    try:
        out = subprocess.run(
            [sys.executable, "-m", "nengo_lmu", "info"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert out.returncode == 141 and out.stderr == "", out.stderr


@pytest.mark.parametrize(
    "argv, missing, extra",
    [
        (["delay", "--duration", "3"], "matplotlib", "plot"),
        (
            ["delay", "--duration", "3", "--backend", "dl", "--output", ""],
            "nengo_dl",
            "dl",
        ),
        (["psmnist", "--quick"], "mlxtend", "data"),
    ],
)
def test_missing_extras_are_named_before_the_work(
    monkeypatch, capsys, tmp_path, argv, missing, extra
):
    """Issue 22: without the plot extra `nengo-lmu delay` simulated and only
    then failed; missing extras gave a bare ModuleNotFoundError."""
    import nengo_lmu.tasks.delay
    import nengo_lmu.tasks.psmnist

    # None in sys.modules is how Python marks a module that cannot be imported
    monkeypatch.setitem(sys.modules, missing, None)

    def work(*args, **kwargs):
        raise AssertionError("the work started")

    monkeypatch.setattr(nengo_lmu.tasks.delay, "run_delay", work)
    monkeypatch.setattr(nengo_lmu.tasks.psmnist, "run_psmnist", work)
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f'pip install -c constraints.txt -e ".[{extra}]"' in err, err
    assert missing in err
