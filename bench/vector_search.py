"""Exact vector search through `EmbeddedBackend.search_vectors` vs bare numpy.

Both sides search the same N x D float32 rows (L2-normalised) for the same queries; the
baseline is the least any exact search must do — one matrix-vector product and an
argpartition — so the ratio is the cost of the backend around it (validation, the thread
hop, locking, building hits). Target: <= 1.3x at N = 100,000, D = 384.

    uv run python bench/vector_search.py            # 100,000 x 384
    uv run python bench/vector_search.py --n 20000  # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import numpy as np

from themisgate.themis import ThemisSettings, VectorItem
from themisgate.themis.embedded import EmbeddedBackend

COLLECTION = "bench"


def baseline(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ query
    best = np.argpartition(scores, scores.shape[0] - k)[-k:]
    return best[np.argsort(-scores[best])]


async def run(n: int, dim: int, k: int, queries: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, dim), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    probes = rng.standard_normal((queries, dim), dtype=np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)

    backend = EmbeddedBackend(ThemisSettings(path=":memory:", dimension=dim))
    await backend.start()
    started = time.perf_counter()
    for first in range(0, n, 10_000):
        chunk = rows[first : first + 10_000]
        items = [VectorItem(key=str(first + i), vector=row) for i, row in enumerate(chunk.tolist())]
        await backend.upsert_vectors(COLLECTION, items)
    print(f"inserted {n:,} x {dim} in {time.perf_counter() - started:.1f} s")

    for q in probes[:3]:  # warm up both paths (BLAS threads, caches)
        baseline(rows, q, k)
        await backend.search_vectors(q.tolist(), k, COLLECTION)

    bare: list[float] = []
    ours: list[float] = []
    ours_global: list[float] = []
    for q in probes:
        query = q.tolist()
        t0 = time.perf_counter()
        expected = baseline(rows, q, k)
        t1 = time.perf_counter()
        hits = await backend.search_vectors(query, k, COLLECTION)
        t2 = time.perf_counter()
        await backend.search_vectors(query, k)
        t3 = time.perf_counter()
        bare.append(t1 - t0)
        ours.append(t2 - t1)
        ours_global.append(t3 - t2)
        assert [int(hit.key) for hit in hits] == expected.tolist(), "results differ"
    await backend.close()

    base = statistics.median(bare)
    print(f"numpy matmul + argpartition   median {base * 1e3:8.3f} ms")
    for label, times in (
        ("search_vectors(collection)", ours),
        ("search_vectors(all)", ours_global),
    ):
        median = statistics.median(times)
        print(f"{label:<29} median {median * 1e3:8.3f} ms   ratio {median / base:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="vectors (default 100000)")
    parser.add_argument("--dim", type=int, default=384, help="dimension (default 384)")
    parser.add_argument("--k", type=int, default=10, help="neighbours (default 10)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.dim, args.k, args.queries, args.seed))


if __name__ == "__main__":
    main()
