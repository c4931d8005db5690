"""Application commands: Discord's validation rules and the registry the bot syncs into."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable
from typing import Any

from .errors import FormErrors

CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
MAX_PER_TYPE = {CHAT_INPUT: 100, USER_COMMAND: 15, MESSAGE_COMMAND: 15}
LOCALES = frozenset(
    {
        *("id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu"),
        *("nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru"),
        *("uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko"),
    }
)
Path = tuple[str | int, ...]


def _valid_chat_name(name: str) -> bool:
    if not 1 <= len(name) <= 32 or name != name.lower():
        return False
    return all(
        ch.isalnum() or ch in "-_'" or unicodedata.category(ch).startswith("M") for ch in name
    )


def _check_name(errors: FormErrors, path: Path, name: Any, *, chat: bool) -> None:
    if not isinstance(name, str) or not (_valid_chat_name(name) if chat else 1 <= len(name) <= 32):
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_description(errors: FormErrors, path: Path, text: Any, *, required: bool) -> None:
    if not isinstance(text, str):
        errors.add(path, "BASE_TYPE_STRING", "Must be a string.")
    elif required and not 1 <= len(text) <= 100:
        errors.bad_length(path, 1, 100)
    elif not required and text:
        errors.add(
            path,
            "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
            "Context menu commands cannot have a description",
        )


def _check_localizations(
    errors: FormErrors, path: Path, value: Any, check: Callable[[FormErrors, Path, Any], None]
) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    for locale, text in value.items():
        if locale not in LOCALES:
            errors.add(
                (*path, locale), "ENUM_TYPE_COERCE", f'Value "{locale}" is not a valid enum value.'
            )
        else:
            check(errors, (*path, locale), text)


def _check_texts(errors: FormErrors, path: Path, item: dict[str, Any], *, chat: bool) -> None:
    _check_name(errors, (*path, "name"), item.get("name"), chat=chat)
    _check_description(errors, (*path, "description"), item.get("description", ""), required=chat)

    def name_rule(e: FormErrors, p: Path, v: Any) -> None:
        _check_name(e, p, v, chat=chat)

    def description_rule(e: FormErrors, p: Path, v: Any) -> None:
        _check_description(e, p, v, required=True)

    _check_localizations(
        errors, (*path, "name_localizations"), item.get("name_localizations"), name_rule
    )
    _check_localizations(
        errors,
        (*path, "description_localizations"),
        item.get("description_localizations"),
        description_rule,
    )


def _check_options(
    errors: FormErrors, path: Path, options: list[dict[str, Any]], *, depth: int
) -> None:
    if len(options) > 25:
        errors.max_length(path, 25)
    names: set[str] = set()
    seen_optional = False
    kinds = {o.get("type") for o in options}
    if kinds & {SUB_COMMAND, SUB_COMMAND_GROUP} and kinds - {SUB_COMMAND, SUB_COMMAND_GROUP}:
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are exclusive to all other types",
        )
    for i, option in enumerate(options):
        here = (*path, i)
        kind = option.get("type")
        _check_texts(errors, here, option, chat=True)
        if option.get("name") in names:
            errors.add(
                (*here, "name"),
                "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                "Option names must be unique",
            )
        names.add(option.get("name", ""))
        if (kind == SUB_COMMAND_GROUP and depth > 0) or (kind == SUB_COMMAND and depth > 1):
            errors.add(
                (*here, "type"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-commands nest too deep",
            )
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _check_options(errors, (*here, "options"), option.get("options") or [], depth=depth + 1)
            continue
        if not isinstance(kind, int) or not 3 <= kind <= 11:
            errors.add((*here, "type"), "BASE_TYPE_CHOICES", "Value must be one of {3, ..., 11}.")
        if option.get("required"):
            if seen_optional:
                errors.add(
                    (*here, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = option.get("choices") or []
        if choices and option.get("autocomplete"):
            errors.add(
                (*here, "autocomplete"),
                "AUTOCOMPLETE_AND_CHOICES",
                "Autocomplete cannot be used with choices",
            )
        if len(choices) > 25:
            errors.max_length((*here, "choices"), 25)
        for c, choice in enumerate(choices):
            if not 1 <= len(choice.get("name") or "") <= 100:
                errors.bad_length((*here, "choices", c, "name"), 1, 100)


def validate_commands(commands: Any) -> None:
    """Raises Discord's 400 / 50035 for anything Discord would refuse in a bulk overwrite."""
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        errors.raise_if_any()
    counts: dict[int, int] = {}
    seen: set[tuple[int, str]] = set()
    for i, command in enumerate(commands):
        if not isinstance(command, dict):
            errors.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        kind = command.get("type", CHAT_INPUT)
        counts[kind] = counts.get(kind, 0) + 1
        _validate_one(errors, (i,), command)
        key = (kind, command.get("name", ""))
        if key in seen:
            errors.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        seen.add(key)
    for kind, count in counts.items():
        if count > MAX_PER_TYPE.get(kind, 0):
            errors.add(
                (),
                "APPLICATION_COMMANDS_MAX_EXCEEDED",
                f"Maximum number of application commands reached ({MAX_PER_TYPE.get(kind, 0)})",
            )
    errors.raise_if_any()


def _validate_one(errors: FormErrors, path: Path, command: dict[str, Any]) -> None:
    kind = command.get("type", CHAT_INPUT)
    if kind not in MAX_PER_TYPE:
        errors.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
        return
    _check_texts(errors, path, command, chat=kind == CHAT_INPUT)
    options = command.get("options") or []
    if kind != CHAT_INPUT and options:
        errors.add(
            (*path, "options"),
            "APPLICATION_COMMAND_OPTIONS_INVALID",
            "Context menu commands cannot have options",
        )
    _check_options(errors, (*path, "options"), options, depth=0)


class CommandRegistry:
    """Global and per-guild commands, with ids that survive re-syncs of the same name."""

    def __init__(self, *, application_id: int, next_id: Callable[[], int]) -> None:
        self.application_id = application_id
        self._next_id = next_id
        self._ids: dict[tuple[int | None, int, str], int] = {}
        self._commands: dict[int | None, list[dict[str, Any]]] = {}
        self.sync_count = 0

    def commands(self, guild_id: int | None) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get(guild_id, []))

    def overwrite(
        self, guild_id: int | None, payload: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        validate_commands(payload)
        self._commands[guild_id] = [self._stored(guild_id, c) for c in payload]
        self.sync_count += 1
        return self.commands(guild_id)

    def upsert(self, guild_id: int | None, command: dict[str, Any]) -> dict[str, Any]:
        validate_commands([command])
        stored = self._stored(guild_id, command)
        current = [c for c in self._commands.get(guild_id, []) if c["id"] != stored["id"]]
        self._commands[guild_id] = [*current, stored]
        return copy.deepcopy(stored)

    def get(self, guild_id: int | None, command_id: int) -> dict[str, Any] | None:
        return next(
            (c for c in self._commands.get(guild_id, []) if int(c["id"]) == command_id), None
        )

    def delete(self, guild_id: int | None, command_id: int) -> bool:
        before = self._commands.get(guild_id, [])
        self._commands[guild_id] = [c for c in before if int(c["id"]) != command_id]
        return len(before) != len(self._commands[guild_id])

    def find(self, name: str, kind: int, guild_id: int | None) -> dict[str, Any] | None:
        """The command a user can see in this place: guild commands first, then global."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self._commands.get(scope, []):
                if command["name"] == name and command["type"] == kind:
                    return command
        return None

    def _stored(self, guild_id: int | None, command: dict[str, Any]) -> dict[str, Any]:
        kind = command.get("type", CHAT_INPUT)
        key = (guild_id, kind, command["name"])
        if key not in self._ids:
            self._ids[key] = self._next_id()
        stored: dict[str, Any] = {
            "id": str(self._ids[key]),
            "application_id": str(self.application_id),
            "version": str(self._next_id()),
            "type": kind,
            "name": command["name"],
            "name_localizations": command.get("name_localizations"),
            "description": command.get("description", ""),
            "description_localizations": command.get("description_localizations"),
            "default_member_permissions": command.get("default_member_permissions"),
            "nsfw": bool(command.get("nsfw", False)),
            "integration_types": command.get("integration_types") or [0],
            "contexts": command.get("contexts"),
            "options": copy.deepcopy(command.get("options") or []),
        }
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        else:
            stored["dm_permission"] = command.get("dm_permission", True)
        return stored
