"""Languages: the message catalog (``t``), locales, and the command translator."""

from adapters.discord.i18n.catalog import (
    DEFAULT,
    LANGUAGES,
    error_text,
    guild_lang,
    lang_of,
    language_of,
    t,
)

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "error_text",
    "guild_lang",
    "lang_of",
    "language_of",
    "t",
]
