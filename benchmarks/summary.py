"""Summary stage timings: the offline workflow per reference transcript, and the embedding backend.

Prints: model load, cold and warm ``run_summary`` per transcript with per-node times, and the
numpy MiniLM port against sentence-transformers (import + load + encode) as a ratio in the same run.
Run: ``.venv/bin/python benchmarks/summary.py``
"""

from __future__ import annotations

import json
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1] / "tests" / "data" / "transcripts"


def main() -> None:
    started = time.perf_counter()
    from agentflow.workflows import run_summary
    from agentflow.workflows.providers.minilm import load_minilm, model_dir

    print(f"import agentflow.workflows: {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    model = load_minilm()
    numpy_load = time.perf_counter() - started
    print(f"numpy MiniLM load (incl. SHA-256 check): {numpy_load:.2f} s")

    for path in sorted(SHARED.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        people = [{"name": n, "role": r} for r, n in data["participants"].items()]
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            summary = run_summary(
                utterances=data["utterances"], participants=people, duration=data["utterances"][-1]["end"]
            )
            runs.append(time.perf_counter() - t)
        nodes = ", ".join(f"{x['node']} {x['seconds']:.2f}" for x in summary["timings"])
        print(
            f"{data['name']}: {len(data['utterances'])} turns, first {runs[0]:.2f} s, again {runs[1]:.2f} s ({nodes})"
        )

    texts = [
        u["text"]
        for p in sorted(SHARED.glob("*.json"))
        for u in json.loads(p.read_text("utf-8"))["utterances"]
    ]
    t = time.perf_counter()
    model.encode(texts)
    numpy_encode = time.perf_counter() - t

    t = time.perf_counter()
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir()), device="cpu")
    st_load = time.perf_counter() - t
    t = time.perf_counter()
    st.encode(texts, normalize_embeddings=True)
    st_encode = time.perf_counter() - t
    print(
        f"encode {len(texts)} utterances: numpy {numpy_encode:.2f} s, sentence-transformers {st_encode:.2f} s"
    )
    print(
        f"import+load: numpy {numpy_load:.2f} s, sentence-transformers {st_load:.2f} s "
        f"(ratio {st_load / max(numpy_load, 1e-9):.1f}x)"
    )


if __name__ == "__main__":
    main()
