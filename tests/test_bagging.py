"""The bagged committee (``bootstrap=True``): resampling, each member's fit, the vote, run files.

Oracles: counting the rows drawn, brute force over the weights of a tiny net with a numpy
forward pass written here, and a plain numpy majority vote.
"""
import itertools

import numpy as np
import pytest

from qubo_bnn import BNNClassifier, Network
from qubo_bnn.committee import shared_reads, stratified_bootstrap
from qubo_bnn.datasets import load_digits_task


def numpy_output(net: Network, X, w) -> np.ndarray:
    """The output pre-activation of a one-output net, by a plain loop over neurons (sign(0) = +1)."""
    act = {i: 2 * np.asarray(X, dtype=np.int64)[:, i] - 1 for i in range(net.n_inputs)}
    for j, sl in net.edge_slices().items():
        wj = np.asarray(w)[sl]
        z = sum(wj[k] * act[s] for k, s in enumerate(net.edge_sources(j))) + (wj[-1] if net.has_bias(j) else 0)
        act[j] = np.where(z >= 0, 1, -1)
        last = z
    return last


def test_stratified_bootstrap_keeps_each_stratum_and_draws_uniformly():
    strata = np.array([0] * 6 + [1] * 3 + [2])
    rng = np.random.default_rng(0)
    counts = np.zeros(len(strata))
    for _ in range(3000):
        rows = stratified_bootstrap(strata, rng)
        assert rows.shape == strata.shape
        np.testing.assert_array_equal(strata[rows], strata)          # same stratum, same count, same places
        counts += np.bincount(rows, minlength=len(strata))
    assert counts[9] == 3000                                          # a stratum of one row is always kept
    np.testing.assert_allclose(counts[:9] / 3000, 1.0, atol=0.08)     # each row drawn once per resample on average


def test_shared_reads_splits_the_budget():
    assert shared_reads({"num_reads": 16, "num_sweeps": 5}, 3) == {"num_reads": 6, "num_sweeps": 5}
    assert shared_reads({"num_reads": 2}, 8) == {"num_reads": 1}
    assert shared_reads({}, 4) == {}


def test_each_member_is_an_optimal_fit_of_its_own_resample():
    """A 3-input perceptron on 12 noisy rows: every member reaches the brute-force minimum of
    training errors on its resample (rebuilt from the documented seeding), and the members are
    scored on the whole training set in fit_info_."""
    rng = np.random.default_rng(4)
    X = rng.integers(0, 2, (12, 3))
    y = (X.sum(axis=1) >= 2).astype(int) ^ (rng.random(12) < 0.25)
    clf = BNNClassifier(hidden_layer_sizes=(), bootstrap=True, committee_size=5, margin=0.0,
                        drop_constant_inputs=False, sampler_params={"num_reads": 10, "num_sweeps": 200},
                        random_state=7).fit(X, y)
    net = clf.network_
    assert clf.members_.shape == (5, net.n_weights) and (clf.members_[0] == clf.weights_).all()
    W = np.array(list(itertools.product((-1, 1), repeat=net.n_weights)))
    strata, children = y.copy(), np.random.SeedSequence(7).spawn(5)
    resamples = [m["resample"] for m in clf.fit_info_["members"]]
    assert sorted(resamples) == list(range(5))
    for member, b in zip(clf.members_, resamples):
        rows = stratified_bootstrap(strata, np.random.default_rng(children[b]))
        errors = lambda w: int(((numpy_output(net, X[rows], w) >= 0).astype(int) != y[rows]).sum())  # noqa: E731
        assert errors(member) == min(errors(w) for w in W)
    whole = [int(((numpy_output(net, X, w) >= 0).astype(int) != y).sum()) for w in clf.members_]
    assert clf.fit_info_["member_train_output_errors"] == whole == sorted(whole)     # best on the whole set first
    assert clf.fit_info_["train_output_errors"] == whole[0] and clf.fit_info_["bootstrap"] is True
    assert [m["num_reads"] for m in clf.fit_info_["members"]] == [2] * 5      # ⌈10 / 5⌉ reads per call


def test_members_are_ordered_by_the_ladder_on_the_whole_training_set():
    """Fewest errors on the whole set first, then the largest margin (uncapped on the one output:
    the sum of |z| by a numpy forward pass), so weights_ is the ladder's choice among them."""
    rng = np.random.default_rng(6)
    X = rng.integers(0, 2, (16, 5))
    y = (X.sum(axis=1) >= 3).astype(int) ^ (rng.random(16) < 0.2)
    clf = BNNClassifier(hidden_layer_sizes=(), bootstrap=True, committee_size=9, margin_cap=None,
                        drop_constant_inputs=False, sampler_params={"num_reads": 9, "num_sweeps": 100},
                        random_state=0).fit(X, y)
    z = [numpy_output(clf.network_, X, w) for w in clf.members_]
    keys = [(int(((zi >= 0).astype(int) != y).sum()), -int(np.abs(zi).sum())) for zi in z]
    assert keys == sorted(keys)
    assert len({k[1] for k in keys if k[0] == keys[0][0]}) > 1      # the margin decided among equal errors


def test_bagged_committee_predicts_the_majority_vote_and_round_trips(tmp_path):
    Xtr, Xte, ytr, _ = load_digits_task(classes=(3, 8), n_train=40, n_test=60, seed=1)
    clf = BNNClassifier(hidden_layer_sizes=(3,), bootstrap=True, committee_size=6,
                        sampler_params={"num_reads": 6, "num_sweeps": 60}, random_state=2).fit(Xtr, ytr)
    Z = np.stack([numpy_output(clf.network_, Xte, w) for w in clf.members_])       # (M, n)
    votes, zsum = np.where(Z >= 0, 1, -1).sum(axis=0), Z.sum(axis=0)
    fire = (votes > 0) | ((votes == 0) & (zsum >= 0))
    np.testing.assert_array_equal(clf.predict(Xte), np.where(fire, 8, 3))
    clf.save(tmp_path / "m.json")
    back = BNNClassifier.load(tmp_path / "m.json")
    assert back.bootstrap is True
    np.testing.assert_array_equal(back.members_, clf.members_)
    np.testing.assert_array_equal(back.predict(Xte), clf.predict(Xte))
    again = BNNClassifier(hidden_layer_sizes=(3,), bootstrap=True, committee_size=6,
                          sampler_params={"num_reads": 6, "num_sweeps": 60}, random_state=2).fit(Xtr, ytr)
    np.testing.assert_array_equal(again.members_, clf.members_)        # random_state fixes resamples and reads


def test_bagged_one_vs_one_and_the_run_file(tmp_path):
    from qubo_bnn.config import config_from_dict
    from qubo_bnn.jobs import estimator_from_config

    Xtr, Xte, ytr, yte = load_digits_task(classes=(0, 1, 7), n_train=30, n_test=30, seed=0)
    clf = BNNClassifier(hidden_layer_sizes=(), multi_class="ovo", bootstrap=True, committee_size=3,
                        sampler_params={"num_reads": 3, "num_sweeps": 60}, random_state=0).fit(Xtr, ytr)
    assert clf.members_.shape[0] == 3 and clf.score(Xte, yte) > 0.6         # chance is 1/3
    cfg = config_from_dict({"decoding": {"bootstrap": True, "committee_size": 4}})
    est = estimator_from_config(cfg)
    assert est.bootstrap is True and est.committee_size == 4
    with pytest.raises(ValueError, match="bootstrap"):
        config_from_dict({"decoding": {"bootstrap": "yes"}})


def test_members_in_parallel_equal_members_in_turn():
    Xtr, _, ytr, _ = load_digits_task(classes=(3, 8), n_train=30, n_test=5, seed=0)
    kw = dict(hidden_layer_sizes=(2,), bootstrap=True, committee_size=4,
              sampler_params={"num_reads": 4, "num_sweeps": 40}, random_state=3)
    serial = BNNClassifier(**kw).fit(Xtr, ytr)
    parallel = BNNClassifier(n_jobs=2, **kw).fit(Xtr, ytr)
    np.testing.assert_array_equal(parallel.members_, serial.members_)


def test_one_read_members_run_on_threads_by_default(monkeypatch):
    """n_jobs=None: one-read calls of the CPU collapsed annealer go to a thread per core (the
    one-read kernel releases the GIL), with the members of one call after another."""
    import joblib

    from qubo_bnn import classifier
    from qubo_bnn.collapsed import CollapsedSampler

    assert classifier.member_threads(CollapsedSampler(), {"num_reads": 1}) >= 1
    assert classifier.member_threads(CollapsedSampler(device="cuda"), {"num_reads": 1}) == 1
    assert classifier.member_threads(CollapsedSampler(), {"num_reads": 2}) == 1
    assert classifier.member_threads(CollapsedSampler(), {"num_reads": 1}, visits=1000) == 1   # tiny
    monkeypatch.setattr(classifier, "member_threads", lambda sampler, params, visits=None: 3)
    seen = []
    real = joblib.Parallel

    class Recording(real):
        def __init__(self, *args, **kwargs):
            seen.append((kwargs.get("n_jobs"), kwargs.get("prefer")))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(joblib, "Parallel", Recording)
    Xtr, _, ytr, _ = load_digits_task(classes=(3, 8), n_train=30, n_test=5, seed=0)
    kw = dict(hidden_layer_sizes=(2,), bootstrap=True, committee_size=4,
              sampler_params={"num_reads": 4, "num_sweeps": 40}, random_state=3)
    threaded = BNNClassifier(**kw).fit(Xtr, ytr)
    assert seen == [(3, "threads")]
    serial = BNNClassifier(n_jobs=1, **kw).fit(Xtr, ytr)
    assert seen[-1] == (1, None)
    np.testing.assert_array_equal(threaded.members_, serial.members_)


def test_cli_bootstrap_flag(tmp_path):
    import json

    from qubo_bnn import cli

    out = tmp_path / "r.json"
    assert cli.main(["train", "--bootstrap", "--committee-size", "3", "--num-reads", "3", "--num-sweeps", "50",
                     "--n-train", "30", "--results-out", str(out), "--quiet"]) == 0
    res = json.loads(out.read_text())
    assert res["config"]["decoding"]["bootstrap"] is True and res["fit_info"]["bootstrap"] is True
    assert res["fit_info"]["committee_size"] == 3 and len(res["fit_info"]["members"]) == 3
    # the default run bags on its default budget; --no-bootstrap makes it one call
    for flags, bagged, size in (([], True, 64), (["--no-bootstrap"], False, 8)):
        assert cli.main(["train", *flags, "--n-train", "30", "--results-out", str(out), "--quiet"]) == 0
        res = json.loads(out.read_text())
        assert res["fit_info"].get("bootstrap", False) is bagged and res["fit_info"]["committee_size"] <= size
        assert res["config"]["sampler"] == {"name": "collapsed"}


def test_bagged_committee_exports_like_any_committee(tmp_path):
    from qubo_bnn import predictor
    from qubo_bnn.deploy import export_model

    Xtr, Xte, ytr, _ = load_digits_task(classes=(3, 8), n_train=30, n_test=40, seed=2)
    clf = BNNClassifier(hidden_layer_sizes=(2,), bootstrap=True, committee_size=5,
                        sampler_params={"num_reads": 5, "num_sweeps": 40}, random_state=1).fit(Xtr, ytr)
    clf.save(tmp_path / "m.json")
    export_model(BNNClassifier.load(tmp_path / "m.json"), tmp_path / "m.npz")
    np.testing.assert_array_equal(predictor.load(tmp_path / "m.npz").predict(Xte), clf.predict(Xte))


def test_committee_scores_in_row_blocks_equal_the_whole_batch(monkeypatch):
    """Prediction runs the members' forward pass in blocks of rows (bounded memory); one row
    at a time gives the same scores."""
    from qubo_bnn import classifier

    Xtr, Xte, ytr, _ = load_digits_task(classes=(3, 8), n_train=30, n_test=40, seed=2)
    clf = BNNClassifier(hidden_layer_sizes=(2,), bootstrap=True, committee_size=5,
                        sampler_params={"num_reads": 5, "num_sweeps": 40}, random_state=0).fit(Xtr, ytr)
    whole = clf.decision_function(Xte)
    monkeypatch.setattr(classifier, "PREDICT_BLOCK_CELLS", 1)
    np.testing.assert_array_equal(clf.decision_function(Xte), whole)
    np.testing.assert_array_equal(clf.predict(Xte), np.where(whole > 0, 8, 3))


def test_the_default_bags_on_the_default_budget_and_only_there(monkeypatch):
    """``bootstrap="auto"`` (the default): with the estimator's budget and the collapsed annealer on
    the CPU, a bag of DEFAULT_BAG_PARAMS' one-read members (the same members as asking for it);
    one call of the best distinct reads otherwise. The chosen member's figures are on the whole
    training set (numpy forward pass)."""
    import qubo_bnn.classifier as C

    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=40, n_test=10)
    kw = dict(hidden_layer_sizes=(), random_state=1)
    default = BNNClassifier(**kw).fit(X, y)
    asked = BNNClassifier(bootstrap=True, committee_size=64,
                          sampler_params={"num_reads": 64, "num_sweeps": 125}, **kw).fit(X, y)
    assert C.DEFAULT_BAG_PARAMS == {"num_reads": 64, "num_sweeps": 125}
    assert default.fit_info_["bootstrap"] is True and default.members_.shape[0] == 64
    assert np.array_equal(default.members_, asked.members_)
    assert [m["num_reads"] for m in default.fit_info_["members"]] == [1] * 64
    info, net = default.fit_info_, default.network_
    errors = int(((numpy_output(net, X, default.weights_) >= 0).astype(int) != (y == 8)).sum())
    assert info["train_output_errors"] == errors and info["broken_constraints"] == 0
    assert (info["num_samples"], info["energy_split"]["loss"]) == (40, errors)
    # one call: parameters of your own, another sampler, a single network, bootstrap=False
    for extra in ({"sampler_params": {"num_reads": 4, "num_sweeps": 50}}, {"sampler": "tabu"},
                  {"committee_size": 1}, {"bootstrap": False}):
        clf = BNNClassifier(**{**kw, **extra}).fit(X, y)
        assert "bootstrap" not in clf.fit_info_ and clf.members_.shape[0] <= C.DEFAULT_COMMITTEE_SIZE, extra
    assert BNNClassifier(bootstrap=False, **kw).fit(X, y).fit_info_["num_reads"] == 16
    # a problem whose bag would exceed the work budget: one call, its sweeps shrunk
    monkeypatch.setattr(C, "SWEEP_WORK_BUDGET", 64 * 125 * net.n_weights * info["num_rows"] - 1)
    assert "bootstrap" not in BNNClassifier(**kw).fit(X, y).fit_info_


def test_committee_size_none_is_one_member_per_read_when_bagged():
    X, _, y, _ = load_digits_task(classes=(3, 8), n_train=30, n_test=10)
    clf = BNNClassifier(hidden_layer_sizes=(), bootstrap=True, sampler_params={"num_reads": 6, "num_sweeps": 40},
                        random_state=0).fit(X, y)
    assert clf.members_.shape[0] == 6 and [m["num_reads"] for m in clf.fit_info_["members"]] == [1] * 6
