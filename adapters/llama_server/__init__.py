"""The embedded language model: llama.cpp's OpenAI-compatible server as a managed child process."""

from adapters.llama_server.config import LlamaServerConfig, free_port, missing_server_packages
from adapters.llama_server.errors import LocalLlmError
from adapters.llama_server.health import serves_model
from adapters.llama_server.supervisor import LlamaServer

__all__ = [
    "LlamaServer",
    "LlamaServerConfig",
    "LocalLlmError",
    "free_port",
    "missing_server_packages",
    "serves_model",
]
