"""Row-indexed flips (qubo_bnn/_collapsed_cpu.py) run the same Markov chain as walking every row.

The oracle is tests/reference_collapsed.py, a frozen copy of the kernel before the row index
(itself checked against dimod.ExactSolver and brute force in tests/test_collapsed.py). Final
weights and energies must agree bit for bit, on problems built as CollapsedSampler builds them,
with more than 64 distinct rows (several bitset words, a partial last one) and duplicate rows
(heavy rows, walked one by one).

With ``classes=False`` the kernel adds the same terms in the full walk's order: bit for bit on
every problem. With class counting (the default) a proposal sums a neuron's unit rows class by
class, a different order of the same terms: bit for bit whenever the sums are exact (dyadic cost
tables and h, as the CUDA kernel's guarantee), and equal to rounding otherwise.
"""
import dataclasses

import numpy as np
import pytest

import reference_collapsed as reference
from qubo_bnn import _collapsed_cpu as kernel
from qubo_bnn.collapsed import CollapsedModel
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.network import Network
from qubo_bnn_solvers._ising import beta_schedule


def deep_skip_net() -> Network:
    """Odd and even fan-in, hidden->hidden and skip edges, neurons without bias, two outputs."""
    net = Network(8)
    h1 = net.add_neuron([0, 1, 2, 3, 4, 5])                  # F = 7
    h2 = net.add_neuron([0, 1, 2, h1], bias=False)           # F = 4 (even), hidden -> hidden
    h3 = net.add_neuron([h1, h2, 6, 7])                      # F = 5
    net.add_neuron([h1, h2, h3, 0])                          # F = 5, skip from input 0
    net.add_neuron([h1, h3, 7])                              # F = 4 (even)
    return net


NETS = {
    "deep-skip-two-outputs": deep_skip_net,
    "dense-7-3-2-1": lambda: Network(7).dense(3).dense(2).dense(1),   # F = 8, 4 (even), 3
    # two edges from each hidden neuron to the output: its unit rows are never counted through them
    "ternary-8-3-1": lambda: Network(8).dense(3, ternary=True).dense(1, ternary=True),
}

SETTINGS = {
    "plain": dict(),
    "hard-fit": dict(hard_fit=True),
    "margin-all": dict(mu=0.3),
    "margin-hidden": dict(mu=0.3, margin_neurons="hidden"),
    "margin-output": dict(mu=0.3, margin_neurons="output"),
    "margin-cap": dict(mu=0.3, margin_cap=2),
    "margin-cap-sqrt": dict(mu=0.3, margin_cap="sqrt"),
    "min-output-margin": dict(min_output_margin=2, mu=0.1, margin_cap=1),
    "hard-fit-margin-h": dict(hard_fit=True, mu=0.2, h=True),
    "h-only": dict(h=True),
}


def _model(net_name, setting, seed=0, n_samples=150, dyadic=False):
    """The problem; ``dyadic``: μ and h rounded to multiples of 1/16 and 1/64 (exact float sums)."""
    net = NETS[net_name]()
    s = dict(SETTINGS[setting])
    mu, use_h = s.pop("mu", 0.0), s.pop("h", False)
    if dyadic:
        mu = round(mu * 16) / 16
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n_samples, net.n_inputs))
    X = np.concatenate([X, X[:20]])                          # duplicate rows, merged
    t = rng.integers(0, 2, (len(X), len(net.outputs)))
    q = TrainingQUBO(net, X, t, margin_neurons=s.pop("margin_neurons", "all" if mu else "none"), **s)
    h = rng.normal(scale=0.3, size=net.n_weights).round(3) if use_h else None
    if dyadic and h is not None:
        h = np.round(h * 64) / 64
    model = CollapsedModel.from_problem(q, B=1.5, mu=mu, h=h)
    assert model.X.shape[0] > 64 and model.X.shape[0] % 64      # several bitset words, a partial one
    return q, model, rng


def _schedule(model, rng, reads, sweeps):
    """The sampler's default path: random ±1 weights, the default beta range, geometric."""
    W = rng.choice(np.array([-1, 1], dtype=np.int8), (reads, len(model.src)))
    return W, beta_schedule(model.default_beta_range(rng), sweeps, "geometric")


def _run(anneal, model, W, betas, key, chunks=(None,), **kw):
    """Run ``betas`` through ``anneal`` split at ``chunks``; returns the weights and energies."""
    W = W.copy()
    energies = np.empty(len(W))
    bounds = [0] + [c for c in chunks if c is not None] + [len(betas)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        anneal(W, *model.kernel_args, betas[lo:hi], key, lo, energies, **kw)
    return W, energies


def _walk(W, *args, **kw):
    """The kernel without class counting."""
    kernel.anneal(W, *args, **kw, classes=False)


def _assert_bitwise_equal(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("net_name", sorted(NETS))
@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("mode", ["walk", "classes-dyadic"])
def test_anneal_is_the_full_walk_bit_for_bit(net_name, setting, mode):
    q, model, rng = _model(net_name, setting, dyadic=mode == "classes-dyadic")
    W0, betas = _schedule(model, rng, reads=3, sweeps=25)
    anneal = _walk if mode == "walk" else kernel.anneal
    for key in (0, 12345):
        W_ref, e_ref = _run(reference.anneal, model, W0, betas, key)
        W_new, e_new = _run(anneal, model, W0, betas, key)
        _assert_bitwise_equal(W_new, W_ref)
        _assert_bitwise_equal(e_new, e_ref)
        assert not np.array_equal(W_new, W0)                 # the chain moved
    # the energies are those of the final weights (a full forward pass)
    assert model.energies(W_new) == pytest.approx(e_new)


@pytest.mark.parametrize("net_name", sorted(NETS))
@pytest.mark.parametrize("setting", ["margin-all", "margin-cap-sqrt", "hard-fit-margin-h"])
def test_class_counting_with_rounding(net_name, setting):
    """Non-dyadic μ and h: the flip energies agree with the full walk's to rounding, and a
    chain ends at weights whose full forward-pass energies are the ones reported."""
    q, model, rng = _model(net_name, setting, seed=4)
    for w in rng.choice(np.array([-1, 1], dtype=np.int8), (4, len(model.src))):
        ref = reference.flip_deltas(w, *model.kernel_args)
        np.testing.assert_allclose(kernel.flip_deltas(w, *model.kernel_args), ref, rtol=1e-12, atol=1e-9)
    W0, betas = _schedule(model, rng, reads=3, sweeps=25)
    W_new, e_new = _run(kernel.anneal, model, W0, betas, 3)
    np.testing.assert_allclose(model.energies(W_new), e_new, rtol=0, atol=1e-9)


@pytest.mark.parametrize("net_name", sorted(NETS))
@pytest.mark.parametrize("setting", ["plain", "margin-cap", "hard-fit-margin-h"])
def test_chunked_schedule_and_other_seeds(net_name, setting):
    for seed in (1, 2):
        q, model, rng = _model(net_name, setting, seed=seed, n_samples=100 + 30 * seed)
        W0, betas = _schedule(model, rng, reads=2, sweeps=30)
        W_ref, e_ref = _run(reference.anneal, model, W0, betas, key=seed)
        W_new, e_new = _run(_walk, model, W0, betas, key=seed, chunks=(1, 7, 19))
        _assert_bitwise_equal(W_new, W_ref)
        _assert_bitwise_equal(e_new, e_ref)
        q, model, rng = _model(net_name, setting, seed=seed, n_samples=100 + 30 * seed, dyadic=True)
        W0, betas = _schedule(model, rng, reads=2, sweeps=30)
        W_ref, e_ref = _run(reference.anneal, model, W0, betas, key=seed)
        W_new, e_new = _run(kernel.anneal, model, W0, betas, key=seed, chunks=(1, 7, 19))
        _assert_bitwise_equal(W_new, W_ref)
        _assert_bitwise_equal(e_new, e_ref)


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_flip_deltas_are_the_full_walks(setting):
    for net_name in sorted(NETS):
        q, model, rng = _model(net_name, setting, seed=3, dyadic=True)
        for w in rng.choice(np.array([-1, 1], dtype=np.int8), (4, len(model.src))):
            _assert_bitwise_equal(kernel.flip_deltas(w, *model.kernel_args),
                                  reference.flip_deltas(w, *model.kernel_args))


def test_visit_counts_and_the_same_chain():
    """``anneal_visits`` is ``anneal`` plus a count; without margin most rows are skipped; with an
    untruncated margin on every neuron every row is visited by the walk, and class counting
    leaves only the heavy rows and the rows where a hidden neuron flips."""
    for setting, full in (("plain", False), ("margin-all", True)):
        q, model, rng = _model("dense-7-3-2-1", setting, dyadic=True)
        W0, betas = _schedule(model, rng, reads=2, sweeps=10)
        every_row = len(betas) * len(model.src) * model.X.shape[0]
        visits = {}
        for classes in (False, True):
            W_a, e_a = _run(kernel.anneal, model, W0, betas, key=5, classes=classes)
            W_v, e_v = W0.copy(), np.empty(2)
            visits[classes] = np.zeros(2, dtype=np.int64)
            kernel.anneal_visits(W_v, *model.kernel_args, betas, 5, 0, e_v, visits[classes], classes=classes)
            _assert_bitwise_equal(W_v, W_a)
            _assert_bitwise_equal(e_v, e_a)
        assert (visits[False] == every_row).all() if full else (0 < visits[False]).all() and (
            visits[False] < every_row // 2).all()
        assert (0 < visits[True]).all() and (visits[True] <= visits[False]).all()
        if full:
            assert (visits[True] < visits[False]).all()


def test_non_finite_cost_tables_visit_every_row():
    """A non-finite cost (here at count 0 on the unused target of hidden neurons, where the full
    walk adds 0·inf = nan, far from the threshold) makes every row live, so the chain is still the
    full walk's."""
    q, model, rng = _model("dense-7-3-2-1", "plain")
    G = model.G.copy()
    G[:-1, 1, 0] = np.inf
    args = dataclasses.replace(model, G=G).kernel_args
    W0, betas = _schedule(model, rng, reads=2, sweeps=5)
    out = []
    for anneal in (reference.anneal, kernel.anneal):
        W, e = W0.copy(), np.empty(2)
        anneal(W, *args, betas, 7, 0, e)
        out.append((W, e))
    _assert_bitwise_equal(out[1][0], out[0][0])
    _assert_bitwise_equal(out[1][1], out[0][1])
    w = W0[0]
    _assert_bitwise_equal(kernel.flip_deltas(w, *args), reference.flip_deltas(w, *args))


def test_pure_rows_of_several_samples_are_counted_by_class():
    """A row whose samples all have one target (a pure row, e.g. a bootstrap resample's repeated
    rows) is counted by class with its multiplicity's bit planes, up to 2**MULT_BITS - 1 samples;
    rows with both targets or more samples stay heavy (walked). The chain is the full walk's
    bit for bit (dyadic), and where every row holds 2-5 samples of one target (none a unit row)
    class counting still skips most rows."""
    net = Network(7).dense(3).dense(1)
    rng = np.random.default_rng(11)
    base = rng.integers(0, 2, (90, 7))
    base = base[np.sort(np.unique(base, axis=0, return_index=True)[1])]   # distinct rows
    reps = rng.integers(2, 6, len(base))
    reps[:3] = (16, 20, 15)                                              # two beyond the planes, one at the top
    X = np.repeat(base, reps, axis=0)
    t = np.repeat(rng.integers(0, 2, len(base)), reps)
    t[np.cumsum(reps)[5] - 1] ^= 1                                       # row 6 gets both targets
    q = TrainingQUBO(net, X, t[:, None], margin_neurons="all")
    model = CollapsedModel.from_problem(q, B=1.5, mu=0.25)
    lev_at, lev_max, _ = kernel.level_args(len(model.thr), model.G.shape[2])
    flat = kernel._row_index(*model.kernel_args[:6], model.G, model.Wt, lev_at)[5]
    pure_tau, rowsets, *_ = kernel._delta_classes(model.src, model.dst, model.unit, model.out_ptr, 7, model.G,
                                                  model.Wt, flat, True, lev_max)
    out = model.Wt.shape[1] - 1

    def bit(plane, r):
        return int(rowsets[out, plane, r >> 6] >> np.uint64(r & 63)) & 1

    for r in range(q.n_rows):
        m0, m1 = model.Wt[r, out]
        pure = (m0 == 0) != (m1 == 0) and max(m0, m1) < 2 ** kernel.MULT_BITS
        assert (pure_tau[out, r] >= 0) == pure and bit(0, r) == (not pure)
        if pure:
            assert sum(bit(1 + b, r) << b for b in range(kernel.MULT_BITS)) == max(m0, m1)
    assert [pure_tau[out, r] >= 0 for r in (0, 1, 2, 5)] == [False, False, True, False]
    W0, betas = _schedule(model, rng, reads=2, sweeps=20)
    W_ref, e_ref = _run(reference.anneal, model, W0, betas, key=9)
    W_new, e_new = _run(kernel.anneal, model, W0, betas, key=9)
    _assert_bitwise_equal(W_new, W_ref)
    _assert_bitwise_equal(e_new, e_ref)
    visits = {}
    for classes in (False, True):
        W_v, e_v = W0.copy(), np.empty(2)
        visits[classes] = np.zeros(2, dtype=np.int64)
        kernel.anneal_visits(W_v, *model.kernel_args, betas, 9, 0, e_v, visits[classes], classes=classes)
    assert (visits[True] < visits[False] // 2).all(), visits
