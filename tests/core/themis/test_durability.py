"""An acknowledged write survives kill -9.

A child process writes documents, vector batches and edges to an EmbeddedBackend as fast as
it can and prints one line per acknowledged (awaited) write. Once enough acknowledgements
have arrived, the parent SIGKILLs it mid-stream — no close(), no checkpoint, no atexit —
reopens the file, and looks for every write the child acknowledged.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from themisgate.themis import ThemisSettings, TraversalQuery
from themisgate.themis.embedded import EmbeddedBackend

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from themisgate.themis import Edge, ThemisSettings, VectorItem
    from themisgate.themis.embedded import EmbeddedBackend

    async def main(path):
        backend = EmbeddedBackend(ThemisSettings(path=path, dimension=8))
        await backend.start()
        print("ready", flush=True)
        for n in range(1_000_000):
            await backend.put_document("docs", f"d{n}", {"n": n, "pad": "x" * (n % 300)})
            print(f"doc {n}", flush=True)
            if n % 3 == 0:
                batch = [
                    VectorItem(key=f"v{n}-{i}", vector=[float(n), float(i), 1, 0, 0, 0, 0, 1])
                    for i in range(4)
                ]
                await backend.upsert_vectors("vecs", batch)
                print(f"vectors {n}", flush=True)
            if n % 5 == 0:
                await backend.add_edge(Edge(id=f"e{n}", source=f"d{n}", target=f"d{n + 1}"))
                print(f"edge {n}", flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)

ACKS_BEFORE_KILL = 400


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "db" / "themis.db"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    try:
        for line in child.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) >= ACKS_BEFORE_KILL:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        rest, errors = child.communicate(timeout=30)
    # lines printed before the kill are still in the pipe; a line cut off mid-write is not
    # an acknowledgement
    acknowledged += [line.strip() for line in rest.splitlines(keepends=True) if line.endswith("\n")]
    assert child.returncode == -signal.SIGKILL, f"the writer did not run until killed: {errors}"
    assert acknowledged[0] == "ready"
    assert len(acknowledged) >= ACKS_BEFORE_KILL, f"too few acknowledgements: {errors}"
    assert os.path.getsize(f"{path}-wal") > 0, "the writes should still be in the WAL"

    docs = [int(line.split()[1]) for line in acknowledged if line.startswith("doc ")]
    vectors = [int(line.split()[1]) for line in acknowledged if line.startswith("vectors ")]
    edges = [int(line.split()[1]) for line in acknowledged if line.startswith("edge ")]
    assert docs == list(range(len(docs))), "acknowledgements arrive in order"
    assert vectors
    assert edges

    asyncio.run(_check_everything_is_there(str(path), docs, vectors, edges))


async def _check_everything_is_there(
    path: str, docs: list[int], vectors: list[int], edges: list[int]
) -> None:
    async with EmbeddedBackend(ThemisSettings(path=path)) as backend:
        found = await backend.get_documents("docs", [f"d{n}" for n in docs])
        missing = [n for n in docs if f"d{n}" not in found]
        assert not missing, f"acknowledged documents lost after kill -9: {missing[:10]}"
        for n in docs:
            assert found[f"d{n}"] == {"n": n, "pad": "x" * (n % 300)}

        info = await backend.index_info()
        assert info.dimension == 8
        stored = set(backend.vector_keys())
        lost = [n for n in vectors if any(("vecs", f"v{n}-{i}") not in stored for i in range(4))]
        assert not lost, f"acknowledged vector batches lost after kill -9: {lost[:10]}"
        last = vectors[-1]
        hits = await backend.search_vectors([float(last), 3.0, 1, 0, 0, 0, 0, 1], 1, "vecs")
        assert hits[0].distance < 1e-6

        walk = await backend.traverse(TraversalQuery(start=f"d{edges[-1]}", max_depth=1))
        assert walk.vertices == [f"d{edges[-1]}", f"d{edges[-1] + 1}"]
        stats = await backend.stats()
        assert stats["storage"]["edges"] >= len(edges)
