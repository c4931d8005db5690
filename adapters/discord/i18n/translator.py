"""Command names, descriptions and option names in the users' languages.

discord.py asks the translator once per string and locale when the tree is synced;
Discord then shows each user the command in their client's language.
"""

from __future__ import annotations

from discord import Locale, app_commands
from discord.app_commands import TranslationContextLocation as Where

from adapters.discord.i18n.catalog import DEFAULT, language_of
from adapters.discord.i18n.commands import COMMAND_TEXT

_NAMES = {Where.command_name, Where.group_name, Where.parameter_name}
_TEXTS = {
    Where.command_description,
    Where.group_description,
    Where.parameter_description,
    Where.choice_name,
}


class CommandTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        lang = language_of(locale)
        table = COMMAND_TEXT.get(lang)
        if lang == DEFAULT or table is None:
            return None
        english = string.message
        if context.location is Where.parameter_name:
            command = getattr(context.data, "command", None)
            qualified = getattr(command, "qualified_name", "")
            return table.names.get(f"{qualified}.{english}") or table.names.get(english)
        if context.location in _NAMES:
            return table.names.get(english)
        if context.location in _TEXTS:
            return table.texts.get(english)
        return None
