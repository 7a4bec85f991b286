"""Sizes given to the samplers' allocations are refused before anything is allocated
(solvers/_ising.py: MAX_ARRAY_BYTES), with a one-line error saying what to reduce."""
import dimod
import numpy as np
import pytest

import qubo_bnn_solvers._ising as ising
from qubo_bnn.collapsed import CollapsedSampler
from qubo_bnn.formulation import TrainingQUBO
from qubo_bnn.network import Network
from qubo_bnn_solvers import IsingSampler
from qubo_bnn_solvers._ising import beta_schedule, check_states_size


def _training_bqm():
    X = np.array([[0, 1], [1, 0], [1, 1]])
    return TrainingQUBO(Network(2).dense(1), X, np.array([1, 0, 1])).to_bqm()


@pytest.mark.parametrize("sampler", [IsingSampler(device="cpu"), CollapsedSampler(device="cpu")],
                         ids=["ising", "collapsed"])
@pytest.mark.parametrize("schedule", ["geometric", "linear"])
def test_huge_num_sweeps_is_refused_before_allocating_the_schedule(sampler, schedule):
    # 10**9 sweeps once asked numpy for a 7.45 GiB beta schedule
    with pytest.raises(ValueError, match=r"^the beta schedule \(num_sweeps = 1000000000 float64 values\) "
                                         r"would take 7\.45 GiB, over the 1 GiB limit .*reduce 'num_sweeps'$"):
        sampler.sample(_training_bqm(), num_reads=1, num_sweeps=10**9, beta_schedule_type=schedule, seed=0)


def test_schedule_bound_is_the_real_allocation(monkeypatch):
    monkeypatch.setattr(ising, "MAX_ARRAY_BYTES", 800)
    betas = beta_schedule((0.1, 1.0), 100, "geometric")
    assert betas.nbytes == 800                                  # exactly at the limit: allowed
    with pytest.raises(ValueError, match="reduce 'num_sweeps'"):
        beta_schedule((0.1, 1.0), 101, "geometric")
    assert IsingSampler(device="cpu").sample(dimod.BQM({0: 1.0}, {}, 0.0, "SPIN"), num_sweeps=100,
                                             seed=0).first.energy == -1.0


def test_states_bound_is_the_size_of_the_sample_record(monkeypatch):
    bqm = dimod.generators.ran_r(1, 12, seed=0)
    record = IsingSampler(device="cpu").sample(bqm, num_reads=5, num_sweeps=10, seed=0).record
    monkeypatch.setattr(ising, "MAX_ARRAY_BYTES", record.nbytes)    # the array really allocated
    check_states_size(5, bqm.num_variables)
    with pytest.raises(ValueError, match=r"^the samples \(num_reads = 6 reads of 12 variables \+ 16 bytes\) "
                                         r"would take .* GiB.*reduce 'num_reads' \(or the problem size\)$"):
        check_states_size(6, bqm.num_variables)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="reduce 'num_reads'"):
        check_states_size(10**12, 1)                            # large, and no overflow


def test_huge_num_reads_is_refused_before_allocating_the_samples():
    with pytest.raises(ValueError, match="reduce 'num_reads'"):
        IsingSampler(device="cpu").sample(dimod.generators.ran_r(1, 12, seed=0), num_reads=10**9, num_sweeps=1)
