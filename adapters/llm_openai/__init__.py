"""The language model over an OpenAI-compatible HTTP API."""

from adapters.llm_openai.chat_model import OpenAIChatModel

__all__ = ["OpenAIChatModel"]
