#!/usr/bin/env bash
# torch-gpu-check.sh — `estc build --emit torch` on a CUDA device, in one run (a few minutes):
#   1. equality: every stdlib and example fn's generated torch module on the device, forward values
#      and input gradients against estc's CPU back end (and against torch's CPU run of the module),
#   2. Philox draws on the device bit for bit against runtime/philox.ts and runtime/normal.ts,
#   3. torch.compile (where torch has it): no graph break in the generated functions, compiled =
#      eager; on torch 1.x skipped, saying so,
#   4. timing: forward + backward of the generated ReSTE layer against a hand-written
#      torch.autograd.Function, and torch.compile of both where torch has it.
# The GPU machine needs Python with torch (CUDA build), not Node: what only estc can compute (the
# generated modules, the CPU back end's results, the Philox expectations) travels in a pack that
# `--prepare` writes here, on a machine with Node and this repository's node_modules.
#
#   bash bench/torch-gpu-check.sh --prepare-only     # here: writes .torch-gpu-carry/ (git-ignored)
#   bash bench/torch-gpu-check.sh                    # there, in a copy of the tree with .torch-gpu-carry/
#   bash bench/torch-gpu-check.sh --prepare --device cpu   # here, the whole check on the CPU path
#
# Options:
#   --prepare        write the pack first (needs node and node_modules; builds dist/)
#   --prepare-only   write the pack and stop
#   --pack DIR       the pack folder (default .torch-gpu-carry)
#   --device D       cuda (default where torch sees a GPU), cuda:1, cpu
#   --out DIR        where the report goes (default bench/results): torch-gpu-check-DEVICE.json and .md
#   --n N            ReSTE layer size (default 2^26 on CUDA, 2^20 on the CPU)
#   --seconds S      time each timing variant at least S seconds (default 2)
#   --files "A B"    prepare only these .est files (repository-relative; default every stdlib
#                    module and example)
# Environment: ESTC_TORCH_PYTHON, the Python that imports torch (default: the first of python3 on
# PATH and /usr/bin/python3 that does). Exit status: 0 when every check passed, 1 when one failed,
# 2 for a usage or setup error.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
die() { echo "torch-gpu-check: $*" >&2; exit 2; }

PREPARE=0 ONLY=0 PACK=$ROOT/.torch-gpu-carry DEVICE="" OUT=$ROOT/bench/results N=0 SECONDS_EACH=2 FILES=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prepare) PREPARE=1 ;;
    --prepare-only) PREPARE=1 ONLY=1 ;;
    --pack) PACK=$(realpath -m "$2"); shift ;;
    --device) DEVICE=$2; shift ;;
    --out) OUT=$(realpath -m "$2"); shift ;;
    --n) N=$2; shift ;;
    --seconds) SECONDS_EACH=$2; shift ;;
    --files) FILES=$2; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

if [[ $PREPARE == 1 ]]; then
  command -v node >/dev/null 2>&1 || die "--prepare needs node (run it on a machine with Node 20 and npm ci done)"
  [[ -d node_modules/vite ]] || die "--prepare needs node_modules (npm ci)"
  echo "== preparing the pack in $PACK"
  # shellcheck disable=SC2086
  node bench/torch-pack.mjs "$PACK" $FILES
  [[ $ONLY == 1 ]] && { echo "copy $PACK to the GPU machine beside the tree, then run: bash bench/torch-gpu-check.sh"; exit 0; }
fi
[[ -f "$PACK/manifest.json" ]] || die "no pack in $PACK: run 'bash bench/torch-gpu-check.sh --prepare-only' on a machine with Node first"

PYTHON=${ESTC_TORCH_PYTHON:-}
if [[ -z "$PYTHON" ]]; then
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch" >/dev/null 2>&1; then PYTHON=$p; break; fi
  done
fi
[[ -n "$PYTHON" ]] || die "no Python here imports torch (set ESTC_TORCH_PYTHON)"
"$PYTHON" -c "import torch; print(f'torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}' + (f', {torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}' if torch.cuda.is_available() else ''))"
ARGS=(--pack "$PACK" --out "$OUT" --n "$N" --seconds "$SECONDS_EACH")
[[ -n "$DEVICE" ]] && ARGS+=(--device "$DEVICE")
exec "$PYTHON" bench/torch-gpu-check.py "${ARGS[@]}"
