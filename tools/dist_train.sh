#!/usr/bin/env bash
# Multi-GPU (or multi-process CPU, gloo) training through torchrun:
#   bash tools/dist_train.sh CONFIG NUM_PROCS [train.py options...]
# NNODES, NODE_RANK, MASTER_ADDR and PORT select a multi-node run.
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-$([[ -x "$REPO/.venv/bin/python" ]] && echo "$REPO/.venv/bin/python" || echo python)}
PYTHONPATH="$REPO:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$REPO/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
