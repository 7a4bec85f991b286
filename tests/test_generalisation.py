"""The choices among networks that fit: the objective ladder, the committee vote, one-vs-one,
unconnected constant inputs and the binarising front end -- each against an independent oracle
(brute force over weights with a numpy forward pass, or a plain numpy vote)."""
import itertools

import numpy as np
import pytest

from qubo_bnn import BNNClassifier, Network, TrainingQUBO
from qubo_bnn.datasets import load_digits_task
from qubo_bnn.ladder import lexicographic_margin_weight
from qubo_bnn.multiclass import live_inputs, union_network

TINY = {"num_reads": 4, "num_sweeps": 100}


def numpy_forward(net: Network, X, w):
    """Pre-activations of every neuron, by a plain loop over neurons (sign(0) = +1)."""
    S = 2 * np.asarray(X, dtype=np.int64) - 1
    act = {i: S[:, i] for i in range(net.n_inputs)}
    z_all = {}
    for j, sl in net.edge_slices().items():
        wj = np.asarray(w)[sl]
        srcs = net.edge_sources(j)
        z = sum(wj[k] * act[s] for k, s in enumerate(srcs)) if srcs else np.zeros(len(S), dtype=np.int64)
        if net.has_bias(j):
            z = z + wj[-1]
        z_all[j] = z
        act[j] = np.where(z >= 0, 1, -1)
    return z_all


@pytest.mark.parametrize("cap", [None, "sqrt"])
@pytest.mark.parametrize("net_spec", ["perceptron", "hidden", "even"])
def test_ladder_ground_state_is_the_lexicographic_optimum(net_spec, cap):
    """errors first, then total output margin: the BQM's energy (minimised over the auxiliaries
    by dimod.ExactSolver-checked weight_energies) orders every pair of weight assignments as the
    lexicographic order of (training errors, -margin) computed by a numpy forward pass."""
    rng = np.random.default_rng(3)
    net = {"perceptron": Network(3).dense(1), "hidden": Network(2).dense(2).dense(1),
           "even": Network(3).dense(1, bias=False)}[net_spec]
    X = rng.integers(0, 2, (7, net.n_inputs))
    t = rng.integers(0, 2, 7)
    q = TrainingQUBO(net, X, t, margin_neurons="output", margin_cap=cap)
    mu = lexicographic_margin_weight(q, 1.0)
    W = np.array(list(itertools.product((-1, 1), repeat=net.n_weights)))
    energy = q.weight_energies(W, B=1.0, mu=mu)
    out = net.outputs[0]
    F = net.fan_in(out)
    # the sqrt cap, rounded down to |z|'s parity (F's): F = 4 -> 2, F = 3 -> 1
    m = F if cap is None else int(np.ceil(np.sqrt(F)))
    m -= (m - F) % 2
    key = []
    for w in W:
        z = numpy_forward(net, X, w)[out]
        errors = int(((z >= 0).astype(int) != t).sum())
        key.append((errors, -int(np.minimum(np.abs(z), m).sum())))
    for a, b in itertools.combinations(range(len(W)), 2):
        if key[a] < key[b]:
            assert energy[a] < energy[b]
        elif key[a] > key[b]:
            assert energy[a] > energy[b]
        else:
            assert energy[a] == pytest.approx(energy[b])


def test_live_inputs_leave_constant_columns_unconnected():
    X = np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]])
    assert live_inputs(X) == [0, 2]
    clf = BNNClassifier(hidden_layer_sizes=(2,), sampler_params=TINY, random_state=0).fit(X, [0, 1, 0])
    for j in clf.network_.hidden:
        assert clf.network_.sources(j) == [0, 2]
    kept = BNNClassifier(hidden_layer_sizes=(2,), drop_constant_inputs=False, sampler_params=TINY,
                         random_state=0).fit(X, [0, 1, 0])
    assert kept.network_.sources(kept.network_.hidden[0]) == [0, 1, 2, 3]


def vote_oracle(net, members, X):
    """Plain numpy majority vote of the members' output signs, ties by the summed z."""
    Z = np.stack([[numpy_forward(net, X, w)[o] for o in net.outputs] for w in members])   # (M, out, n)
    votes = np.where(Z >= 0, 1, -1).sum(axis=0)
    zsum = Z.sum(axis=0)
    return votes, zsum


def test_committee_predicts_the_majority_vote():
    Xtr, Xte, ytr, yte = load_digits_task(classes=(3, 8), n_train=40, n_test=60, seed=1)
    clf = BNNClassifier(hidden_layer_sizes=(3,), committee_size=5,
                        sampler_params={"num_reads": 8, "num_sweeps": 60}, random_state=2).fit(Xtr, ytr)
    M = clf.members_
    assert 1 < len(M) <= 5 and (M[0] == clf.weights_).all()
    assert len({m.tobytes() for m in M}) == len(M)                     # distinct
    votes, zsum = vote_oracle(clf.network_, M, Xte)
    fire = (votes[0] > 0) | ((votes[0] == 0) & (zsum[0] >= 0))
    np.testing.assert_array_equal(clf.predict(Xte), np.where(fire, 8, 3))
    single = BNNClassifier(hidden_layer_sizes=(3,), committee_size=1,
                           sampler_params={"num_reads": 8, "num_sweeps": 60}, random_state=2).fit(Xtr, ytr)
    z = numpy_forward(single.network_, Xte, single.weights_)[single.network_.outputs[0]]
    np.testing.assert_array_equal(single.decision_function(Xte), z + 0.5)       # > 0 exactly where z >= 0
    np.testing.assert_array_equal(single.weights_, M[0])              # the committee's best is the single fit


def test_union_network_runs_its_parts_side_by_side():
    rng = np.random.default_rng(0)
    a = Network(4).dense(2).dense(1)
    b = Network(4).dense(1, sources=[0, 3])
    u = union_network(4, [a, b])
    wa, wb = rng.choice([-1, 1], a.n_weights), rng.choice([-1, 1], b.n_weights)
    X = rng.integers(0, 2, (9, 4))
    zu = numpy_forward(u, X, np.concatenate([wa, wb]))
    np.testing.assert_array_equal(zu[u.outputs[0]], numpy_forward(a, X, wa)[a.outputs[0]])
    np.testing.assert_array_equal(zu[u.outputs[1]], numpy_forward(b, X, wb)[b.outputs[0]])


def test_one_vs_one_votes_over_pairs():
    Xtr, Xte, ytr, yte = load_digits_task(classes=(0, 1, 7), n_train=30, n_test=30, seed=0)
    clf = BNNClassifier(hidden_layer_sizes=(), multi_class="ovo", committee_size=3,
                        sampler_params={"num_reads": 4, "num_sweeps": 60}, random_state=0).fit(Xtr, ytr)
    assert clf.pairs_ == [(0, 1), (0, 2), (1, 2)] and len(clf.network_.outputs) == 3
    votes, zsum = vote_oracle(clf.network_, clf.members_, Xte)          # (pairs, n)
    class_votes = np.zeros((len(Xte), 3))
    for p, (i, j) in enumerate(clf.pairs_):
        fire = (votes[p] > 0) | ((votes[p] == 0) & (zsum[p] >= 0))
        class_votes[:, j] += fire
        class_votes[:, i] += ~fire
    pred = clf.predict(Xte)
    # the predicted class always has the most votes (ties are broken by confidence)
    chosen = np.searchsorted(clf.classes_, pred)
    assert (class_votes[np.arange(len(Xte)), chosen] == class_votes.max(axis=1)).all()
    assert clf.score(Xte, yte) > 0.6                                    # chance is 1/3


def test_binarize_parameter_equals_the_binarising_pipeline(tmp_path):
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline

    from qubo_bnn.binarize import make_binarizer

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:120], y[:120]
    params = {"hidden_layer_sizes": (2,), "sampler_params": TINY, "random_state": 0}
    clf = BNNClassifier(binarize="median", **params).fit(X, y)
    pipe = make_pipeline(make_binarizer("median"), BNNClassifier(**params)).fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), pipe.predict(X))
    assert clf.n_features_in_ == 30 and clf.network_.n_inputs == len(clf.binarizer_.thresholds_)
    clf.save(tmp_path / "m.json")
    back = BNNClassifier.load(tmp_path / "m.json")
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))


def test_save_load_keeps_committee_pairs_and_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    Xtr, Xte, ytr, yte = load_digits_task(classes=(0, 1, 7), n_train=30, n_test=20, seed=0)
    cols = [f"p{i}" for i in range(Xtr.shape[1])]
    dtr, dte = pd.DataFrame(Xtr, columns=cols), pd.DataFrame(Xte, columns=cols)
    clf = BNNClassifier(hidden_layer_sizes=(), multi_class="ovo", committee_size=3,
                        sampler_params={"num_reads": 4, "num_sweeps": 40}, random_state=0).fit(dtr, ytr)
    clf.save(tmp_path / "m.json")
    back = BNNClassifier.load(tmp_path / "m.json")
    np.testing.assert_array_equal(back.members_, clf.members_)
    assert back.pairs_ == clf.pairs_ and list(back.feature_names_in_) == cols
    np.testing.assert_array_equal(back.predict(dte), clf.predict(dte))
    with pytest.raises(ValueError, match="feature names"):
        back.predict(dte[cols[::-1]])


def test_run_file_trains_and_predicts_real_valued_csv(tmp_path, capsys):
    """A real-valued CSV: train with [formulation] binarize, predict unlabelled rows, export the
    bit-packed model; the standalone predictor agrees with the saved model on every row."""
    from sklearn.datasets import load_breast_cancer

    from qubo_bnn import cli, predictor

    X, y = load_breast_cancer(return_X_y=True)
    np.savetxt(tmp_path / "train.csv", np.column_stack([X[:150], y[:150]]), delimiter=",", fmt="%.6g")
    np.savetxt(tmp_path / "new.csv", X[150:200], delimiter=",", fmt="%.6g")
    (tmp_path / "run.toml").write_text(f'[data]\ntask = "file"\npath = "{tmp_path / "train.csv"}"\n'
                                       'test_fraction = 0.25\n[formulation]\nbinarize = "quantile:2"\n'
                                       '[sampler]\nnum_reads = 4\nnum_sweeps = 50\n')
    model, packed = tmp_path / "m.json", tmp_path / "m.npz"
    assert cli.main(["train", "--config", str(tmp_path / "run.toml"), "--model-out", str(model), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(model), "--data", str(tmp_path / "new.csv")]) == 0
    printed = [int(v) for v in capsys.readouterr().out.split()]
    clf = BNNClassifier.load(model)
    Xnew = np.loadtxt(tmp_path / "new.csv", delimiter=",")
    assert printed == clf.predict(Xnew).tolist()
    assert cli.main(["export", "--model", str(model), "--format", "npz", "--out", str(packed)]) == 0
    np.testing.assert_array_equal(predictor.load(packed).predict(Xnew), clf.predict(Xnew))


def test_a_huge_dense_net_is_refused_from_its_widths(capsys):
    """--hidden 20000,20000 once built a 7.9 GB edge list before failing with a traceback."""
    from qubo_bnn import cli

    X, y = load_digits_task(classes=(3, 8), n_train=20, n_test=5)[::2]
    with pytest.raises(ValueError, match="use smaller hidden_layer_sizes"):
        BNNClassifier(hidden_layer_sizes=(20000, 20000)).fit(X, y)
    assert cli.main(["train", "--hidden", "20000,20000", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "hidden_layer_sizes" in err[0]


def test_decision_function_feeds_calibrated_probabilities():
    """No predict_proba of its own (a vote is not a probability); the float decision_function
    calibrates through scikit-learn (sigmoid), which once failed on int64 scores."""
    from sklearn.calibration import CalibratedClassifierCV

    Xtr, Xte, ytr, yte = load_digits_task(classes=(3, 8), n_train=60, n_test=40, seed=0)
    base = BNNClassifier(hidden_layer_sizes=(2,), sampler_params=TINY, random_state=0)
    assert not hasattr(base, "predict_proba")
    cal = CalibratedClassifierCV(base, method="sigmoid", cv=3).fit(Xtr, ytr)
    p = cal.predict_proba(Xte)
    assert p.shape == (40, 2) and np.allclose(p.sum(axis=1), 1.0) and ((p > 0) & (p < 1)).all()


@pytest.mark.parametrize("cap", [None, "sqrt"])
def test_ternary_ladder_is_errors_then_margin_then_fewest_nonzero_weights(cap):
    """Per ternary network (the spellings of its zeros minimised over), the energy with the
    ladder's mu and sparsity_weights orders networks as (errors, -margin, non-zero weights)
    lexicographically; the oracle is a plain numpy ternary forward pass."""
    from qubo_bnn.ladder import sparsity_weights

    rng = np.random.default_rng(5)
    net = Network(3).dense(1, ternary=True)                 # 3 pairs + bias: 7 edges
    X = rng.integers(0, 2, (6, 3))
    t = rng.integers(0, 2, 6)
    q = TrainingQUBO(net, X, t, margin_neurons="output", margin_cap=cap)
    mu = lexicographic_margin_weight(q, 1.0)
    h = sparsity_weights(net, mu)
    W = np.array(list(itertools.product((-1, 1), repeat=net.n_weights)))
    energy = q.weight_energies(W, B=1.0, mu=mu, h=h)
    F = net.fan_in(net.outputs[0])
    m = F if cap is None else int(np.ceil(np.sqrt(F)))
    m -= (m - F) % 2
    S = 2 * X - 1
    best: dict[tuple, float] = {}
    keys: dict[tuple, tuple] = {}
    for w, e in zip(W, energy):
        tv, b = net.ternary_values(w)[net.outputs[0]]
        z = 2 * (S @ tv) + b                                 # the edge sum
        errors = int(((z >= 0).astype(int) != t).sum())
        spelt = (tuple(tv.tolist()), b)
        keys[spelt] = (errors, -int(np.minimum(np.abs(z), m).sum()), int(np.count_nonzero(tv)))
        best[spelt] = min(best.get(spelt, np.inf), e)
    assert len(best) == 3 ** 3 * 2
    nets = list(best)
    for a, b in itertools.combinations(nets, 2):
        if keys[a] < keys[b]:
            assert best[a] < best[b], (a, b, keys[a], keys[b])
        elif keys[a] > keys[b]:
            assert best[a] > best[b], (a, b, keys[a], keys[b])
        else:
            assert best[a] == pytest.approx(best[b])
    assert len({k[2] for k in keys.values()}) > 1
