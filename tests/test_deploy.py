"""Deployment (qubo_bnn.deploy, qubo_bnn.predictor): the bit-packed .npz read by the standalone
predictor in a bare interpreter, and the C header compiled with a C compiler, against
``clf.predict`` and against an independent plain-numpy oracle (a forward pass per committee
member, then the vote stated as integer pairs compared lexicographically)."""
import copy
import io
import json
import math
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from qubo_bnn import BNNClassifier, Network
from qubo_bnn import predictor
from qubo_bnn.datasets import load_digits_task
from qubo_bnn.deploy import export_model, packed_model, summary

SAMPLER = {"num_reads": 2, "num_sweeps": 50}
PREDICTOR_SOURCE = Path(predictor.__file__)
C_COMPILER = shutil.which("gcc") or shutil.which("cc")


# ---------------------------------------------------------------------- the oracle
def oracle_preactivations(net: Network, members: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """``(M, n, n_outputs)`` output pre-activations by a plain loop over the edges."""
    spins = 2 * np.asarray(bits, dtype=np.int64) - 1
    out = []
    for w in np.asarray(members, dtype=np.int64):
        node = {i: spins[:, i] for i in range(net.n_inputs)}
        z = {}
        for (source, target), weight in zip(net.edges.tolist(), w):
            a = np.ones(len(spins), dtype=np.int64) if source == -1 else node[source]
            z[target] = z.get(target, 0) + weight * a
            node[target] = np.where(z[target] >= 0, 1, -1)   # final once the neuron's edges are summed
        out.append(np.stack([z[o] for o in net.outputs], axis=1))
    return np.array(out)


def oracle_vote(Z: np.ndarray) -> np.ndarray:
    """Class index per sample: (sum of signs, sum of z) compared lexicographically; two classes
    (one output) pick 1 when the pair is >= (0, 0); ties to the lowest index."""
    votes = np.where(Z >= 0, 1, -1).sum(axis=0)
    zsum = Z.sum(axis=0)
    if Z.shape[2] == 1:
        return [int((v, s) >= (0, 0)) for v, s in zip(votes[:, 0], zsum[:, 0])]
    labels = []
    for v_row, s_row in zip(votes.tolist(), zsum.tolist()):
        pairs = list(zip(v_row, s_row))
        labels.append(pairs.index(max(pairs)))
    return labels


def oracle_predict(clf, members, X, binarizer=None) -> np.ndarray:
    bits = np.asarray(X)
    if binarizer is not None:
        bits = np.array([[row[f] > t for f, t in zip(binarizer.features_, binarizer.thresholds_)] for row in X])
    elif np.isin(bits, (-1, 1)).all() and not np.isin(bits, (0, 1)).all():
        bits = bits > 0
    return np.asarray(clf.classes_)[oracle_vote(oracle_preactivations(clf.network_, members, bits))]


# ---------------------------------------------------------------------- fitted models
@pytest.fixture(scope="module")
def models():
    """Small fitted classifiers: dense and skip-connection nets on two classes, dense on three
    (one output per class, and one-vs-one: one network per pair of classes), ternary on three."""
    X2, X2_test, y2, _ = load_digits_task(classes=(3, 8), n_train=60, n_test=80)
    X3, X3_test, y3, _ = load_digits_task(classes=(1, 3, 8), n_train=60, n_test=80)
    skip = Network(16).dense(4)
    skip.add_neuron(skip.neurons + [0, 5, 10, 15])
    params = dict(sampler_params=SAMPLER, refine_sweeps=0, random_state=0)
    return {
        "dense-2": (BNNClassifier(hidden_layer_sizes=(4,), **params).fit(X2, y2), X2_test),
        "skip-2": (BNNClassifier(skip, **params).fit(X2, y2), X2_test),
        "dense-3": (BNNClassifier(hidden_layer_sizes=(3,), **params).fit(X3, y3), X3_test),
        "ovo-3": (BNNClassifier(hidden_layer_sizes=(2,), multi_class="ovo", **params).fit(X3, y3), X3_test),
        "ternary-3": (BNNClassifier(hidden_layer_sizes=(3,), weights="ternary", **params).fit(X3, y3), X3_test),
    }


def members_of(clf) -> np.ndarray:
    members = getattr(clf, "members_", None)
    return np.asarray(clf.weights_)[None] if members is None else np.asarray(members)


def run_predictor_alone(tmp_path: Path, model_path: Path, X) -> np.ndarray:
    """predictor.py copied alone into a fresh folder, run in a new interpreter."""
    alone = tmp_path / "alone"
    alone.mkdir(exist_ok=True)
    shutil.copy(PREDICTOR_SOURCE, alone / "predictor.py")
    np.save(alone / "X.npy", np.asarray(X))
    script = alone / "run.py"
    script.write_text(
        "import json, sys\n"
        "import numpy as np\n"
        "import predictor\n"
        "model = predictor.load(sys.argv[1])\n"
        "np.save(sys.argv[3], model.predict(np.load(sys.argv[2])))\n"
        "print(json.dumps({'file': predictor.__file__, 'loaded': sorted(\n"
        "    m for m in ('dimod', 'sklearn', 'numba', 'qubo_bnn') if m in sys.modules)}))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(script), str(model_path), str(alone / "X.npy"),
                           str(alone / "y.npy")], cwd=alone, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert Path(report["file"]).resolve() == (alone / "predictor.py").resolve()
    assert report["loaded"] == []
    return np.load(alone / "y.npy", allow_pickle=False)


def run_c(tmp_path: Path, header: Path, X) -> np.ndarray:
    """The header compiled into a program reading rows of doubles and printing class indices."""
    main = tmp_path / "main.c"
    main.write_text(
        "#include <stdio.h>\n"
        f'#include "{header.name}"\n'
        "int main(void)\n{\n"
        "    double x[QUBO_BNN_N_FEATURES];\n"
        "    for (;;) {\n"
        "        int i;\n"
        "        for (i = 0; i < QUBO_BNN_N_FEATURES; ++i)\n"
        "            if (scanf(\"%lf\", &x[i]) != 1)\n"
        "                return 0;\n"
        "        printf(\"%d\\n\", qubo_bnn_predict(x));\n"
        "    }\n}\n")
    exe = tmp_path / "predict"
    subprocess.run([C_COMPILER, "-std=c99", "-O1", "-Wall", "-Wextra", "-pedantic", "-Werror",
                    "-I", str(header.parent), str(main), "-o", str(exe), "-lm"],
                   check=True, capture_output=True, text=True)
    rows = "\n".join(" ".join(repr(float(v)) for v in row) for row in np.asarray(X)) + "\n"
    done = subprocess.run([str(exe)], input=rows, capture_output=True, text=True, check=True)
    return np.array([int(v) for v in done.stdout.split()])


def assert_exports_predict(model, X, expected, tmp_path: Path) -> None:
    """The .npz through the standalone predictor, and the C header where a compiler exists,
    both predict ``expected`` on every row of ``X``."""
    path = tmp_path / "committee.npz"
    export_model(model, path, "npz")
    np.testing.assert_array_equal(run_predictor_alone(tmp_path, path, X), expected)
    if C_COMPILER is not None:
        header = tmp_path / "committee.h"
        export_model(model, header, "c")
        np.testing.assert_array_equal(np.asarray(model.classes_)[run_c(tmp_path, header, X)], expected)


needs_c = pytest.mark.skipif(C_COMPILER is None, reason="no C compiler (gcc or cc) on this machine")


# ---------------------------------------------------------------------- (a) the standalone predictor
@pytest.mark.parametrize("name", ["dense-2", "skip-2", "dense-3", "ovo-3", "ternary-3"])
def test_npz_predictor_alone_matches_classifier(models, name, tmp_path):
    clf, X = models[name]
    path = tmp_path / "model.npz"
    export_model(clf, path, "npz")
    got = run_predictor_alone(tmp_path, path, X)
    expected = clf.predict(X)
    assert got.dtype.kind == expected.dtype.kind == "i"        # integer classes come back as integers
    np.testing.assert_array_equal(got, expected)
    if getattr(clf, "pairs_", None) is None:      # the oracle decodes one output (per class)
        np.testing.assert_array_equal(got, oracle_predict(clf, members_of(clf), X))


def test_npz_reads_spins_and_string_classes(models, tmp_path):
    clf, X = models["dense-2"]
    named = copy.copy(clf)
    named.classes_ = np.array(["three", "eight"], dtype=object)
    path = tmp_path / "named.npz"
    export_model(named, path, "npz")
    model = predictor.load(path)
    expected = np.where(clf.predict(X) == clf.classes_[1], "eight", "three")
    np.testing.assert_array_equal(model.predict(2 * X.astype(int) - 1), expected)


# ---------------------------------------------------------------------- (b) the C header
@needs_c
@pytest.mark.parametrize("name", ["dense-2", "skip-2", "dense-3", "ovo-3", "ternary-3"])
def test_c_header_matches_classifier(models, name, tmp_path):
    clf, X = models[name]
    header = tmp_path / "model.h"
    export_model(clf, header, "c")
    got = run_c(tmp_path, header, X)
    np.testing.assert_array_equal(np.asarray(clf.classes_)[got], clf.predict(X))


@needs_c
def test_c_class_names_survive_escaping(models, tmp_path):
    clf, _ = models["dense-3"]
    named = copy.copy(clf)
    named.classes_ = np.array(['say "one"', "tw\\o??=", "trois é"], dtype=object)
    export_model(named, tmp_path / "named.h", "c")
    (tmp_path / "names.c").write_text(
        '#include <stdio.h>\n#include "named.h"\n'
        'int main(void)\n{\n    int k;\n    for (k = 0; k < QUBO_BNN_N_CLASSES; ++k)\n'
        '        printf("%s\\n", qubo_bnn_class_names[k]);\n    return 0;\n}\n')
    subprocess.run([C_COMPILER, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", str(tmp_path / "names.c"),
                    "-o", str(tmp_path / "names")], check=True, capture_output=True, text=True)
    done = subprocess.run([str(tmp_path / "names")], capture_output=True, check=True)
    assert done.stdout.decode().splitlines() == list(named.classes_)


# ---------------------------------------------------------------------- (c) committee and binarizer
@pytest.mark.parametrize("name, n_members", [("dense-2", 4), ("dense-3", 5), ("skip-2", 1)])
def test_committee_with_binarizer_matches_oracle(models, name, n_members, tmp_path):
    clf, _ = models[name]
    rng = np.random.default_rng(n_members)
    model = copy.copy(clf)
    n_raw = 20
    model.members_ = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_members, clf.network_.n_weights))
    model.weights_ = model.members_[0]
    model.binarizer_ = types.SimpleNamespace(features_=rng.integers(0, n_raw, clf.network_.n_inputs),
                                             thresholds_=rng.normal(size=clf.network_.n_inputs))
    model.n_features_in_ = n_raw
    X = rng.normal(size=(300, n_raw))
    for row in X[:100]:                                   # x == t gives bit 0: some at each threshold
        for i in rng.permutation(clf.network_.n_inputs)[:8]:
            row[model.binarizer_.features_[i]] = model.binarizer_.thresholds_[i]
    expected = oracle_predict(model, model.members_, X, model.binarizer_)

    assert_exports_predict(model, X, expected, tmp_path)


@pytest.mark.parametrize("name", ["dense-3", "ovo-3"])
def test_random_committee_matches_classifier(models, name, tmp_path):
    clf, X = models[name]
    model = copy.copy(clf)
    model.members_ = np.random.default_rng(7).choice(np.array([-1, 1], dtype=np.int8),
                                                     size=(3, clf.network_.n_weights))
    model.weights_ = model.members_[0]
    expected = model.predict(X)
    assert len(set(expected.tolist())) > 1
    assert_exports_predict(model, X, expected, tmp_path)


@pytest.mark.parametrize("n_members, n_outputs", [(1, 1), (1, 3), (2, 1), (3, 1), (4, 4), (5, 3)])
def test_vote_rule_is_the_lexicographic_vote(n_members, n_outputs):
    rng = np.random.default_rng(10 * n_members + n_outputs)
    f_max = 3
    Z = rng.integers(-f_max, f_max + 1, size=(n_members, 500, n_outputs))   # many ties
    classes = np.arange(max(2, n_outputs)) * 10
    got = predictor.labels_from_scores(predictor.vote_scores(Z, f_max), classes)
    np.testing.assert_array_equal(got, classes[oracle_vote(Z)])
    if n_members == 1:     # one network: exactly z >= 0, argmax z
        plain = Z[0, :, 0] >= 0 if n_outputs == 1 else np.argmax(Z[0], axis=1)
        np.testing.assert_array_equal(got, classes[plain.astype(int)])


# ---------------------------------------------------------------------- summary
@pytest.mark.parametrize("name", ["dense-2", "skip-2", "dense-3", "ovo-3"])
def test_summary_counts_match_the_network(models, name, tmp_path):
    clf, _ = models[name]
    net = clf.network_
    text = summary(clf)
    lines = text.splitlines()
    layer_rows = [ln.split() for ln in lines[1:] if ln.split()[0].isdigit()]
    total = next(ln.split() for ln in lines if ln.startswith("total"))
    n_weights = n_neurons = c_bytes = 0
    for row in layer_rows:
        neurons, (fan_in, weights, bits, packed) = int(row[1]), map(int, row[-4:])
        assert weights == bits == neurons * fan_in
        assert packed == neurons * math.ceil(fan_in / 8)
        n_neurons, n_weights, c_bytes = n_neurons + neurons, n_weights + weights, c_bytes + packed
    assert (n_neurons, n_weights) == (net.n_neurons, net.n_weights)
    assert total[1:] == [str(net.n_neurons), str(net.n_weights), str(net.n_weights), str(c_bytes)]
    M, E = len(members_of(clf)), net.n_weights
    assert f"committee: {M} member" in text
    assert f"= {math.ceil(E / 8)} bytes packed (ceil({E}/8)); {M * math.ceil(E / 8)} bytes for the committee" in text
    export_model(clf, tmp_path / "m.npz", "npz")
    export_model(clf, tmp_path / "m.h", "c")
    clf.save(tmp_path / "m.json")
    sizes = {k: os.path.getsize(tmp_path / f"m.{k}") for k in ("json", "npz", "h")}
    assert (f"JSON model (BNNClassifier.save) {sizes['json']} bytes; packed .npz {sizes['npz']} bytes; "
            f"C header {sizes['h']} bytes") in text
    assert f"#define QUBO_BNN_WEIGHT_BYTES {c_bytes}\n" in (tmp_path / "m.h").read_text()


# ---------------------------------------------------------------------- errors
def test_export_errors_leave_files_intact(models, tmp_path):
    clf, _ = models["dense-2"]
    target = tmp_path / "model.npz"
    target.write_bytes(b"earlier")
    with pytest.raises(ValueError, match="^unknown export format 'onnx': choose one of npz, c$"):
        export_model(clf, target, "onnx")
    with pytest.raises(ValueError, match="not fitted"):
        export_model(BNNClassifier(), target, "npz")
    broken = copy.copy(clf)
    broken.members_ = np.zeros((2, clf.network_.n_weights), dtype=np.int8)
    with pytest.raises(ValueError, match="committee must be a"):
        export_model(broken, target, "c")
    assert target.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def _arrays(clf) -> dict:
    return packed_model(clf).to_arrays()


def _npz(arrays: dict) -> io.BytesIO:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    return buf


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(format=np.array("other")), "format should be 'qubo-bnn/packed'"),
    (lambda a: a.update(version=np.array(99)), "unsupported version"),
    (lambda a: a.pop("edges"), r"missing arrays \['edges'\]"),
    (lambda a: a.update(extra=np.zeros(2)), r"unknown arrays \['extra'\]"),
    (lambda a: a["edges"].__setitem__((0, 0), 10_000), "earlier neuron"),
    (lambda a: a.update(packed_weights=a["packed_weights"][:, :-1]), "packed_weights must be uint8 of shape"),
    (lambda a: a["packed_weights"].__setitem__((0, -1), 255), "bits set beyond the last weight"),
    (lambda a: a.update(classes=np.array([1, 2, 3])), "3 classes need 3 output"),
    (lambda a: a.update(binarizer_features=np.zeros(16, dtype=np.int64)), "come together"),
    (lambda a: a.update(packed_weights=a["packed_weights"].astype(np.int64)), "packed_weights must be uint8"),
])
def test_load_refuses_bad_models_in_one_line(models, change, message):
    arrays = _arrays(models["dense-2"][0])
    arrays = {k: np.array(v) for k, v in arrays.items()}
    change(arrays)
    with pytest.raises(ValueError, match=message) as err:
        predictor.load(_npz(arrays))
    assert "\n" not in str(err.value)


def test_load_refuses_non_model_files(tmp_path):
    for name, data in [("text.npz", b"hello"), ("empty.npz", b""), ("cut.npz", b"PK\x03\x04cut")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=f"^{tmp_path / name}: not a qubo-bnn packed model") as err:
            predictor.load(tmp_path / name)
        assert "\n" not in str(err.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        predictor.load(tmp_path / "missing.npz")


def test_predict_refuses_bad_input(models, tmp_path):
    model = packed_model(models["dense-2"][0])
    for X, message in [(np.zeros(16), "shape"), (np.zeros((2, 15)), "shape"), (np.full((2, 16), 2), "binary"),
                       (np.full((1, 16), np.nan), "NaN"), (np.array([["a"] * 16]), "numeric")]:
        with pytest.raises(ValueError, match=message):
            model.predict(X)


# ---------------------------------------------------------------------- (d) binary (0/1 gate) inputs
def _binary_nets() -> dict:
    """Networks reading 0/1 inputs: dense, ternary (two edges per source, > 8 edges per neuron),
    a skip connection (a neuron reading inputs and a neuron), one output per class, one-vs-one."""
    skip = Network(6, inputs="binary").dense(3)
    skip.add_neuron(skip.neurons + [0, 5])
    return {   # name: (network, classes, one-vs-one)
        "dense-2": (Network(6, inputs="binary").dense(3).dense(1), [0, 1], False),
        "ternary-2": (Network(5, inputs="binary").dense(2, ternary=True).dense(1), ["no", "yes"], False),
        "skip-2": (skip, [3, 8], False),
        "wide-3": (Network(10, inputs="binary").dense(2).dense(3), [1, 3, 8], False),
        "ternary-3": (Network(5, inputs="binary").dense(2, ternary=True).dense(3), [7, 8, 9], False),
        "ovo-3": (Network(6, inputs="binary").dense(3).dense(3), ["a", "b", "c"], True),
    }


BINARY_NETS = _binary_nets()


def binary_classifier(name: str, n_members: int, seed: int = 0) -> BNNClassifier:
    """A hand-set classifier (as if fitted) on a binary-input network, random ±1 weights."""
    net, classes, ovo = BINARY_NETS[name]
    assert net.inputs == "binary"
    clf = BNNClassifier(net)
    clf.network_, clf.classes_, clf.n_features_in_ = net, np.array(classes), net.n_inputs
    clf.members_ = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8),
                                                      size=(n_members, net.n_weights))
    clf.weights_ = clf.members_[0]
    if ovo:
        clf.pairs_ = predictor.one_vs_one_pairs(len(classes))
    return clf


def binary_rows(n_inputs: int, seed: int = 0) -> np.ndarray:
    """Every 0/1 row (all-zero row first) for few inputs, else the all-zero, all-one and random rows."""
    if n_inputs <= 8:
        return np.array([[(i >> k) & 1 for k in range(n_inputs)] for i in range(1 << n_inputs)], dtype=np.uint8)
    rng = np.random.default_rng(seed)
    return np.vstack([np.zeros((1, n_inputs)), np.ones((1, n_inputs)),
                      rng.integers(0, 2, size=(300, n_inputs))]).astype(np.uint8)


def forward_outputs(clf, X) -> np.ndarray:
    """``(M, n, n_outputs)`` output pre-activations by ``Network.forward`` (the oracle)."""
    net = clf.network_
    Z, _ = net.forward(X, members_of(clf))
    return Z[:, :, [o - net.n_inputs for o in net.outputs]]


def forward_labels(clf, X) -> np.ndarray:
    """Labels from the oracle's pre-activations: the lexicographic vote, or for a one-vs-one
    model the pair decoding of qubo_bnn.predictor (tested on its own above)."""
    Z = forward_outputs(clf, X)
    if getattr(clf, "pairs_", None) is not None:
        return predictor.labels_from_scores(
            predictor.class_scores(Z, packed_model(clf).f_max, len(clf.classes_), clf.pairs_), clf.classes_)
    return np.asarray(clf.classes_)[oracle_vote(Z)]


@pytest.mark.parametrize("n_members", [1, 3])
@pytest.mark.parametrize("name", sorted(BINARY_NETS))
def test_binary_inputs_packed_model_matches_forward(name, n_members):
    clf = binary_classifier(name, n_members, seed=n_members)
    X = binary_rows(clf.network_.n_inputs)
    assert not X[0].any()                                        # the all-zero row: only the bias counts
    expected_z, expected = forward_outputs(clf, X), forward_labels(clf, X)
    model = packed_model(clf)
    assert model.inputs == "binary" and model.to_arrays()["inputs"] == "binary"
    for m in (model, predictor.load(io.BytesIO(model.to_bytes()))):
        assert m.inputs == "binary"
        np.testing.assert_array_equal(m.output_preactivations(X), expected_z)
        np.testing.assert_array_equal(m.predict(X), expected)
        np.testing.assert_array_equal(m.predict(2 * X.astype(int) - 1), expected)   # spins: -1 is off
        if n_members == 1 and len(clf.classes_) == 2:           # one network: the score is z
            np.testing.assert_array_equal(m.decision_function(X) >= 0, expected_z[0, :, 0] >= 0)
    # the file without its key is a spin model: it computes what the spin network computes, and
    # the neurons reading inputs then sum other values (the mask matters)
    spin_net = Network.from_dict({k: v for k, v in clf.network_.to_dict().items() if k != "inputs"})
    spin_z, _ = spin_net.forward(X, members_of(clf))
    arrays = model.to_arrays()
    arrays.pop("inputs")
    np.testing.assert_array_equal(predictor.load(_npz(arrays)).output_preactivations(X),
                                  spin_z[:, :, [o - spin_net.n_inputs for o in spin_net.outputs]])
    assert not np.array_equal(spin_z, clf.network_.forward(X, members_of(clf))[0])


@pytest.mark.parametrize("name", ["dense-2", "ternary-2", "skip-2", "wide-3", "ovo-3"])
def test_binary_inputs_exports_match_forward(name, tmp_path):
    """The .npz through the standalone predictor and the C header (where a compiler exists)."""
    clf = binary_classifier(name, 3, seed=11)
    X = binary_rows(clf.network_.n_inputs, seed=11)
    expected = forward_labels(clf, X)
    assert len(set(expected.tolist())) > 1
    assert_exports_predict(clf, X, expected, tmp_path)


@needs_c
def test_binary_inputs_c_header_one_member_and_spins(tmp_path):
    clf = binary_classifier("skip-2", 1, seed=5)
    X = binary_rows(clf.network_.n_inputs)
    header = tmp_path / "gates.h"
    export_model(clf, header, "c")
    text = header.read_text()
    assert "#define QUBO_BNN_BINARY_INPUTS 1" in text and "z = popcount(mask)" in text
    expected = forward_labels(clf, X)
    np.testing.assert_array_equal(np.asarray(clf.classes_)[run_c(tmp_path, header, X)], expected)
    np.testing.assert_array_equal(np.asarray(clf.classes_)[run_c(tmp_path, header, 2 * X.astype(int) - 1)],
                                  expected)


def test_binary_inputs_with_binarizer_match_forward(tmp_path):
    clf = binary_classifier("wide-3", 2, seed=3)
    rng = np.random.default_rng(3)
    n_raw = 14
    clf.binarizer_ = types.SimpleNamespace(features_=rng.integers(0, n_raw, clf.network_.n_inputs),
                                           thresholds_=rng.normal(size=clf.network_.n_inputs))
    clf.n_features_in_ = n_raw
    X = rng.normal(size=(300, n_raw))
    X[0] = clf.binarizer_.thresholds_.min() - 1.0                  # every input off
    bits = np.array([[row[f] > t for f, t in zip(clf.binarizer_.features_, clf.binarizer_.thresholds_)]
                     for row in X], dtype=np.uint8)
    assert not bits[0].any()
    expected = forward_labels(clf, bits)
    np.testing.assert_array_equal(packed_model(clf).predict(X), expected)
    assert_exports_predict(clf, X, expected, tmp_path)


def test_spin_files_carry_no_inputs_key_and_load_as_spins():
    spin = Network(6).dense(3).dense(1)
    clf = BNNClassifier(spin)
    clf.network_, clf.classes_, clf.n_features_in_ = spin, np.array([0, 1]), 6
    clf.weights_ = np.random.default_rng(2).choice(np.array([-1, 1], dtype=np.int8), size=spin.n_weights)
    model = packed_model(clf)
    assert model.inputs == "spin" and "inputs" not in model.to_arrays()    # files as before the key
    loaded = predictor.load(io.BytesIO(model.to_bytes()))
    X = binary_rows(6)
    assert loaded.inputs == "spin"
    np.testing.assert_array_equal(loaded.output_preactivations(X), forward_outputs(clf, X))
    # a binary model's file without its key is read as spins (how every earlier file reads)
    arrays = packed_model(binary_classifier("dense-2", 1)).to_arrays()
    arrays.pop("inputs")
    assert predictor.load(_npz(arrays)).inputs == "spin"
    arrays["inputs"] = np.array("spin")                           # written out explicitly: the same
    assert predictor.load(_npz(arrays)).inputs == "spin"


def test_bad_inputs_kind_is_a_one_line_value_error():
    edges = np.array([[0, 2], [1, 2], [-1, 2]])
    for bad in ("gates", "", None, 1):
        with pytest.raises(ValueError, match="^inputs must be one of"):
            predictor.PackedModel(2, edges, [2], predictor.pack_weights([[1, 1, -1]]), [0, 1], inputs=bad)
    arrays = packed_model(binary_classifier("dense-2", 1)).to_arrays()
    for bad, message in [(np.array("gates"), "inputs must be one of"), (np.array(1), "inputs must be a string"),
                         (np.array(["binary"]), "inputs must be a string")]:
        with pytest.raises(ValueError, match=message) as err:
            predictor.load(_npz({**arrays, "inputs": bad}))
        assert "\n" not in str(err.value)


def test_ternary_edge_pairs_are_accepted_and_other_repeats_refused():
    w = predictor.pack_weights([[1, -1, 1, 1, -1]])
    ok = predictor.PackedModel(2, [[0, 2], [0, 2], [1, 2], [1, 2], [-1, 2]], [2], w, [0, 1])
    assert ok.n_weights == 5
    for edges in ([[0, 2], [0, 2], [0, 2], [1, 2], [-1, 2]],     # three edges from one source
                  [[0, 2], [1, 2], [0, 2], [1, 2], [-1, 2]],     # a repeat that is not consecutive
                  [[0, 2], [0, 2], [1, 2], [-1, 2], [-1, 2]]):   # the bias twice
        with pytest.raises(ValueError, match="must not repeat a"):
            predictor.PackedModel(2, edges, [2], w, [0, 1])


@pytest.mark.parametrize("name", sorted(BINARY_NETS))
def test_binary_inputs_summary_says_so(name):
    clf = binary_classifier(name, 1)
    assert "bits read as 0/1 (an off input contributes 0)" in summary(clf)
