"""The bot's instructions: markdown files in ``docs/`` cut into pages for ``/help``.

``help.md`` is the English text; ``help.<lang>.md`` next to it (``help.ru.md``)
is used for that language when present.
"""

from __future__ import annotations

import re
from pathlib import Path

from adapters.discord.chunking import split_message

EMBED_LIMIT = 4096
PAGE_LIMIT = 3000  # comfortable to read; well under the embed limit
_SECTION = re.compile(r"^(?=## )", re.MULTILINE)


def paginate(markdown: str, limit: int = PAGE_LIMIT) -> tuple[str, list[str]]:
    """The title (the ``# `` heading) and pages of whole ``## `` sections where possible."""
    text = markdown.strip()
    title = ""
    first, _, rest = text.partition("\n")
    if first.startswith("# "):
        title, text = first[2:].strip(), rest.strip()
    pages: list[str] = []
    current = ""
    for section in (s.strip() for s in _SECTION.split(text)):
        if not section:
            continue
        if len(section) > limit:
            if current:
                pages.append(current)
                current = ""
            pages.extend(split_message(section, limit))
            continue
        candidate = f"{current}\n\n{section}" if current else section
        if len(candidate) > limit:
            pages.append(current)
            current = section
        else:
            current = candidate
    if current:
        pages.append(current)
    return title, pages or [""]


def load_help(path: Path) -> dict[str, tuple[str, list[str]]]:
    """Pages per language found next to ``path`` (``en`` from ``path`` itself)."""
    found: dict[str, tuple[str, list[str]]] = {}
    if path.is_file():
        found["en"] = paginate(path.read_text(encoding="utf-8"))
    for other in sorted(path.parent.glob(f"{path.stem}.*{path.suffix}")):
        lang = other.name[len(path.stem) + 1 : -len(path.suffix)]
        if re.fullmatch(r"[a-z]{2}", lang):
            found[lang] = paginate(other.read_text(encoding="utf-8"))
    return found
