"""Example memory: the ``local`` training backend and the hybrid retrieval over it.

One package for both, since they share the on-disk format (:mod:`.layout`).
"""

from adapters.example_memory.backend import LocalTrainingBackend
from adapters.example_memory.retrieval import HybridExampleMemory
from adapters.example_memory.tokenizer import Tokenizer

__all__ = ["HybridExampleMemory", "LocalTrainingBackend", "Tokenizer"]
