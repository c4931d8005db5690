"""The ``openai`` training backend: fine-tuning jobs at an OpenAI-compatible provider."""

from adapters.finetune_openai.backend import OpenAIFineTuningBackend

__all__ = ["OpenAIFineTuningBackend"]
