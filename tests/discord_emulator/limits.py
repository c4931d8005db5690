"""Discord's size limits on messages, embeds, components, modals and autocomplete choices.

Violations raise `ApiError` with the same status, code and nested error shape Discord uses,
so the bot sees the `discord.HTTPException` it would see in production.
"""

from __future__ import annotations

from typing import Any

from .errors import FormErrors, empty_message

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
ACTION_ROWS_MAX = 5
ROW_WIDTH_MAX = 5
COMPONENTS_V2_TOTAL_MAX = 40
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
CHOICES_MAX = 25
MODAL_TITLE_MAX = 45
MODAL_COMPONENTS_MAX = 5
TEXT_INPUT_MAX = 4000
IS_COMPONENTS_V2 = 1 << 15

SELECT_TYPES = (3, 5, 6, 7, 8)
Path = tuple[str | int, ...]


def validate_message(body: dict[str, Any], *, creating: bool, has_files: bool) -> None:
    """Checks a message create/edit body (channel message, webhook, interaction callback)."""
    errors = FormErrors()
    flags = int(body.get("flags") or 0)
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        errors.add(("content",), "BASE_TYPE_STRING", "Must be a string.")
    elif content and len(content) > CONTENT_MAX:
        errors.max_length(("content",), CONTENT_MAX)
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        errors.max_length(("embeds",), EMBEDS_MAX)
    total = sum(_check_embed(errors, ("embeds", i), e) for i, e in enumerate(embeds))
    if total > EMBED_TOTAL_MAX:
        errors.add(
            ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    components = body.get("components") or []
    if flags & IS_COMPONENTS_V2:
        if content:
            errors.add(
                ("content",), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2", "Invalid"
            )
        _check_components_v2(errors, components)
    else:
        _check_action_rows(errors, components)
    errors.raise_if_any()
    if creating:
        has_body = content or embeds or components or body.get("sticker_ids") or body.get("poll")
        if not (has_body or has_files or body.get("attachments")):
            raise empty_message()


def _check_embed(errors: FormErrors, path: Path, embed: dict[str, Any]) -> int:
    size = 0
    for key, limit in (("title", EMBED_TITLE_MAX), ("description", EMBED_DESCRIPTION_MAX)):
        text = embed.get(key) or ""
        size += len(text)
        if len(text) > limit:
            errors.max_length((*path, key), limit)
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS_MAX:
        errors.max_length((*path, "fields"), EMBED_FIELDS_MAX)
    for i, item in enumerate(fields):
        for key, limit in (("name", EMBED_FIELD_NAME_MAX), ("value", EMBED_FIELD_VALUE_MAX)):
            text = item.get(key) or ""
            size += len(text)
            if not text:
                errors.required((*path, "fields", i, key))
            elif len(text) > limit:
                errors.max_length((*path, "fields", i, key), limit)
    for key, inner, limit in (
        ("footer", "text", EMBED_FOOTER_MAX),
        ("author", "name", EMBED_AUTHOR_MAX),
    ):
        part = embed.get(key)
        if part is None:
            continue
        text = part.get(inner) or ""
        size += len(text)
        if not text:
            errors.required((*path, key, inner))
        elif len(text) > limit:
            errors.max_length((*path, key, inner), limit)
    return size


def _check_action_rows(errors: FormErrors, rows: list[dict[str, Any]]) -> None:
    if len(rows) > ACTION_ROWS_MAX:
        errors.max_length(("components",), ACTION_ROWS_MAX)
    seen: set[str] = set()
    for r, row in enumerate(rows):
        path: Path = ("components", r)
        if row.get("type") != 1:
            errors.add((*path, "type"), "UNION_TYPE_CHOICES", "Value must be one of {1}.")
            continue
        children = row.get("components") or []
        width = sum(ROW_WIDTH_MAX if c.get("type") in SELECT_TYPES else 1 for c in children)
        if not children:
            errors.bad_length((*path, "components"), 1, ROW_WIDTH_MAX)
        elif width > ROW_WIDTH_MAX:
            errors.add(
                (*path, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for c, child in enumerate(children):
            _check_interactive(errors, (*path, "components", c), child, seen)


def _check_components_v2(errors: FormErrors, components: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    count = 0

    def walk(items: list[dict[str, Any]], path: Path) -> None:
        nonlocal count
        for i, item in enumerate(items):
            count += 1
            here = (*path, i)
            _check_interactive(errors, here, item, seen)
            walk(item.get("components") or [], (*here, "components"))
            accessory = item.get("accessory")
            if accessory:
                count += 1
                _check_interactive(errors, (*here, "accessory"), accessory, seen)

    walk(components, ("components",))
    if count > COMPONENTS_V2_TOTAL_MAX:
        errors.max_length(("components",), COMPONENTS_V2_TOTAL_MAX)


def _check_interactive(
    errors: FormErrors, path: Path, item: dict[str, Any], seen: set[str]
) -> None:
    kind = item.get("type")
    if kind != 2 and kind not in SELECT_TYPES:
        return
    custom_id = item.get("custom_id")
    if kind == 2 and item.get("style") == 5:
        if not item.get("url"):
            errors.required((*path, "url"))
    elif kind == 2 and item.get("style") == 6:
        if not item.get("sku_id"):
            errors.required((*path, "sku_id"))
    elif not custom_id:
        errors.required((*path, "custom_id"))
    if custom_id:
        if len(custom_id) > CUSTOM_ID_MAX:
            errors.max_length((*path, "custom_id"), CUSTOM_ID_MAX)
        if custom_id in seen:
            errors.add(
                (*path, "custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        seen.add(custom_id)
    if kind == 2 and len(item.get("label") or "") > BUTTON_LABEL_MAX:
        errors.max_length((*path, "label"), BUTTON_LABEL_MAX)
    if kind == 3:
        options = item.get("options") or []
        if not 1 <= len(options) <= SELECT_OPTIONS_MAX:
            errors.bad_length((*path, "options"), 1, SELECT_OPTIONS_MAX)


def validate_modal(data: dict[str, Any]) -> None:
    errors = FormErrors()
    custom_id = data.get("custom_id") or ""
    if not 1 <= len(custom_id) <= CUSTOM_ID_MAX:
        errors.bad_length(("data", "custom_id"), 1, CUSTOM_ID_MAX)
    title = data.get("title") or ""
    if not 1 <= len(title) <= MODAL_TITLE_MAX:
        errors.bad_length(("data", "title"), 1, MODAL_TITLE_MAX)
    components = data.get("components") or []
    if not 1 <= len(components) <= MODAL_COMPONENTS_MAX:
        errors.bad_length(("data", "components"), 1, MODAL_COMPONENTS_MAX)
    for i, item in enumerate(components):
        for j, inner in enumerate(modal_inputs(item)):
            _check_text_input(errors, ("data", "components", i, j), inner)
    errors.raise_if_any()


def modal_inputs(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The input components inside one top-level modal component (action row or label)."""
    if item.get("type") == 1:
        return list(item.get("components") or [])
    if item.get("type") == 18 and item.get("component"):
        return [item["component"]]
    return []


def _check_text_input(errors: FormErrors, path: Path, item: dict[str, Any]) -> None:
    if item.get("type") != 4:
        return
    if not 1 <= len(item.get("custom_id") or "") <= CUSTOM_ID_MAX:
        errors.bad_length((*path, "custom_id"), 1, CUSTOM_ID_MAX)
    for key in ("min_length", "max_length"):
        value = item.get(key)
        if value is not None and not 0 <= int(value) <= TEXT_INPUT_MAX:
            errors.add(
                (*path, key),
                "NUMBER_TYPE_MAX",
                f"int value should be less than or equal to {TEXT_INPUT_MAX}.",
            )
    if len(item.get("value") or "") > TEXT_INPUT_MAX:
        errors.max_length((*path, "value"), TEXT_INPUT_MAX)


def validate_choices(data: dict[str, Any]) -> None:
    errors = FormErrors()
    choices = data.get("choices") or []
    if len(choices) > CHOICES_MAX:
        errors.max_length(("data", "choices"), CHOICES_MAX)
    for i, choice in enumerate(choices):
        name = choice.get("name") or ""
        if not 1 <= len(name) <= 100:
            errors.bad_length(("data", "choices", i, "name"), 1, 100)
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            errors.max_length(("data", "choices", i, "value"), 100)
    errors.raise_if_any()
