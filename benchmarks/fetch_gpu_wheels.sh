#!/usr/bin/env bash
# Download, into .whl/ (git-ignored), the wheels that the GPU machine lacks.
# That machine runs Python 3.12 on x86-64 with numpy, numba, numba-cuda,
# scipy, networkx, scikit-learn, tqdm and pytest installed, and has no
# network; benchmarks/gpu_check.sh installs what it finds in .whl/.
# numpy 2.5 removed np.row_stack, which numba-cuda <= 0.30.4 still uses when
# it compiles for a real GPU; .whl/numpy/ holds a numpy 2.4 that gpu_check.sh
# installs only where numba-cuda fails to load with the machine's numpy.
#   bash benchmarks/fetch_gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "dimod==0.12.23" "dwave-samplers==1.8.0"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 \
    -d .whl/numpy "numpy==2.4.6"
ls -lR .whl
