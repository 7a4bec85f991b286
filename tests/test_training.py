"""train_problem / train_step against independent oracles (a plain numpy forward pass, the BQM)."""
import itertools

import dimod
import numpy as np
import pytest

from networks import skip_net
from oracles import forward_numpy
from qubo_bnn.collapsed import CollapsedSampler
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.network import Network
from qubo_bnn.problem_sampler import ProblemSamples, TrainingProblemSampler, initial_weights
from qubo_bnn.samplers import make_sampler
from qubo_bnn.sizing import QUBOTooLargeError, estimate_size
from qubo_bnn.training import train_problem, train_step

FAST = {"num_reads": 4, "num_sweeps": 60, "seed": 3}


def _errors(net, X, targets, w):
    """Output errors of weights ``w`` by an independent forward pass."""
    Z = forward_numpy(net.n_inputs, [(net.sources(j), net.has_bias(j)) for j in net.neurons], X, w)
    fired = Z[:, [o - net.n_inputs for o in net.outputs]] >= 0
    return int((fired != targets.astype(bool)).sum())


def _task(seed=0, n=40, n_inputs=12):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n, n_inputs))
    t = (X[:, :3].sum(axis=1) >= 2).astype(int)[:, None]
    return X, t


def test_a_problem_whose_bqm_is_refused_trains_without_one():
    X, t = _task()
    net = Network(12).dense(3).dense(1)
    rows = len(np.unique(X, axis=0))
    q = TrainingQUBO(net, X, t, max_bytes=estimate_size(net, rows).bytes // 10)
    with pytest.raises(QUBOTooLargeError):
        q.to_bqm()
    run = train_problem(q, q.coefficients(), CollapsedSampler(), FAST)
    assert run.info["bqm_built"] is False and "_terms" not in vars(q)        # no BQM, no terms
    assert run.info["train_output_errors"] == _errors(net, X, t, run.weights)
    assert run.info["energy"] == run.info["train_output_errors"]              # B = 1, mu = 0, h = 0
    assert run.info["broken_constraints"] == 0 and run.refined_sampleset is None
    ss = run.sampleset
    assert list(ss.variables) == [f"w{e}" for e in range(net.n_weights)] and ss.vartype is dimod.BINARY
    W = 2 * ss.record.sample.astype(int) - 1
    assert [_errors(net, X, t, w) for w in W] == pytest.approx(ss.record.energy)


@pytest.mark.parametrize("kw", [{"mu": 0.25}, {"mu": 0.0, "h": "random"}])
def test_problem_path_and_bqm_path_choose_the_same_network_with_the_same_figures(kw):
    X, t = _task(seed=1, n_inputs=3)
    net = skip_net()
    q = TrainingQUBO(net, X, t)
    h = np.random.default_rng(2).normal(scale=0.1, size=net.n_weights) if kw.get("h") else None
    c = q.coefficients(mu=kw["mu"], h=h)
    direct = train_problem(q, c, CollapsedSampler(), FAST)
    via_bqm = train_step(q, q.to_bqm(c), CollapsedSampler(), FAST)       # judged on the BQM's states
    assert np.array_equal(direct.weights, via_bqm.weights)
    for key in ("energy", "raw_energy"):
        assert direct.info[key] == pytest.approx(via_bqm.info[key])
    for name, value in via_bqm.info["energy_split"].items():
        assert direct.info["energy_split"][name] == pytest.approx(value)
    assert direct.info["num_variables"] == via_bqm.info["num_variables"]
    assert direct.info["num_interactions"] >= via_bqm.info["num_interactions"]
    assert len(via_bqm.sampleset.variables) == q.n_variables                 # full QUBO states


def test_foreign_sampler_keeps_its_own_sampleset_beside_the_refinement():
    X, t = _task(seed=4)
    net = Network(12).dense(2).dense(1)
    q = TrainingQUBO(net, X, t)
    run = train_problem(q, q.coefficients(), make_sampler("neal"), {"num_reads": 5, "num_sweeps": 20, "seed": 1},
                        refine_sweeps=50, seed=2)
    assert run.info["bqm_built"] is True and len(run.sampleset) == 5
    assert len(run.sampleset.variables) == q.n_variables and "beta_range" in run.sampleset.info   # neal's own
    assert run.refined_sampleset is not None and len(run.refined_sampleset) == 5
    assert run.info["raw_train_output_errors"] == min(_errors(net, X, t, w) for w in q.weights_from(run.sampleset))
    assert run.info["refined_train_output_errors"] == min(
        _errors(net, X, t, 2 * r.astype(int) - 1) for r in run.refined_sampleset.record.sample)
    assert run.info["train_output_errors"] == _errors(net, X, t, run.weights)
    unrefined = train_problem(q, q.coefficients(), make_sampler("neal"), {"num_reads": 2, "num_sweeps": 20,
                                                                          "seed": 1}, refine_sweeps=0)
    assert unrefined.refined_sampleset is None and unrefined.info["refined"] is False


def test_proved_optimum_is_not_refined_and_bad_parameters_are_refused_first():
    pytest.importorskip("ortools")
    X, t = _task(seed=5, n=12, n_inputs=4)
    net = Network(4).dense(1)
    q = TrainingQUBO(net, X, t)
    run = train_problem(q, q.coefficients(), make_sampler("cpsat"), {"seed": 0})
    assert run.sampleset.info["optimal"] is True and run.refined_sampleset is None
    best = min(_errors(net, X, t, np.array(w)) for w in itertools.product([-1, 1], repeat=net.n_weights))
    assert run.info["train_output_errors"] == best
    with pytest.raises(ValueError, match="does not accept parameter"):
        train_problem(q, q.coefficients(), CollapsedSampler(), {"num_sweep": 3})


def test_initial_weights_read_weight_columns_and_fill_reads():
    q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1]]), np.array([1, 0]))
    rng = np.random.default_rng(0)
    states = (np.array([[1, 0, 1, 9], [0, 0, 0, 9]]), ["w0", "w1", "w2", "other"])
    assert initial_weights(q, states, None, "random", rng).tolist() == [[1, -1, 1], [-1, -1, -1]]
    assert initial_weights(q, states, 3, "tile", rng).tolist()[2] == [1, -1, 1]
    assert initial_weights(q, states, 5, "random", rng).shape == (5, 3)
    with pytest.raises(ValueError, match="only 2 initial states"):
        initial_weights(q, states, 3, "none", rng)
    with pytest.raises(ValueError, match="lack weight variables"):
        initial_weights(q, (np.array([[1, 0]]), ["w0", "w1"]), None, "random", rng)
    with pytest.raises(ValueError, match="initial_states_generator"):
        initial_weights(q, None, 1, "zeros", rng)


def test_a_sampler_whose_energies_disagree_with_the_bqm_is_refused():
    class Liar(TrainingProblemSampler):
        parameters, properties = {}, {}

        def sample_problem(self, problem, coefficients):
            return ProblemSamples(np.ones((1, problem.n_weights), dtype=np.int8), [-123.0], {})

    q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1]]), np.array([1, 0]))
    with pytest.raises(ValueError, match="no longer match"):
        Liar().sample(q.to_bqm())
    with pytest.raises(ValueError, match="training BQMs only"):
        Liar().sample(dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "BINARY"))
