"""One cog per feature; each only translates between Discord and a domain service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

if TYPE_CHECKING:
    from adapters.discord.host import BotHost, CogFactory


def default_cogs(bot: BotHost) -> list[CogFactory]:
    """The cogs every bot has; speech only with a speech-to-text adapter."""
    from adapters.discord.cogs.chat import ChatCog
    from adapters.discord.cogs.datasets import DatasetCog
    from adapters.discord.cogs.evaluation import EvaluationCog
    from adapters.discord.cogs.feedback import FeedbackCog
    from adapters.discord.cogs.files import FilesCog
    from adapters.discord.cogs.help import HelpCog
    from adapters.discord.cogs.models import ModelCog
    from adapters.discord.cogs.review import ReviewCog
    from adapters.discord.cogs.speech import SpeechCog
    from adapters.discord.cogs.training import TrainingCog

    factories: list[CogFactory] = [
        HelpCog,
        ChatCog,
        FeedbackCog,
        ReviewCog,
        DatasetCog,
        TrainingCog,
        EvaluationCog,
        ModelCog,
        FilesCog,
    ]
    speech = bot.services.speech
    if speech is not None:

        def speech_cog(b: BotHost) -> commands.Cog:
            return SpeechCog(b, speech)

        factories.append(speech_cog)
    return factories
