import json

import dimod
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from oracles import forward_numpy
from qubo_bnn.classifier import BNNClassifier
from qubo_bnn.datasets import bars_and_stripes, load_digits_task
from qubo_bnn.network import Network

FAST = {"num_reads": 8, "num_sweeps": 500}


def _planted(n=12, d=5, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n, d))
    w = rng.choice([-1, 1], d + 1)
    return X, ((2 * X - 1) @ w[:d] + w[d] >= 0).astype(int)


def test_default_sampler_fits_a_separable_set_exactly():
    X, y = _planted()
    clf = BNNClassifier(hidden_layer_sizes=(), random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.fit_info_["train_output_errors"] == 0
    assert clf.fit_info_["broken_constraints"] == 0


def test_constructor_only_stores_parameters_and_clone_works():
    clf = BNNClassifier(hidden_layer_sizes=(3,), margin=0.5, sampler_params=FAST)
    assert clf.get_params()["margin"] == 0.5 and not hasattr(clf, "weights_")
    assert clone(clf).get_params()["hidden_layer_sizes"] == (3,)


def test_pipeline_and_grid_search():
    X, y = _planted(16)
    pipe = make_pipeline(FunctionTransformer(lambda a: a), BNNClassifier(hidden_layer_sizes=(), sampler_params=FAST,
                                                                         random_state=0))
    grid = GridSearchCV(pipe, {"bnnclassifier__loss_weight": [1.0, 2.0]}, cv=2).fit(X, y)
    # the grid's scores are those of fitting each setting fold by fold ourselves
    for k, weight in enumerate([1.0, 2.0]):
        scores = cross_val_score(clone(pipe).set_params(bnnclassifier__loss_weight=weight), X, y, cv=2)
        assert grid.cv_results_["mean_test_score"][k] == pytest.approx(scores.mean())
    assert grid.best_estimator_[-1].loss_weight == grid.best_params_["bnnclassifier__loss_weight"]


def test_chooses_read_by_true_training_loss_and_reports_energy_split():
    X, y = bars_and_stripes(3)
    clf = BNNClassifier(hidden_layer_sizes=(2,), sampler_params=FAST, committee_size=1, random_state=1).fit(X, y)
    info = clf.fit_info_
    assert set(info["energy_split"]) == {"penalty", "loss", "margin", "h_term"}
    # every read's true error, by an independent forward pass, is >= the chosen one's
    net = clf.network_
    spec = [(net.edge_sources(j), net.has_bias(j)) for j in net.neurons]
    cols = [clf.sampleset_.variables.index(f"w{e}") for e in range(net.n_weights)]
    W = 2 * clf.sampleset_.record.sample[:, cols] - 1
    target = (y == clf.classes_[1])
    errors = [int(((forward_numpy(net.n_inputs, spec, X, w)[:, -1] >= 0) != target).sum()) for w in W]
    assert info["train_output_errors"] == min(errors) == (clf.predict(X) != y).sum()
    assert json.loads(json.dumps(info))["train_output_errors"] == min(errors)


def test_multiclass_one_vs_rest_uses_argmax():
    X, _, y, _ = load_digits_task(classes=(0, 1, 7), n_train=15, n_test=5)
    clf = BNNClassifier(hidden_layer_sizes=(), sampler_params=FAST, random_state=0).fit(X, y)
    assert len(clf.network_.outputs) == 3
    z = clf.decision_function(X)
    assert (clf.predict(X) == clf.classes_[np.argmax(z, axis=1)]).all()


def test_accepts_any_dimod_sampler_instance():
    X, y = _planted(6, 3)
    clf = BNNClassifier(hidden_layer_sizes=(), sampler=dimod.RandomSampler(), sampler_params={"num_reads": 5}).fit(X, y)
    assert clf.fit_info_["num_reads"] == 5


def test_explicit_network_with_skip_connection():
    X, y = bars_and_stripes(3)
    net = Network(9)
    h = net.add_neuron(range(9))
    net.add_neuron([h, 0, 4, 8])
    clf = BNNClassifier(net, sampler_params=FAST, random_state=0).fit(X, y)
    assert clf.network_ is net and clf.weights_.shape == (net.n_weights,)


def test_save_load_round_trip(tmp_path):
    X, y = bars_and_stripes(3)
    clf = BNNClassifier(hidden_layer_sizes=(2,), sampler_params=FAST, random_state=0).fit(X, y)
    path = tmp_path / "model.json"
    clf.save(path)
    again = BNNClassifier.load(path)
    assert (again.predict(X) == clf.predict(X)).all()
    assert (again.weights_ == clf.weights_).all()
    assert "pickle" not in path.read_text()


def test_corrupt_model_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="corrupt JSON"):
        BNNClassifier.load(bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a qubo-bnn model"):
        BNNClassifier.load(bad)
    bad.write_text(json.dumps({"format": "qubo-bnn/classifier", "version": 1,
                               "network": {"n_inputs": 2, "neurons": [{"sources": [0, 1]}]},
                               "weights": [1, 1], "classes": [0, 1]}))
    with pytest.raises(ValueError, match="corrupt qubo-bnn model"):
        BNNClassifier.load(bad)
    with pytest.raises(FileNotFoundError):
        BNNClassifier.load(tmp_path / "missing.json")


def test_save_leaves_no_partial_file(tmp_path):
    X, y = _planted(6, 3)
    clf = BNNClassifier(hidden_layer_sizes=(), sampler_params=FAST).fit(X, y)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        clf.save(tmp_path / "nodir" / "m.json")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("X,y,exc,msg", [
    ([[0, 2], [1, 0]], [0, 1], ValueError, "binary"),
    ([[0, np.nan], [1, 0]], [0, 1], ValueError, "NaN"),
    ([[0, 1], [1, 0]], [0, 1, 1], ValueError, "inconsistent numbers of samples: \\[2, 3\\]"),
    ([[0, 1], [1, 0]], [1, 1], ValueError, "only one class \\(1\\)"),
    ([0, 1, 1], [0, 1, 1], ValueError, "Expected 2D array"),
    ([["a", "b"], ["c", "d"]], [0, 1], TypeError, "numeric"),
    ([[0, 1], [1, 0]], None, ValueError, "requires y to be passed"),
    (np.zeros((0, 3)), [], ValueError, "0 sample"),
])
def test_bad_input(X, y, exc, msg):
    with pytest.raises(exc, match=msg):
        BNNClassifier(sampler_params=FAST).fit(X, y)


def test_network_shape_mismatch_and_bad_sampler():
    X, y = _planted(6, 3)
    with pytest.raises(ValueError, match="4 inputs"):
        BNNClassifier(Network(4).dense(1)).fit(X, y)
    with pytest.raises(ValueError, match="output neuron"):
        BNNClassifier(Network(3).dense(2)).fit(X, y)
    with pytest.raises(ValueError, match="nope"):
        BNNClassifier(sampler="nope").fit(X, y)
    with pytest.raises(TypeError, match="'sampler' parameter.*Sampler"):
        BNNClassifier(sampler=42).fit(X, y)
    clf = BNNClassifier(hidden_layer_sizes=(), sampler_params=FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.zeros((2, 5)))


def test_refinement_keeps_raw_figures_and_never_worsens_the_fit():
    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=40, n_test=10)
    raw = BNNClassifier(sampler="neal", sampler_params=FAST, random_state=0, refine_sweeps=0).fit(X, y)
    ref = BNNClassifier(sampler="neal", sampler_params=FAST, random_state=0, refine_sweeps=100).fit(X, y)
    info = ref.fit_info_
    assert info["raw_train_output_errors"] == raw.fit_info_["train_output_errors"]
    assert raw.fit_info_["refined_train_output_errors"] is None and info["refine_sweeps_run"] == 100
    assert info["train_output_errors"] == min(info["raw_train_output_errors"], info["refined_train_output_errors"])
    # the forward pass of the chosen weights has exactly the reported errors
    assert (ref.predict(X) != y).sum() == info["train_output_errors"]


def test_collapsed_default_is_not_refined_again():
    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=40, n_test=10)
    clf = BNNClassifier(sampler_params=FAST, random_state=0).fit(X, y)
    assert clf.fit_info_["sampler"] == "CollapsedSampler" and clf.fit_info_["refine_sweeps_run"] == 0


def test_failed_refit_leaves_the_previous_fit_intact():
    X, y = _planted()
    clf = BNNClassifier(hidden_layer_sizes=(), sampler_params=FAST, random_state=0).fit(X, y)
    before = (clf.classes_.copy(), clf.weights_.copy(), clf.predict(X))

    class Failing(dimod.Sampler):
        parameters, properties = {}, {}

        def sample(self, bqm, **kw):
            raise RuntimeError("sampler went away")

    clf.set_params(sampler=Failing(), sampler_params=None)
    with pytest.raises(RuntimeError, match="went away"):
        clf.fit(X, np.where(y == 1, "b", "a"))          # new labels, failing sampler
    assert np.array_equal(clf.classes_, before[0]) and np.array_equal(clf.weights_, before[1])
    assert np.array_equal(clf.predict(X), before[2])


def test_load_refuses_deeply_nested_json_cleanly(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="corrupt JSON"):
        BNNClassifier.load(path)


def test_sampleset_of_the_chosen_run_is_kept():
    X, y = _planted()
    clf = BNNClassifier(hidden_layer_sizes=(), sampler_params=FAST, random_state=0).fit(X, y)
    assert isinstance(clf.sampleset_, dimod.SampleSet) and len(clf.sampleset_) == FAST["num_reads"]
    ref = BNNClassifier(hidden_layer_sizes=(), sampler="neal", sampler_params=FAST, random_state=0).fit(X, y)
    assert "device" not in ref.sampleset_.info                      # neal's own set, for the inspector
    assert ref.fit_info_["refined"] == (ref.refined_sampleset_ is not None and "device" in ref.refined_sampleset_.info)
    assert clf.refined_sampleset_ is None                            # the collapsed annealer is not refined


def test_continuous_targets_and_sparse_inputs_are_refused_clearly():
    import scipy.sparse

    X, y = _planted()
    with pytest.raises(ValueError, match="continuous"):
        BNNClassifier(sampler_params=FAST).fit(X, y + 0.5 * np.arange(len(y)) / len(y))
    with pytest.raises(TypeError, match="dense data is required.*toarray"):
        BNNClassifier(sampler_params=FAST).fit(scipy.sparse.csr_matrix(X), y)


@pytest.mark.parametrize("params", [{"penalty": -5}, {"penalty": 0}, {"margin": -1}, {"loss_weight": 0},
                                    {"refine_sweeps": 2.5}, {"hard_fit": "yes"}, {"dropout_rate": 1.0},
                                    {"builder": "fast"}, {"margin_neurons": "some"}])
def test_bad_parameters_are_refused_before_any_work(params):
    X, y = _planted()
    with pytest.raises(ValueError, match=f"'{next(iter(params))}' parameter of BNNClassifier"):
        BNNClassifier(**params).fit(X, y)


def test_load_restores_the_saved_parameters(tmp_path):
    X, y = _planted()
    clf = BNNClassifier(hidden_layer_sizes=(), sampler_params=FAST, margin=0.25, refine_sweeps=7,
                        random_state=3).fit(X, y)
    clf.save(tmp_path / "m.json")
    back = BNNClassifier.load(tmp_path / "m.json")
    mine, theirs = clf.get_params(), back.get_params()
    for key in ("margin", "refine_sweeps", "random_state", "sampler", "sampler_params", "hidden_layer_sizes"):
        assert theirs[key] == mine[key], key
    assert np.array_equal(back.predict(X), clf.predict(X))
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["params"]["margin"] = -1                         # a value fit would refuse
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="corrupt qubo-bnn model.*'margin' parameter"):
        BNNClassifier.load(tmp_path / "bad.json")


def test_default_budget_cuts_reads_then_sweeps_above_the_work_budget(monkeypatch):
    """With sampler_params=None the call follows default_budget (checked here with budgets small
    enough for a tiny problem): above the budget first fewer reads (down to MIN_DEFAULT_READS),
    then fewer sweeps; explicit sampler_params are used as given."""
    import qubo_bnn.classifier as C

    X, y = bars_and_stripes(3)
    seen = []

    def record(qubo, coefficients, sampler, params, **kw):
        seen.append((params["num_reads"], params["num_sweeps"]))
        return real(qubo, coefficients, sampler, params, **kw)

    real = C.train_problem
    monkeypatch.setattr(C, "train_problem", record)
    fit = lambda **kw: BNNClassifier(hidden_layer_sizes=(), committee_size=1, random_state=0, **kw).fit(X, y)
    clf = fit()
    size = clf.network_.n_weights * clf.fit_info_["num_rows"]             # row visits of one read-sweep
    monkeypatch.setattr(C, "SWEEP_WORK_BUDGET", 8 * 500 * size)          # room for 8 reads of 500 sweeps
    fit()
    monkeypatch.setattr(C, "SWEEP_WORK_BUDGET", 4 * 120 * size + size)   # 4 reads (the least) of 120 sweeps
    fit()
    monkeypatch.setattr(C, "SWEEP_WORK_BUDGET", size)                    # the floors
    clf = fit()
    fit(sampler_params={"num_reads": 2, "num_sweeps": 300})
    assert C.MIN_DEFAULT_READS == 4 and C.MIN_DEFAULT_SWEEPS == 50
    assert seen == [(16, 500), (8, 500), (4, 120), (4, 50), (2, 300)]
    assert clf.fit_info_["num_sweeps"] == 50 and clf.fit_info_["num_reads"] == 4


def test_n_jobs_splits_the_reads_with_the_same_result(monkeypatch):
    import qubo_bnn.collapsed as collapsed

    batched = []
    real = collapsed._batched
    monkeypatch.setattr(collapsed, "_batched", lambda model, n_jobs: batched.append(n_jobs) or real(model, n_jobs))
    X, y = bars_and_stripes(3)
    params = dict(hidden_layer_sizes=(2,), sampler_params=None, bootstrap=False, random_state=3)
    one = BNNClassifier(**params).fit(X, y)
    assert batched == []
    split = BNNClassifier(n_jobs=2, **params).fit(X, y)
    assert batched and set(batched) == {2}
    assert np.array_equal(one.members_, split.members_)


def test_ternary_weights_predict_as_the_ternary_network_they_spell(tmp_path):
    from test_network import _ternary_oracle

    X, Xte, y, _ = load_digits_task(classes=(3, 8), n_train=60, n_test=80)
    clf = BNNClassifier(hidden_layer_sizes=(3,), weights="ternary", committee_size=1, sampler_params=FAST,
                        random_state=0).fit(X, y)
    net = clf.network_
    assert all(net.is_ternary(j) for j in net.neurons)
    values = net.ternary_values(clf.weights_)
    fired = _ternary_oracle(net, Xte, values)[:, 0] > 0
    assert (clf.predict(Xte) == clf.classes_[fired.astype(int)]).all()
    assert any((t == 0).any() for t, _ in values.values())          # zeros are reachable
    path = tmp_path / "ternary.json"
    clf.save(path)
    again = BNNClassifier.load(path)
    assert again.weights == "ternary" and again.network_ == net and (again.predict(Xte) == clf.predict(Xte)).all()
    with pytest.raises(ValueError, match="ternary=True"):
        BNNClassifier(Network(16).dense(1), weights="ternary").fit(X, y)


def test_ternary_sparsity_rung_reaches_the_sampler(monkeypatch):
    import qubo_bnn.classifier as C
    from qubo_bnn.ladder import lexicographic_margin_weight, sparsity_weights

    seen = []
    real = C.train_problem
    monkeypatch.setattr(C, "train_problem", lambda q, c, *a, **kw: seen.append((q, c)) or real(q, c, *a, **kw))
    X, y = bars_and_stripes(3)
    clf = BNNClassifier(hidden_layer_sizes=(), weights="ternary", sampler_params=FAST, random_state=0).fit(X, y)
    q, c = seen[-1]
    assert np.array_equal(c.h, sparsity_weights(clf.network_, lexicographic_margin_weight(q, 1.0)))
    assert (c.h != 0).sum() == 2 * len(clf.network_.sources(clf.network_.outputs[0]))
    BNNClassifier(hidden_layer_sizes=(), weights="ternary", sparsity=False, sampler_params=FAST).fit(X, y)
    assert not seen[-1][1].h.any()
