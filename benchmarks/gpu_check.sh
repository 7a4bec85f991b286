#!/usr/bin/env bash
# Real-GPU check of solvers.IsingSampler (no simulator), for a GPU machine
# without network access. Run from anywhere; finishes in well under 5 minutes:
#   bash benchmarks/gpu_check.sh
# Wheels for missing packages may be carried in .whl/ at the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
unset NUMBA_ENABLE_CUDASIM

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
python3 -c "from numba import cuda; assert cuda.is_available(), 'no CUDA GPU visible to numba'; cuda.detect()"

echo "== CUDA tests on the real GPU"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_solvers_cuda.py

echo "== benchmark: device=cuda, >= 100,000-variable instances"
timeout 120 python3 benchmarks/bench_sampler.py --device cuda --size 100000 \
    --reads 64 --sweeps 200
