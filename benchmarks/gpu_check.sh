#!/usr/bin/env bash
# Real-GPU check of qubo_bnn_solvers.IsingSampler (no simulator), for a GPU machine
# without network access; about 4 minutes (each step has a timeout). Run from anywhere:
#   bash benchmarks/gpu_check.sh
# Wheels for packages that machine lacks go in .whl/ at the repository root
# (bash benchmarks/fetch_gpu_wheels.sh fetches them). Where $OUT is set, the
# log is also written to $OUT/gpu_check.log.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${OUT:-}" ]; then exec > >(tee "$OUT/gpu_check.log") 2>&1; fi

install() {
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site "$@"
}
if compgen -G ".whl/*.whl" > /dev/null; then install .whl/*.whl; fi
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# numba-cuda's real-GPU target fails to load with numpy >= 2.5 (np.row_stack)
if ! python3 -c "from numba.cuda.np import arrayobj" 2> /dev/null \
        && compgen -G ".whl/numpy/*.whl" > /dev/null; then
    echo "numba-cuda does not load with this numpy; installing the carried one"
    install .whl/numpy/*.whl
fi
unset NUMBA_ENABLE_CUDASIM

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
python3 -c "import numba, numba_cuda, numpy, dimod; print('numba', numba.__version__, \
'numba-cuda', numba_cuda.__version__, 'numpy', numpy.__version__, 'dimod', dimod.__version__)"
python3 -c "from numba import cuda; assert cuda.is_available(), 'no CUDA GPU visible to numba'; cuda.detect()"

echo "== CUDA tests on the real GPU"
timeout 120 python3 -m pytest -q -p no:cacheprovider -rs tests/test_solvers_cuda.py || echo "!! step failed"

echo "== time to neal's median energy, >= 100,000-variable training BQM"
timeout 180 python3 benchmarks/bench_sampler.py --device cuda --mode ttt \
    --instances training --size 100000 --reads 32 --sweeps 500 || echo "!! step failed"

echo "== kernel work-split settings (same samples, time only)"
timeout 90 python3 benchmarks/tune_cuda.py --size 100000 --reads 32 --sweeps 200 || echo "!! step failed"

echo "== end to end: qubo-bnn train --config examples/configs/gpu.toml"
timeout 60 python3 -c "import sys; from qubo_bnn.cli import main; sys.exit(main(sys.argv[1:]))" \
    train --config examples/configs/gpu.toml || echo "!! step failed"

echo "== flip rate, >= 100,000-spin planted frustrated loop"
timeout 90 python3 benchmarks/bench_sampler.py --device cuda --mode rate \
    --instances loop --size 100000 --reads 16 --sweeps 200 || echo "!! step failed"
