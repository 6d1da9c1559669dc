#!/usr/bin/env bash
# Makes the Python that the embedding benchmark compares sitechat with: CPU PyTorch and
# sentence-transformers in a virtual environment outside the clone (issue 21: "embedding at
# least as fast as PyTorch on the same CPU, measured side by side in one run"). A benchmark
# dependency only. Prints the environment's python on stdout; everything else goes to stderr.
#
#   TORCH_VENV=DIR   where to install (default ~/.cache/sitechat/venv-torch; about 6 GB, most of it
#                    CUDA's libraries, which the package index's torch for Linux will not import
#                    without even on a CPU)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${TORCH_VENV:-$HOME/.cache/sitechat/venv-torch}"
REQUIREMENTS="$PWD/torch-requirements.txt"

fail() { echo "torch-setup: FAILED: $*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 || fail "python3 is not installed"
stamp="$VENV/.sitechat-requirements"
if ! cmp -s "$REQUIREMENTS" "$stamp" 2>/dev/null \
  || ! "$VENV/bin/python" -c 'import torch, sentence_transformers' >/dev/null 2>&1; then
  echo "torch-setup: installing torch and sentence-transformers into $VENV" >&2
  python3 -m venv "$VENV" || fail "cannot create the virtual environment $VENV"
  "$VENV/bin/python" -m pip install --quiet --requirement "$REQUIREMENTS" >&2 \
    || fail "pip could not install $REQUIREMENTS into $VENV"
  "$VENV/bin/python" -c 'import torch, sentence_transformers' >&2 \
    || fail "torch or sentence-transformers does not import in $VENV"
  cp "$REQUIREMENTS" "$stamp"
fi
echo "$VENV/bin/python"
