"""The training QUBO of ``docs/FORMULATION.md``: network + data -> ``dimod.BinaryQuadraticModel``.

(Longer than most modules on purpose: :class:`TrainingQUBO` is one problem's variable layout,
terms, emission and decoding, which share its index arrays. How a neuron is encoded lives in
:mod:`qubo_bnn.encoding`, the coefficients in :mod:`qubo_bnn.objective`, the size estimate in
:mod:`qubo_bnn.sizing`, the CQM in :mod:`qubo_bnn.cqm`, optimisation in the samplers.)

Nothing large is built with the problem: the terms (polynomials) are stated on first use, and
expanded into a BQM's arrays only by :meth:`TrainingQUBO.to_bqm` and
:meth:`TrainingQUBO.energy_split`, after the size guard. Samplers that know the formulation
(:class:`~qubo_bnn.problem_sampler.TrainingProblemSampler`) need only the per-neuron cost tables
(:meth:`TrainingQUBO.settled_costs`) and the forward pass.

    H = A·P + B·L + mu·M + Σ_e h_e·w_e

``P`` sums the sign-consistency penalties (one squared linear equality per neuron and sample,
plus the tie and Rosenberg/AND penalties), ``L`` is the 0-1 loss of the outputs, ``M = -Σ|z|``
the margin regulariser (optionally truncated), and ``h`` linear penalties on weights. Every
term is stated once, as a :class:`~qubo_bnn.polynomial.Polynomial`, and emitted either as a
PyQUBO expression with ``Placeholder`` coefficients (``builder="pyqubo"``) or as numpy arrays
(``builder="numpy"``, the default, ~25x faster); both give the identical BQM.

Example:
    >>> import numpy as np
    >>> from qubo_bnn.network import Network
    >>> net = Network(2).dense(1)
    >>> X = np.array([[0, 1], [1, 1]]); y = np.array([1, 0])
    >>> q = TrainingQUBO(net, X, y)
    >>> bqm = q.to_bqm()
    >>> (q.n_weights, bqm.num_variables)
    (3, 7)
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

import dimod
import numpy as np

from .cqm import training_cqm
from .network import BIAS, Network
from .encoding import MARGIN_KINDS, SQRT_CAP, NeuronEncoding, encode_slack, margin_cap_for, neuron_encoding, settle_auxiliaries
from .objective import COMPONENTS, WEIGHT_SPIN, Coefficients, Origin, attach_origin, origin_of
from .polynomial import Polynomial
from .sizing import QUBOTooLargeError, estimate_size, memory_limit
from .validation import as_bits, check_weights

__all__ = ["TrainingQUBO", "Coefficients", "Origin", "origin_of", "COMPONENTS", "WEIGHT_SPIN", "BIAS",
           "settle_auxiliaries"]


class TrainingQUBO:
    """The training problem of a BNN on a data set, ready to become a BQM for any A, B, mu, h.

    Args:
        network: the topology (:class:`~qubo_bnn.network.Network`).
        X: ``(n_samples, n_inputs)`` binary inputs, {0, 1} or {-1, +1}.
        targets: target bits, ``(n_samples, n_outputs)`` (or ``(n_samples,)`` for one output):
            1 where the output should fire (+1).
        hard_fit: fix every output activation to its target instead of paying a loss
            (the earlier QUBO work's variant: feasible only if the data can be fitted).
        margin_neurons: neurons whose |z| is rewarded by the margin term: ``"all"``, ``"hidden"``,
            ``"output"``, ``"none"`` or a list of neuron ids.
        margin_cap: if set, reward ``min(|z|, margin_cap)`` (rounded down to |z|'s parity);
            ``"sqrt"``: each neuron's own ``⌈√F⌉`` (:func:`~qubo_bnn.encoding.margin_cap_for`).
        margin_kind: ``"sum"`` (default): the margin term rewards ``min(|z|, cap)`` of every
            margin neuron on every sample; ``"min"``: each margin neuron's smallest margin over the
            rows, once per neuron (Toro Icarte et al.; docs/FORMULATION.md, "Min margin").
        min_output_margin: hard constraint ``|z_o| >= min_output_margin`` on the outputs.
        merge_duplicates: one block of auxiliaries per distinct input row (under ``hard_fit``:
            per distinct (row, target) pair), its terms weighted by how many samples share it:
            the loss by the row's count of each target, the penalties and margin by its count.
            For every weight assignment the minimum over the auxiliaries is unchanged
            (docs/FORMULATION.md, "Duplicate rows"); the QUBO shrinks.
        max_bytes: refuse to build a BQM (:meth:`to_bqm`, :meth:`energy_split`; raising
            :class:`QUBOTooLargeError` before anything large is allocated) whose
            :func:`estimate_size` exceeds this many bytes; ``None``: :func:`memory_limit`.
            Constructing the problem and running a training-aware sampler on it is not limited.
        builder: ``"numpy"`` (vectorised) or ``"pyqubo"`` (PyQUBO compile; same BQM).

    Attributes:
        labels: the BQM's variable labels (weights first, ``"w{e}"`` for edge ``e``; auxiliaries
            ``"x{j}_{r}"`` etc. indexed by row ``r`` of :attr:`X`).
        encodings: per neuron, the :class:`NeuronEncoding` used.
        X: ``(n_rows, n_inputs)`` bits, the rows the QUBO has a block for.
        row_counts: ``(n_rows,)`` training samples in each row.
        positive_counts: ``(n_rows, n_outputs)`` samples of each row whose output-``k`` target is 1.
        targets: ``(n_rows, n_outputs)`` the majority target of each row (ties fire); exact when
            rows are not merged or under hard fit, where merged rows share their targets.
        row_of_sample: ``(n_samples,)`` the row each training sample was merged into.
    """

    def __init__(self, network: Network, X, targets, *, hard_fit: bool = False,
                 margin_neurons: str | Iterable[int] = "all", margin_cap: int | str | None = None,
                 min_output_margin: int = 0, merge_duplicates: bool = True, builder: str = "numpy",
                 max_bytes: int | None = None, margin_kind: str = "sum"):
        if not isinstance(network, Network):
            raise TypeError(f"network must be a qubo_bnn.Network, got {type(network).__name__}")
        network.validate()
        if builder not in ("numpy", "pyqubo"):
            raise ValueError(f"builder must be 'numpy' or 'pyqubo', got {builder!r}")
        self.network = network
        Xs = as_bits(X, network.n_inputs)
        n = Xs.shape[0]
        tau = np.asarray(targets)
        if tau.ndim == 1:
            tau = tau[:, None]
        if tau.shape != (n, len(network.outputs)):
            raise ValueError(f"targets must have shape ({n}, {len(network.outputs)}) "
                             f"(samples, outputs), got {np.asarray(targets).shape}")
        if not np.isin(tau, (0, 1)).all():
            raise ValueError("targets must be bits (1 = the output should fire)")
        tau = tau.astype(np.int8)
        self.hard_fit = bool(hard_fit)
        self.merge_duplicates = bool(merge_duplicates)
        self.n_samples = n
        self._merge_rows(Xs, tau)
        self.margin_neurons = self._margin_set(margin_neurons)
        if margin_cap is not None and margin_cap != SQRT_CAP and (
                isinstance(margin_cap, (bool, str)) or int(margin_cap) != margin_cap or margin_cap < 1):
            raise ValueError(f"margin_cap must be a positive integer, {SQRT_CAP!r} or None, got {margin_cap!r}")
        if int(min_output_margin) != min_output_margin or min_output_margin < 0:
            raise ValueError(f"min_output_margin must be a non-negative integer, got {min_output_margin!r}")
        self.margin_cap = margin_cap if margin_cap in (None, SQRT_CAP) else int(margin_cap)
        if margin_kind not in MARGIN_KINDS:
            raise ValueError(f"margin_kind must be one of {MARGIN_KINDS}, got {margin_kind!r}")
        self.margin_kind = margin_kind
        self.min_output_margin = int(min_output_margin)
        self.builder = builder
        if max_bytes is not None and (isinstance(max_bytes, bool) or int(max_bytes) != max_bytes or max_bytes < 0):
            raise ValueError(f"max_bytes must be a non-negative integer or None, got {max_bytes!r}")
        self.max_bytes = None if max_bytes is None else int(max_bytes)
        self._layout()
        self._model = None          # the PyQUBO model, compiled on first use
        self._expanded: dict[str, Any] | None = None
        self._cost_tables: tuple[dict[str, np.ndarray], np.ndarray] | None = None

    # ------------------------------------------------------------------ setup
    def _merge_rows(self, Xs: np.ndarray, tau: np.ndarray) -> None:
        """Rows of the QUBO and their per-target counts (docs/FORMULATION.md, "Duplicate rows")."""
        n = Xs.shape[0]
        if self.merge_duplicates:
            key = np.concatenate([Xs, tau], axis=1) if self.hard_fit else Xs
            _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
            inverse = inverse.ravel()
            # keep rows in order of first appearance, so labels do not depend on sorting
            order = np.argsort(first, kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            rows, inverse = first[order], rank[inverse]
        else:
            rows, inverse = np.arange(n), np.arange(n)
        R = len(rows)
        self.X = Xs[rows]
        self.row_of_sample = inverse.astype(np.int64)
        self.row_counts = np.bincount(inverse, minlength=R).astype(np.int64)
        self.positive_counts = np.stack(
            [np.bincount(inverse, weights=tau[:, k], minlength=R) for k in range(tau.shape[1])],
            axis=1).astype(np.int64)
        self.targets = (2 * self.positive_counts >= self.row_counts[:, None]).astype(np.int8)
        self._sample_targets = tau

    def resample(self, samples) -> "TrainingQUBO":
        """The same problem on the training samples ``samples`` (indices, repeats allowed), e.g.
        a bootstrap resample: equal to ``TrainingQUBO(network, X[samples], targets[samples])``
        with this problem's options (the same rows in the same order, the same counts), built
        from this problem's rows; the neuron encodings and unit cost tables, which do not depend
        on the rows, are shared.

        Example:
            >>> q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1], [0, 1]]), np.array([1, 0, 1]))
            >>> r = q.resample([2, 2, 1])
            >>> r.X.tolist(), r.row_counts.tolist(), r.positive_counts.ravel().tolist()
            ([[0, 1], [1, 1]], [2, 1], [2, 0])
        """
        samples = np.asarray(samples)
        if samples.ndim != 1 or samples.size == 0 or samples.dtype.kind not in "iu" \
                or samples.min() < 0 or samples.max() >= self.n_samples:
            raise ValueError(f"samples must be a non-empty 1-D array of sample indices in [0, {self.n_samples})")
        new = object.__new__(TrainingQUBO)
        new.__dict__.update({k: getattr(self, k) for k in (
            "network", "hard_fit", "merge_duplicates", "margin_neurons", "margin_cap", "min_output_margin",
            "builder", "max_bytes", "margin_kind")})
        new.n_samples = len(samples)
        parent_rows = self.row_of_sample[samples]
        # this problem's rows are distinct by the same key, so merging their ids merges the samples;
        # the merge leaves the parent row id of each new row in X's one column
        new._merge_rows(parent_rows[:, None], self._sample_targets[samples])
        new.X = self.X[new.X[:, 0]]
        new._layout(self.encodings)
        new._model, new._expanded = None, None
        new._cost_tables = (self.cost_tables()[0], new._row_weights())
        return new

    def _margin_set(self, which) -> frozenset[int]:
        net = self.network
        if isinstance(which, str):
            table = {"all": net.neurons, "hidden": net.hidden, "output": net.outputs, "none": []}
            if which not in table:
                raise ValueError(f"margin_neurons must be one of {sorted(table)} or a list of neuron ids, got {which!r}")
            return frozenset(table[which])
        ids = frozenset(int(j) for j in which)
        bad = ids - set(net.neurons)
        if bad:
            raise ValueError(f"margin_neurons: {sorted(bad)} are not neurons of the network")
        return ids

    def _layout(self, encodings: dict[int, NeuronEncoding] | None = None) -> None:
        """Assign integer ids to every binary variable (weights first); labels on first use.
        ``encodings``: the neurons' encodings when known (they depend on the network and options only)."""
        net, n = self.network, self.X.shape[0]
        self.n_rows = n
        self.n_weights = net.n_weights
        self._label_blocks: list[tuple[tuple[int, ...], Any]] = []
        nxt = [net.n_weights]

        def block(shape, fmt):
            size = int(np.prod(shape))
            ids = np.arange(nxt[0], nxt[0] + size, dtype=np.int64).reshape(shape)
            nxt[0] += size
            self._label_blocks.append((shape, fmt))
            return ids

        out_col = {o: k for k, o in enumerate(net.outputs)}
        self.encodings: dict[int, NeuronEncoding] = {}
        self.x_ids: dict[int, np.ndarray | None] = {}
        self.x_fixed: dict[int, np.ndarray] = {}
        self.ta_ids, self.tb_ids, self.e_ids = {}, {}, {}
        self.level_ids: dict[int, np.ndarray] = {}      # min-margin level bits, shared by the rows
        self.q_ids: dict[int, np.ndarray] = {}          # q = level bit ∧ x, per row
        for j in net.neurons:
            is_out = j in out_col
            enc = encodings[j] if encodings is not None else neuron_encoding(
                j, net.fan_in(j), self.min_output_margin if is_out else 0,
                margin_cap_for(net.fan_in(j), self.margin_cap), j in self.margin_neurons, unit=net.count_unit(j),
                min_margin=self.margin_kind == "min")
            self.encodings[j] = enc
            if len(enc.lc):
                self.level_ids[j] = block((len(enc.lc),), lambda k, j=j: f"m{j}_{k}")
            if self.hard_fit and is_out:
                self.x_ids[j] = None
                self.x_fixed[j] = self.targets[:, out_col[j]]
            else:
                self.x_ids[j] = block((n,), lambda s, j=j: f"x{j}_{s}")
            ka = len(enc.ca)
            self.ta_ids[j] = block((n, ka), lambda s, k, j=j: f"t{j}_{s}_{k}")
            self.tb_ids[j] = block((n, len(enc.cb)), lambda s, k, j=j, ka=ka: f"t{j}_{s}_{ka + k}")
            self.e_ids[j] = block((n,), lambda s, j=j: f"tie{j}_{s}") if enc.tie else None
            if len(enc.lc) and self.x_ids[j] is not None:
                self.q_ids[j] = block((n, len(enc.lc)), lambda s, k, j=j: f"q{j}_{s}_{k}")
        # AND auxiliaries y = w ∧ x_src, only where the source is a neuron with a variable x
        self.y_ids: dict[int, np.ndarray] = {}
        for e, (s, j) in enumerate(net.edges):
            if s >= net.n_inputs and self.x_ids[int(s)] is not None:
                self.y_ids[e] = block((n,), lambda smp, e=e: f"y{e}_{smp}")
        self.n_variables = nxt[0]

    @cached_property
    def labels(self) -> list[str]:
        """The BQM's variable labels, in variable-id order (built on first use)."""
        labels = [f"w{e}" for e in range(self.n_weights)]
        for shape, fmt in self._label_blocks:
            labels.extend(fmt(*ix) for ix in np.ndindex(*shape))
        return labels

    @property
    def polynomials(self) -> dict[str, Polynomial]:
        """The components ``P, L, M`` of H as :class:`Polynomial` (stated on first use)."""
        return self._terms[0]

    @property
    def _residual_forms(self) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per neuron, the sign residual as ``(idx, coef, const)`` over the rows (stated on first use)."""
        return self._terms[1]

    @cached_property
    def _terms(self):
        return self._state_terms()

    def _state_terms(self):
        """State every term of H once, as polynomials over the variable ids (docs/FORMULATION.md)."""
        net, n, Xb = self.network, self.n_rows, self.X
        cnt = self.row_counts.astype(np.float64)   # every term of a merged row counts its samples
        P, L, M = Polynomial(), Polynomial(), Polynomial()
        slices = net.edge_slices()
        forms: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        values = net.input_values(Xb).astype(np.float64)      # ±1, or 0/1 gates
        for j in net.neurons:
            enc = self.encodings[j]
            unit = float(enc.unit)
            cols_i, cols_c = [], []
            const = np.zeros(n)
            # count u_j = unit·Σ_e g_e, g = (1 + w·a)/2 (docs/FORMULATION.md, Agreement count)
            for e in range(slices[j].start, slices[j].stop):
                s = int(net.edges[e, 0])
                w = np.full(n, e, dtype=np.int64)
                if s == BIAS:                               # g = ω
                    cols_i.append(w); cols_c.append(np.full(n, unit))
                    continue
                if s < net.n_inputs:
                    a = values[:, s]
                elif self.x_ids[s] is None:                 # fixed output feeding on (hard fit)
                    a = 2.0 * self.x_fixed[s] - 1.0
                else:                                       # g = XNOR(ω, x) = 1 - ω - x + 2y
                    x, y = self.x_ids[s], self.y_ids[e]
                    cols_i += [w, x, y]; cols_c += [np.full(n, -unit), np.full(n, -unit), np.full(n, 2 * unit)]
                    const += unit
                    # Rosenberg R(ω, x, y) = ωx - 2y(ω + x) + 3y  (0 iff y = ω∧x)
                    P.add_quadratic(w, x, cnt)
                    P.add_quadratic(y, w, -2.0 * cnt)
                    P.add_quadratic(y, x, -2.0 * cnt)
                    P.add_linear(y, 3.0 * cnt)
                    continue
                # g = ω (a = 1), 1 - ω (a = -1), 1/2 whatever ω (a 0/1 input that is off)
                cols_i.append(w); cols_c.append(unit * a)
                const += unit * (1 - a) / 2
            # minus thr·x, slack and tie: u - thr·x - t - e = 0
            x = self.x_ids[j]
            if x is None:
                const -= enc.threshold * self.x_fixed[j].astype(np.float64)   # int8 bits: no overflow
            else:
                cols_i.append(x); cols_c.append(np.full(n, -float(enc.threshold)))
            for ids, coefs in ((self.ta_ids[j], enc.ca), (self.tb_ids[j], enc.cb)):
                for k, c in enumerate(coefs):
                    cols_i.append(ids[:, k]); cols_c.append(np.full(n, -float(c)))
            if enc.tie:
                cols_i.append(self.e_ids[j]); cols_c.append(-np.ones(n))
            # the min-margin level: + m·(1 - 2x), m = Σ c·g, m·x = Σ c·q with q = g ∧ x
            for k, c in enumerate(enc.lc):
                g = np.full(n, self.level_ids[j][k], dtype=np.int64)
                if x is None:
                    cols_i.append(g); cols_c.append(float(c) * (1.0 - 2.0 * self.x_fixed[j]))
                    continue
                q = self.q_ids[j][:, k]
                cols_i += [g, q]; cols_c += [np.full(n, float(c)), np.full(n, -2.0 * c)]
                P.add_quadratic(g, x, cnt)                  # Rosenberg R(g, x, q)
                P.add_quadratic(q, g, -2.0 * cnt)
                P.add_quadratic(q, x, -2.0 * cnt)
                P.add_linear(q, 3.0 * cnt)
            if len(enc.lc):                                 # reward 2m, once per neuron
                M.add_linear(self.level_ids[j], -float(enc.level_step) * enc.lc.astype(np.float64))
            idx, coef = np.stack(cols_i, axis=1), np.stack(cols_c, axis=1)
            P.add_square(idx, coef, const, weight=cnt)
            forms[j] = (idx, coef, const)
            if enc.tie:  # e·(1 - x): the tie bit only where the neuron fires
                if x is None:
                    P.add_linear(self.e_ids[j], cnt * (1.0 - self.x_fixed[j]))
                else:
                    P.add_linear(self.e_ids[j], cnt)
                    P.add_quadratic(self.e_ids[j], x, -cnt)
            if enc.reward:
                self._state_margin(M, j, enc)
        # 0-1 loss: (1 - x_o) if τ = 1 else x_o, per sample; a row with n1 positives and n0
        # negatives pays n1·(1 - x) + n0·x  (constant 0 under hard fit)
        for k, o in enumerate(net.outputs):
            if self.x_ids[o] is not None:
                n1 = self.positive_counts[:, k].astype(np.float64)
                L.add_linear(self.x_ids[o], cnt - 2.0 * n1)
                L.add_offset(n1.sum())
        return {"penalty": P, "loss": L, "margin": M}, forms

    def _state_margin(self, M: Polynomial, j: int, enc: NeuronEncoding) -> None:
        """Add ``-reward_j`` to ``M`` for every sample.

        x = 1: |z| = base1 + 2t + 2e;  x = 0: |z| = base0 + 2(R - t). With t = ta + tb,
        reward = x·(base1 + 2ta + 2e) + (1 - x)·(base0 + 2a - 2ta); maximised over the split it
        equals min(|z|, cap), and |z| untruncated (a = R; docs/FORMULATION.md, Objective).
        """
        cnt = self.row_counts.astype(np.float64) * enc.reward_scale
        base = enc.base0 + 2 * enc.a                      # reward when x = 0 and ta = 0
        slope_x = enc.base1 - enc.base0 - 2 * enc.a       # x·(...) constant part
        x = self.x_ids[j]
        xf = None if x is not None else self.x_fixed[j].astype(np.float64)
        M.add_offset(-(cnt * base).sum() if xf is None else -(cnt * (base + slope_x * xf)).sum())
        if xf is None:
            M.add_linear(x, -float(slope_x) * cnt)
        for k, c in enumerate(enc.ca):
            t = self.ta_ids[j][:, k]
            if xf is None:
                M.add_linear(t, 2.0 * c * cnt)
                M.add_quadratic(x, t, -4.0 * c * cnt)
            else:
                M.add_linear(t, cnt * (2.0 * c - 4.0 * c * xf))
        if enc.tie:
            if xf is None:
                M.add_quadratic(x, self.e_ids[j], -2.0 * cnt)
            else:
                M.add_linear(self.e_ids[j], -2.0 * xf * cnt)

    def _compile_pyqubo(self):
        import pyqubo

        v = [pyqubo.Binary(lb) for lb in self.labels]
        a, b = WEIGHT_SPIN
        H = (sum(pyqubo.Placeholder(coef) * self.polynomials[name].to_pyqubo(v) for name, coef in COMPONENTS.items())
             + sum(pyqubo.Placeholder(f"h{e}") * (a * v[e] + b) for e in range(self.n_weights)))
        return H.compile()

    # ------------------------------------------------------------------ the BQM
    def default_penalty(self, B: float = 1.0, mu: float = 0.0) -> float:
        """Smallest safe ``A`` + 1 (docs/FORMULATION.md, Exactness).

        Fixing one sample's auxiliaries to its forward pass removes violations worth ``>= A``
        and changes its loss and margin terms by at most ``B·n_outputs + mu·Σ_j F_j`` (margin
        neurons only; 0 loss under hard fit), so ``A = that bound + 1`` makes the ground state a
        consistent network with minimum regularised loss. ``h`` touches weights only.
        """
        n_out = 0 if self.hard_fit else len(self.network.outputs)
        fan = sum(self.network.fan_in(j) for j in self.margin_neurons if self.encodings[j].reward)
        levels = sum(enc.level_step * enc.levels for enc in self.encodings.values())
        return float(abs(B) * n_out + abs(mu) * (fan + levels) + 1.0)

    def size_estimate(self):
        """:func:`estimate_size` of this problem's BQM: ``(variables, couplings, bytes)``."""
        return estimate_size(self.network, self.n_rows, self.hard_fit, self.margin_cap, self.margin_kind)

    def check_size(self) -> None:
        """Refuse (:class:`QUBOTooLargeError`) to build a BQM whose :func:`estimate_size` exceeds
        ``max_bytes`` (default :func:`memory_limit`); called before every BQM build."""
        variables, couplings, need = self.size_estimate()
        limit = memory_limit() if self.max_bytes is None else self.max_bytes
        if need > limit:
            raise QUBOTooLargeError(
                f"this training QUBO would have about {variables:,} variables and {couplings:,} couplings "
                f"({self.n_samples:,} samples in {self.n_rows:,} distinct rows), about {need / 2**30:.1f} GiB to "
                f"build; the limit is {limit / 2**30:.1f} GiB (max_bytes, default half the available memory). "
                "Train with a sampler that needs no BQM (collapsed, cpsat), use fewer training samples or a "
                "smaller network, binarise so that more rows coincide (duplicate rows are merged), or use a "
                "machine with more memory")

    def _merged(self) -> dict[str, Any]:
        """Union of the components' quadratic structures, values aligned, computed once."""
        if self._expanded is None:
            self.check_size()
            nv = self.n_variables
            parts = {name: self.polynomials[name].expand(nv) for name in COMPONENTS}
            keys = np.unique(np.concatenate([p[1][0] * nv + p[1][1] for p in parts.values()]))
            out = {"qi": keys // nv, "qj": keys % nv}
            for name, (lin, (qi, qj, qv), off) in parts.items():
                vals = np.zeros(len(keys))
                vals[np.searchsorted(keys, qi * nv + qj)] = qv
                out[name] = (lin, vals, off)
            self._expanded = out
        return self._expanded

    def _check_h(self, h) -> np.ndarray:
        if h is None:
            return np.zeros(self.n_weights)
        h = np.asarray(h, dtype=np.float64)
        if h.shape != (self.n_weights,) or not np.isfinite(h).all():
            raise ValueError(f"h must be {self.n_weights} finite numbers (one per weight), got shape {h.shape}")
        return h

    def coefficients(self, A: float | Coefficients | None = None, B: float = 1.0, mu: float = 0.0,
                     h=None) -> Coefficients:
        """The :class:`~qubo_bnn.objective.Coefficients` of H for this problem: ``A=None`` is
        :meth:`default_penalty` (the one place the default is resolved), ``h=None`` zeros.

        A :class:`Coefficients` passed as ``A`` is checked against this problem and returned.

        Example:
            >>> q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1]]), np.array([1]))
            >>> c = q.coefficients(mu=0.5)
            >>> c.A, c.B, c.mu, c.h.tolist()
            (3.5, 1.0, 0.5, [0.0, 0.0, 0.0])
        """
        if isinstance(A, Coefficients):
            if A.h.shape != (self.n_weights,):
                raise ValueError(f"h must be {self.n_weights} finite numbers (one per weight), got shape {A.h.shape}")
            return A
        for name, val in (("B", B), ("mu", mu)):
            if not np.isfinite(val):
                raise ValueError(f"{name} must be finite, got {val}")
        return Coefficients(self.default_penalty(B, mu) if A is None else A, B, mu, self._check_h(h))

    def to_bqm(self, A: float | Coefficients | None = None, B: float = 1.0, mu: float = 0.0,
               h=None) -> dimod.BinaryQuadraticModel:
        """The BQM for these coefficients (no recompilation; ``A=None`` uses :meth:`default_penalty`;
        a :class:`Coefficients` may be passed as ``A``). Checks :meth:`check_size` first."""
        c = self.coefficients(A, B, mu, h)
        if self.builder == "pyqubo":
            self.check_size()
            if self._model is None:
                self._model = self._compile_pyqubo()
            feed = {"A": c.A, "B": c.B, "mu": c.mu, **{f"h{e}": float(c.h[e]) for e in range(self.n_weights)}}
            bqm = self._model.to_bqm(feed_dict=feed)
            bqm.add_variables_from((lb, 0.0) for lb in self.labels if lb not in bqm.variables)
            return attach_origin(bqm, self, c)
        m = self._merged()
        lin = sum(c.value(k) * m[k][0] for k in COMPONENTS).copy()
        qv = sum(c.value(k) * m[k][1] for k in COMPONENTS)
        off = sum(c.value(k) * m[k][2] for k in COMPONENTS)
        a, b = WEIGHT_SPIN
        lin[: self.n_weights] += a * c.h
        off += b * c.h.sum()
        bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
            lin, (m["qi"], m["qj"], qv), off, dimod.BINARY, variable_order=self.labels)
        return attach_origin(bqm, self, c)

    def to_cqm(self, B: float = 1.0, mu: float = 0.0, h=None) -> "dimod.ConstrainedQuadraticModel":
        """The same problem as a CQM with hard constraints (no ``A``): :func:`qubo_bnn.cqm.training_cqm`."""
        return training_cqm(self, B, mu, h)

    # ------------------------------------------------------------------ samples
    def states(self, samples) -> np.ndarray:
        """``(n_reads, n_variables)`` 0/1 array in :attr:`labels` order from a SampleSet, dicts or an array."""
        if isinstance(samples, dimod.SampleSet):
            arr, labels = samples.record.sample, list(samples.variables)
            if samples.vartype is dimod.SPIN:
                arr = (arr > 0).astype(np.int8)
        elif isinstance(samples, np.ndarray):
            arr = np.atleast_2d(samples)
            if arr.shape[1] != self.n_variables:
                raise ValueError(f"expected {self.n_variables} columns, got {arr.shape[1]}")
            return arr.astype(np.int8)
        else:
            arr, labels = dimod.as_samples(samples)
        pos = {lb: k for k, lb in enumerate(labels)}
        missing = [lb for lb in self.labels if lb not in pos]
        if missing:
            raise ValueError(f"the sample lacks {len(missing)} variables of this QUBO, e.g. {missing[:3]}")
        return np.asarray(arr)[:, [pos[lb] for lb in self.labels]].astype(np.int8)

    def weights_from(self, samples) -> np.ndarray:
        """``(n_reads, n_weights)`` weights in {-1, +1} read from samples (docs/FORMULATION.md, Decoding)."""
        return (2 * self.states(samples)[:, : self.n_weights].astype(np.int8) - 1).astype(np.int8)

    def output_errors(self, weights) -> np.ndarray | int:
        """Training output errors of ``weights`` (``(n_weights,)`` or ``(k, n_weights)``, ±1): the
        output bits whose forward-pass sign differs from the target, over every training sample
        (a merged row counts its samples). With mu = 0 and h = 0 this is the collapsed energy / B.

        Example:
            >>> q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [0, 1], [1, 1]]), np.array([1, 0, 1]))
            >>> q.output_errors(np.array([1, 1, 1]))          # fires on every row: one error
            1
        """
        single = np.ndim(weights) == 1
        _, A = self.network.forward(self.X, np.atleast_2d(weights))      # (k, rows, neurons)
        fired = A[:, :, [o - self.network.n_inputs for o in self.network.outputs]] > 0
        pos = self.positive_counts
        errors = np.where(fired, self.row_counts[:, None] - pos, pos).sum(axis=(1, 2))
        return int(errors[0]) if single else errors

    def consistent_state(self, weights) -> np.ndarray:
        """The 0/1 state of every variable for ``weights`` with auxiliaries set by the forward pass.

        Slack is split to maximise the margin reward and the tie bit is used where the neuron
        fires (:func:`settle_auxiliaries`), so the energy of this state is the minimum over the
        auxiliaries whenever the network satisfies the hard constraints (always, without hard
        fit or hard margins). Under hard fit the outputs hold their targets, also as inputs of
        later neurons. ``weights`` ``(n_weights,)`` gives one state, ``(k, n_weights)`` ``k``.
        """
        net = self.network
        single = np.ndim(weights) == 1
        W = check_weights(np.atleast_2d(weights), self.n_weights, batch=True)
        k = W.shape[0]
        w01 = (W > 0).astype(np.int8)
        state = np.zeros((k, self.n_variables), dtype=np.int8)
        state[:, : self.n_weights] = w01
        xbits = {}
        for j, enc, u, x, m, e, t, ta in self._settled(W):
            if self.x_ids[j] is not None:
                state[:, self.x_ids[j]] = x
            xbits[j] = x
            if j in self.level_ids:
                g = encode_slack(m, enc.lc)                                     # (k, bits)
                state[:, self.level_ids[j]] = g
                if j in self.q_ids:
                    state[:, self.q_ids[j]] = g[:, None, :] * x[:, :, None].astype(np.int8)
            if enc.tie:
                state[:, self.e_ids[j]] = e
            state[:, self.ta_ids[j]] = encode_slack(ta.ravel(), enc.ca).reshape(k, self.n_rows, -1)
            state[:, self.tb_ids[j]] = encode_slack((t - ta).ravel(), enc.cb).reshape(k, self.n_rows, -1)
        for e, ids in self.y_ids.items():
            state[:, ids] = w01[:, e: e + 1] * xbits[int(net.edges[e, 0])]
        return state[0] if single else state

    def _settled(self, W: np.ndarray):
        """Per neuron, the consistent states' ``(j, encoding, u, x, m, e, t, ta)`` for weights
        ``W`` ``(k, n_weights)``: agreement counts and activation bits by the forward pass
        (hard-fit outputs clamped), the min-margin level ``m`` ``(k,)`` (0 without one:
        :meth:`NeuronEncoding.level <qubo_bnn.encoding.NeuronEncoding.level>`), tie and slack by
        :func:`settle_auxiliaries`; the other arrays ``(k, n_rows)``."""
        net = self.network
        Z, A = net.forward(self.X, W, clamp=self.x_fixed)          # (k, rows, neurons)
        for j in net.neurons:
            col, enc = j - net.n_inputs, self.encodings[j]
            x = (A[:, :, col] > 0).astype(np.int64)                 # int64: threshold·x may pass 127
            u = enc.count(Z[:, :, col])
            m = enc.level(u, x) if enc.levels else np.zeros(len(W), dtype=np.int64)
            yield (j, enc, u, x, m, *settle_auxiliaries(enc, u, x, m[:, None]))

    def consistent_broken_constraints(self, weights) -> list[tuple[str, int, int]]:
        """``broken_constraints(consistent_state(weights))`` without building the state or the terms.

        In a consistent state only hard constraints can break (hard fit, hard margins): the sign
        residual ``u - threshold·x - t - e`` where the slack cannot take it up, and never the
        tie or AND constraints; same kinds and order as :meth:`broken_constraints`.

        Example:
            >>> q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1]]), np.array([1, 0]), hard_fit=True)
            >>> q.consistent_broken_constraints(np.array([1, 1, 1]))     # fires on row 1, held at 0
            [('sign', 2, 1)]
        """
        W = check_weights(np.atleast_2d(weights), self.n_weights, batch=True)[:1]
        out = []
        if not (self.hard_fit or self.min_output_margin):      # nothing is hard: nothing can break
            return out
        for j, enc, u, x, m, e, t, ta in self._settled(W):
            r = u[0] - enc.threshold * x[0] - t[0] - e[0] + m[0] * (1 - 2 * x[0])
            out += [("sign", j, int(k)) for k in np.flatnonzero(r != 0)]
            if enc.tie:
                out += [("tie", j, int(k)) for k in np.flatnonzero(e[0] * (1 - x[0]))]
        return out

    def energy_split(self, samples, h=None) -> dict[str, np.ndarray]:
        """Per read, the value of each component ``P, L, M`` and of ``Σ h·w`` (unweighted).

        ``energy = A·penalty + B·loss + mu·margin + h_term``.
        """
        S = self.states(samples).astype(np.float64)
        m = self._merged()
        out = {}
        for name in COMPONENTS:
            lin, qv, off = m[name]
            out[name] = S @ lin + (S[:, m["qi"]] * S[:, m["qj"]]) @ qv + off
        a, b = WEIGHT_SPIN
        out["h_term"] = (a * S[:, : self.n_weights] + b) @ self._check_h(h)
        return out

    def weight_energies(self, W, A: float | Coefficients | None = None, B: float = 1.0, mu: float = 0.0,
                        h=None) -> np.ndarray:
        """Energy of each row of ``W`` (weights ±1) with auxiliaries at :meth:`consistent_state`.

        Without hard fit or hard margins this is the minimum of the BQM over the auxiliaries,
        ``B·L - mu·Σ reward + h·w`` (docs/FORMULATION.md, Exactness), computed without sampling.
        """
        c = self.coefficients(A, B, mu, h)
        S = self.consistent_state(np.atleast_2d(W))
        return c.combine(self.energy_split(S, c.h))

    def collapsed_split(self, W, h=None) -> dict[str, np.ndarray]:
        """Per row of ``W`` (±1 weights), :meth:`energy_split` of its consistent state, from the
        cost tables (:meth:`cost_tables`) and a forward pass: no terms, no BQM.

        Example:
            >>> q = TrainingQUBO(Network(2).dense(1), np.array([[0, 1], [1, 1]]), np.array([1, 0]))
            >>> {k: v.tolist() for k, v in q.collapsed_split(np.array([[1, 1, 1]])).items()}
            {'penalty': [0.0], 'loss': [1.0], 'margin': [-4.0], 'h_term': [0.0]}
        """
        W = check_weights(np.atleast_2d(W), self.n_weights, batch=True)
        tables, Wt = self.cost_tables()
        Z, A = self.network.forward(self.X, W, clamp=self.x_fixed)       # (k, rows, neurons)
        out = {name: np.zeros(len(W)) for name in COMPONENTS}
        for j in self.network.neurons:
            k, enc = j - self.network.n_inputs, self.encodings[j]
            u = enc.count(Z[:, :, k])
            for name, G in tables.items():
                out[name] += (Wt[:, k, 0] * G[k, 0][u] + Wt[:, k, 1] * G[k, 1][u]).sum(axis=1)
            if enc.levels:                           # the min margin's reward, 2m once per neuron
                out["margin"] -= enc.level_step * enc.level(u, (A[:, :, k] > 0).astype(np.int64))
        out["h_term"] = W.astype(np.float64) @ self._check_h(h)
        return out

    def cost_tables(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per component of :data:`COMPONENTS`, the unit cost table of :meth:`settled_costs`, and ``Wt``.

        ``settled_costs(c) = Σ_name c.value(name)·tables[name]``; every table holds integers
        (squared residuals, error counts, minus |z| rewards). Computed once per problem.
        """
        if self._cost_tables is None:
            self._cost_tables = self._unit_costs()
        return self._cost_tables

    def settled_costs(self, A: float | Coefficients | None = None, B: float = 1.0, mu: float = 0.0):
        """Per-neuron cost tables of the settled auxiliaries, and each row's weight on them.

        Returns ``(G, Wt)``: ``G[k, τ, u]`` (``(n_neurons, 2, max F + 1)``) is the energy of
        neuron ``k``'s terms on one sample with agreement count ``u`` and target ``τ``, with its
        auxiliaries at :func:`settle_auxiliaries` (penalty, loss, margin; hidden neurons ignore
        ``τ``); ``Wt[r, k, τ]`` (``(n_rows, n_neurons, 2)``) counts the samples of row ``r``
        with target ``τ`` (hidden neurons: all on ``τ = 0``). Then the energy of the consistent
        state of any weights is ``Σ_r Σ_k Σ_τ Wt[r,k,τ]·G[k,τ,u_k^r] + h·w``
        (docs/FORMULATION.md, "Collapsed energy"). ``A`` may be a :class:`Coefficients`.
        """
        c = self.coefficients(A, B, mu)
        tables, Wt = self.cost_tables()
        return sum(c.value(name) * G for name, G in tables.items()), Wt.copy()

    def _unit_costs(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        net = self.network
        J, Fmax = net.n_neurons, max(enc.fan_in for enc in self.encodings.values())
        out_col = {o: k for k, o in enumerate(net.outputs)}
        tables = {name: np.zeros((J, 2, Fmax + 1)) for name in COMPONENTS}
        for j in net.neurons:
            k, enc = j - net.n_inputs, self.encodings[j]
            u = np.arange(enc.fan_in + 1)
            for tau in (0, 1):
                fixed = self.x_ids[j] is None
                x = np.full_like(u, tau) if fixed else (2 * u >= enc.fan_in).astype(np.int64)  # sign(0) = +1
                e, t, ta = settle_auxiliaries(enc, u, x)
                pen = (u - enc.threshold * x - t - e) ** 2 + e * (1 - x)
                loss = (x != tau) if (j in out_col and not fixed) else 0
                reward = ((x * (enc.base1 + 2 * ta + 2 * e) + (1 - x) * (enc.base0 + 2 * enc.a - 2 * ta))
                          * enc.reward_scale if enc.reward else 0)
                tables["penalty"][k, tau, : enc.fan_in + 1] = pen
                tables["loss"][k, tau, : enc.fan_in + 1] = loss
                tables["margin"][k, tau, : enc.fan_in + 1] = -reward
        for G in tables.values():
            G.setflags(write=False)         # shared with resamples (:meth:`resample`)
        return tables, self._row_weights()

    def _row_weights(self) -> np.ndarray:
        """``Wt[r, k, τ]``: the samples of row ``r`` with target ``τ`` for neuron ``k`` (hidden: all on 0)."""
        net = self.network
        Wt = np.zeros((self.n_rows, net.n_neurons, 2))
        for k, o in enumerate(net.outputs):
            pos = self.positive_counts[:, k]
            Wt[:, o - net.n_inputs, 0], Wt[:, o - net.n_inputs, 1] = self.row_counts - pos, pos
        Wt[:, np.asarray(net.hidden, dtype=np.int64) - net.n_inputs, 0] = self.row_counts[:, None]
        return Wt

    def broken_constraints(self, sample) -> list[tuple[str, int, int]]:
        """Constraints one sample breaks: ``(kind, neuron or edge, sample index)``.

        Kinds: ``"sign"`` (residual ≠ 0), ``"tie"`` (e = 1 where x = 0), ``"and"`` (y ≠ ω∧x, by
        edge; then q ≠ g∧x of the min-margin levels, by neuron).
        """
        s = self.states(sample)[0].astype(np.int64)
        out = []
        for j, (idx, coef, const) in self._residual_forms.items():
            r = (coef * s[idx]).sum(axis=1) + const
            out += [("sign", j, int(k)) for k in np.flatnonzero(r != 0)]
            if self.e_ids[j] is not None:
                x = s[self.x_ids[j]] if self.x_ids[j] is not None else self.x_fixed[j]
                out += [("tie", j, int(k)) for k in np.flatnonzero(s[self.e_ids[j]] * (1 - x))]
        for e, ids in self.y_ids.items():
            src = int(self.network.edges[e, 0])
            bad = s[ids] != s[e] * s[self.x_ids[src]]
            out += [("and", e, int(k)) for k in np.flatnonzero(bad)]
        for j, ids in self.q_ids.items():       # q = level bit ∧ x, reported by neuron
            bad = (s[ids] != s[self.level_ids[j]][None, :] * s[self.x_ids[j]][:, None]).any(axis=1)
            out += [("and", j, int(k)) for k in np.flatnonzero(bad)]
        return out
