#!/usr/bin/env bash
# The GPU checks of the cost work, in one call on a machine with a GPU and no network
# (about 6-9 minutes on one H200). Writes its figures under $OUT (or /tmp/device-check).
#
# That machine has PyTorch, numpy, scipy, Pillow, tqdm and matplotlib, but not ganstudy's
# other needs: bring them as wheels for its Python (3.12 on the H200 image), once, here:
#
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
#       -d .whl pydantic==2.13.4 pydantic-core==2.46.4 annotated-types==0.7.0 typing-inspection==0.4.2 \
#       tomlkit==0.15.2 tomli-w==1.2.0
#
# then run `bash benchmarks/device_check.sh` there with `.whl` carried. The data is the shipped
# mnist-mini (the same shapes as MNIST), so no data folder has to travel.
set -u -o pipefail
OUT=${OUT:-/tmp/device-check}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
MINI=(--set data.dataset=mnist-mini --set data.split=test --set data.holdout=1000)

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/gpu.txt"
python3 -c "import torch, ganstudy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 \
    | tee -a "$OUT/gpu.txt"

# 1. The whole Keras-GAN study stacked on the GPU: each group timed, the study projected at 10 seeds a case.
timeout 240 python3 benchmarks/study_on_device.py studies/keras-gan-mnist.toml --device cuda "${MINI[@]}" \
    --seeds 10 --iterations 50 --json "$OUT/groups-10-seeds.json" 2>&1 | tee "$OUT/study.txt"

# 2. One run and stacked seeds against the best plain loop, on the GPU.
timeout 150 python3 benchmarks/training_speed.py --device cuda --rounds 5 --iterations 40 --seeds 1 5 10 30 2>&1 \
    | tee "$OUT/training_speed.txt"

# 3. A real study end to end on the GPU (short runs): stacking, scoring and the report work there.
timeout 120 python3 -m ganstudy.cli.main run studies/quickstart.toml --out /tmp/quickstart-gpu --device cuda --quiet \
    --set train.iterations=300 2>&1 | tail -5 | tee "$OUT/quickstart.txt"
grep -h "cost (runs" /tmp/quickstart-gpu/report/report.md >> "$OUT/quickstart.txt" 2>/dev/null
# 4. Several worker processes sharing the GPU (small steps are bound by kernel launches, which
#    processes issue in parallel): the same short study with 1 and with 4 workers, 6 seeds.
for w in 1 4; do
    start=$(date +%s.%N)
    timeout 150 python3 -m ganstudy.cli.main run studies/quickstart.toml --out "/tmp/quickstart-gpu-w$w" --device cuda \
        --quiet --workers "$w" --seeds 6 --set train.iterations=1000 --set train.stack=false >/dev/null 2>&1
    echo "workers $w, 12 runs alone on one GPU: rc $? in $(python3 -c "import time; print(round(time.time() - $start, 1))") s" \
        | tee -a "$OUT/workers.txt"
done
echo "done: figures in $OUT"
