"""Looking messages up: ``t(lang, key, **params)`` with English as the fallback."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from adapters.discord.i18n.messages import MESSAGES
from domain.errors import DomainError

DEFAULT = "en"
LANGUAGES = tuple(MESSAGES)


def language_of(locale: discord.Locale | str | None) -> str:
    """``"ru"`` for ``ru``, ``"en"`` for ``en-US``/``en-GB`` and for anything unsupported."""
    if locale is None:
        return DEFAULT
    code = str(getattr(locale, "value", locale)).split("-")[0].lower()
    return code if code in MESSAGES else DEFAULT


def lang_of(interaction: discord.Interaction[Any]) -> str:
    """The language of the person interacting (their Discord client's locale)."""
    return language_of(interaction.locale)


def guild_lang(guild: discord.Guild | None) -> str:
    """For messages (no user locale): the server's preferred locale."""
    return language_of(guild.preferred_locale) if guild is not None else DEFAULT


def _plural(lang: str, count: int, forms: Sequence[str]) -> str:
    if lang == "ru" and len(forms) == 3:
        tens, units = count % 100, count % 10
        if units == 1 and tens != 11:
            return forms[0]
        if 2 <= units <= 4 and not 12 <= tens <= 14:
            return forms[1]
        return forms[2]
    return forms[0] if count == 1 else forms[-1]


class _Formatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "{" + key + "}")
        return super().get_value(key, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.startswith("plural:"):
            try:
                count = int(value)
            except (TypeError, ValueError):
                count = 0
            return _plural(self.lang, count, format_spec[len("plural:") :].split("|"))
        return str(super().format_field(value, format_spec))


def t(lang: str, key: str, **params: object) -> str:
    """The message ``key`` in ``lang`` (else English, else the key itself)."""
    template = MESSAGES.get(lang, {}).get(key)
    if template is None:
        lang, template = DEFAULT, MESSAGES[DEFAULT].get(key, key)
    return _Formatter(lang).format(template, **params)


def error_text(lang: str, error: DomainError) -> str:
    """A domain error for a user: its message, after a translated heading if not English."""
    if lang == DEFAULT:
        return error.user_message
    table = MESSAGES.get(lang, {})
    heading = table.get(f"errors.{error.key}") or table.get("errors.error")
    return f"**{heading}** {error.user_message}" if heading else error.user_message
