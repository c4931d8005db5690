"""Both languages everywhere: messages, plural forms, command names and descriptions."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import pytest

import adapters
import adapters.discord
import domain
from adapters.discord.bot import TrainerBot
from adapters.discord.cogs import default_cogs
from adapters.discord.config import DiscordConfig
from adapters.discord.i18n import error_text, language_of, t
from adapters.discord.i18n.messages import EN, RU
from adapters.discord.i18n.translator import CommandTranslator
from domain.errors import DomainError, NotFound

NAME = re.compile(r"^[-_\w]{1,32}$")


def test_russian_has_every_english_message() -> None:
    assert set(EN) - set(RU) == set()


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("ru", "ru"), ("en-US", "en"), ("en-GB", "en"), ("de", "en"), (None, "en")],
)
def test_locales_map_to_a_supported_language_with_english_as_fallback(
    locale: str | None, lang: str
) -> None:
    assert language_of(locale) == lang
    assert language_of(discord.Locale("ru")) == "ru"


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 пример"), (2, "2 примера"), (5, "5 примеров"), (11, "11 примеров"), (21, "21 пример")],
)
def test_russian_plural_forms(count: int, expected: str) -> None:
    assert t("ru", "dataset.count", count=count) == expected


def test_english_plural_forms_and_unknown_keys() -> None:
    assert t("en", "dataset.count", count=1) == "1 example"
    assert t("en", "dataset.count", count=3) == "3 examples"
    assert t("de", "dataset.count", count=3) == "3 examples"
    assert t("en", "no.such.key") == "no.such.key"


def test_domain_errors_keep_their_details_under_a_translated_heading() -> None:
    error = NotFound("There is no dataset named 'faq'.")
    assert error_text("en", error) == "There is no dataset named 'faq'."
    assert error_text("ru", error) == "**Не найдено.** There is no dataset named 'faq'."


async def translated_payloads() -> list[dict[str, Any]]:
    services = SimpleNamespace(speech=object())
    bot = TrainerBot(services=services, config=DiscordConfig(token="unused"))  # type: ignore[arg-type]
    for factory in default_cogs(bot):
        await bot.add_cog(factory(bot))
    translator = CommandTranslator()
    payloads = []
    for kind in (discord.AppCommandType.chat_input, discord.AppCommandType.message):
        for command in bot.tree.get_commands(type=kind):
            payloads.append(await command.get_translated_payload(bot.tree, translator))
    await bot.close()
    return payloads


def _walk(item: dict[str, Any]) -> list[dict[str, Any]]:
    found = [item]
    for option in item.get("options") or []:
        found.extend(_walk(option))
    return found


async def test_every_command_option_and_description_is_localized_in_russian() -> None:
    payloads = await translated_payloads()
    assert {p["name"] for p in payloads} >= {"ask", "dataset", "train", "Correct this answer"}
    for top in payloads:
        for item in _walk(top):
            ru = item.get("name_localizations", {}).get("ru")
            assert ru, f"{item['name']!r} has no Russian name"
            if item.get("description"):  # context menus have none
                assert item.get("description_localizations", {}).get("ru"), item["name"]
            if top.get("type", 1) == 1:
                assert NAME.fullmatch(ru) and ru == ru.lower(), ru


async def test_localized_names_are_unique_among_siblings() -> None:
    for top in await translated_payloads():
        for item in _walk(top):
            names = [o["name_localizations"]["ru"] for o in item.get("options") or []]
            assert len(names) == len(set(names)), (item["name"], names)


def _domain_error_keys() -> dict[str, str]:
    """Every ``DomainError`` subclass's ``key`` in domain/ and adapters/, with its class."""
    for package in (domain, adapters):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.endswith(".migrations.env"):  # an Alembic script, not a module
                importlib.import_module(module.name)
    keys: dict[str, str] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in ("domain", "adapters"):
            keys.setdefault(cls.key, f"{cls.__module__}.{cls.__qualname__}")
    return keys


def test_every_domain_error_has_a_russian_heading() -> None:
    keys = _domain_error_keys()
    assert {"not_found", "storage_unavailable", "download_failed", "model_checksum"} <= set(keys)
    missing = {cls: f"errors.{key}" for key, cls in keys.items() if f"errors.{key}" not in RU}
    assert missing == {}


_DISCORD = Path(adapters.discord.__file__).parent
_NAMESPACES = {key.split(".")[0] for key in EN}
_KEY = re.compile(r"[a-z_]+(\.[a-z_-]+)+")
_FILE = re.compile(r".*\.(md|txt|json|jsonl|csv|tsv|zip|png|wav|ogg|mp3)")  # names, not keys


def _message_keys_in_the_discord_layer() -> tuple[set[str], set[str]]:
    """String literals that name a message (``"job.done"``), and the fixed starts of keys
    built with f-strings (``f"job.status.{…}"`` gives ``"job.status."``)."""
    keys: set[str] = set()
    prefixes: set[str] = set()
    for path in _DISCORD.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if (
                    _KEY.fullmatch(text)
                    and not _FILE.fullmatch(text)
                    and text.split(".")[0] in _NAMESPACES
                ):
                    keys.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    start = first.value
                    if start.endswith(".") and start.split(".")[0] in _NAMESPACES | {"errors"}:
                        prefixes.add(start)
    return keys, prefixes


def test_every_message_the_discord_layer_names_exists_in_english_and_russian() -> None:
    keys, prefixes = _message_keys_in_the_discord_layer()
    assert {"refused.cooldown", "error.unexpected", "job.done"} <= keys
    assert {"job.status.", "errors."} <= prefixes
    assert sorted(keys - set(EN)) == []
    assert sorted(keys - set(RU)) == []
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in RU), prefix
