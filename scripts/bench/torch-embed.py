"""PyTorch's side of the embedding benchmark (issue 21): sentence-transformers embeds texts.

Run by `cargo bench -p sitechat-embed --bench embed` when SITECHAT_TORCH_PYTHON names a Python
that has torch and sentence-transformers (scripts/bench/torch-setup.sh makes one, outside the
clone). It is a benchmark dependency only; sitechat never runs Python.

    python torch-embed.py MODEL_DIR TEXTS_JSON RUNS

MODEL_DIR is the all-MiniLM-L6-v2 folder that `make models` unpacks (a sentence-transformers
model folder). TEXTS_JSON holds a list of strings. The texts are embedded in one `encode` call
(batch size 32, as sitechat's sub-batches), once to warm up and then RUNS times; the script
prints one JSON object: the median seconds per call, the number of texts, and torch's threads.
"""

import json
import os
import statistics
import sys
import time


def main() -> None:
    model_dir, texts_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    import torch
    from sentence_transformers import SentenceTransformer

    # As many threads as sitechat's rayon pool: one per CPU.
    torch.set_num_threads(os.cpu_count() or 1)
    with open(texts_path, encoding="utf-8") as f:
        texts = json.load(f)
    model = SentenceTransformer(model_dir, device="cpu")
    # sitechat truncates at 256 tokens, as the model's sentence-transformers config does.
    model.max_seq_length = 256

    def once() -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            model.encode(texts, batch_size=32, normalize_embeddings=True)
        return time.perf_counter() - t

    once()  # warm-up
    seconds = statistics.median(once() for _ in range(runs))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "texts": len(texts),
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
