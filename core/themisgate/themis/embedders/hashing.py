"""`hashing`: an embedder that needs no model, no network and no state.

Feature hashing ("the hashing trick"): each text's word unigrams, word bigrams and character
3- to 5-grams are hashed into `dimension` buckets with a hash-derived sign (so collisions
cancel out instead of piling up), each feature family is L2-normalised and weighted, and the
sum is L2-normalised. Texts that share words, word order or word pieces (typos, inflections)
land close together; unrelated texts land near-orthogonal. It is no semantic model, but it is
deterministic everywhere — a vector stored by one process is found by another, on any
machine — which is why it never uses Python's `hash()` (salted per process): words go
through BLAKE2b, character n-grams through an FNV-1a/SplitMix64 rolling hash computed with
numpy over the code points of the whole batch at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]

_WORD = re.compile(r"\w+")
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_BIGRAM_SEED = np.uint64(0x9E3779B97F4A7C15)
_CHAR_NGRAMS = (3, 4, 5)
# relative weight of each feature family after it is normalised on its own
_WEIGHTS = {"words": 1.0, "bigrams": 0.5, "chars": 1.0}
# batches with more characters than this are embedded in a worker thread
_THREAD_THRESHOLD = 200_000


def _splitmix64(x: U64) -> U64:
    """SplitMix64's finaliser: spreads every input bit over every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=1 << 16)
def _word_hash(word: str) -> int:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8, person=b"themisgate-w").digest()
    return int.from_bytes(digest, "little")


def normalise_words(text: str) -> list[str]:
    """Case- and compatibility-folded word tokens, the unit every feature is built from."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


class HashingEmbedder:
    """Deterministic offline embedder; see the module docstring for how and why."""

    name = "hashing"

    def __init__(self, dimension: int = 384) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
            raise ValueError(f"embedder dimension must be a positive integer, got {dimension!r}")
        self.dimension = dimension

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        if sum(len(text) for text in texts) > _THREAD_THRESHOLD:
            matrix = await asyncio.to_thread(self.vectors, texts)
        else:
            matrix = self.vectors(texts)
        rows: list[list[float]] = matrix.tolist()
        return rows

    async def close(self) -> None:
        return None

    def vectors(self, texts: Sequence[str]) -> F64:
        """A (len(texts), dimension) matrix of unit rows; a text without any word character
        (empty, only punctuation) has nothing to hash and gets the zero row."""
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts to embed are strings, got {type(text).__name__}")
        words = [normalise_words(text) for text in texts]
        word_features = _word_features(words)
        total = np.zeros((len(texts), self.dimension))
        for family, (owners, hashes) in (
            ("words", word_features),
            ("bigrams", _bigram_features(*word_features)),
            ("chars", _char_features(words)),
        ):
            total += _WEIGHTS[family] * _unit_rows(self._project(owners, hashes, len(texts)))
        return _unit_rows(total)

    def _project(self, owners: npt.NDArray[np.intp], hashes: U64, rows: int) -> F64:
        """Signed feature hashing: bucket from the hash modulo the dimension, sign from its
        top bit, summed per text with one `bincount` over the whole batch."""
        buckets = (hashes % np.uint64(self.dimension)).astype(np.intp)
        signs = np.where(hashes >> np.uint64(63), -1.0, 1.0)
        flat = np.bincount(owners * self.dimension + buckets, weights=signs)
        out = np.zeros(rows * self.dimension)
        out[: flat.size] = flat
        return out.reshape(rows, self.dimension)


def _word_features(words: list[list[str]]) -> tuple[npt.NDArray[np.intp], U64]:
    owners = np.repeat(np.arange(len(words), dtype=np.intp), [len(w) for w in words])
    hashes = np.fromiter((_word_hash(w) for ws in words for w in ws), dtype=np.uint64)
    return owners, hashes


def _bigram_features(owners: npt.NDArray[np.intp], hashes: U64) -> tuple[npt.NDArray[np.intp], U64]:
    """Adjacent word pairs within one text, from the word features."""
    same_text = owners[:-1] == owners[1:]
    pairs = _splitmix64((hashes[:-1] * _FNV_PRIME) ^ hashes[1:] ^ _BIGRAM_SEED)
    return owners[:-1][same_text], pairs[same_text]


def _char_features(words: list[list[str]]) -> tuple[npt.NDArray[np.intp], U64]:
    """Character n-grams of each text as " word word ", so n-grams at word edges differ
    from those inside words; hashed for the whole batch in a few array operations."""
    padded = [f" {' '.join(ws)} " if ws else "" for ws in words]
    lengths = np.array([len(p) for p in padded], dtype=np.intp)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    all_owners: list[npt.NDArray[np.intp]] = []
    all_hashes: list[U64] = []
    for n in _CHAR_NGRAMS:
        count = codes.size - n + 1
        if count <= 0:
            continue
        h = np.full(count, _FNV_OFFSET ^ np.uint64(n), dtype=np.uint64)
        for offset in range(n):
            h = (h ^ codes[offset : offset + count]) * _FNV_PRIME
        positions = np.arange(count, dtype=np.intp)
        owner = np.searchsorted(starts, positions, side="right") - 1
        inside = positions + n <= ends[owner]
        all_owners.append(owner[inside].astype(np.intp))
        all_hashes.append(_splitmix64(h[inside]))
    if not all_owners:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.uint64)
    return np.concatenate(all_owners), np.concatenate(all_hashes)


def _unit_rows(matrix: F64) -> F64:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: F64 = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit
