"""``trainerbot run``: the bot's main job."""

from __future__ import annotations

import sys

from app.settings import Settings


def run_main(settings: Settings | None = None) -> int:
    settings = settings or Settings()
    if settings.discord.token is not None:
        print(
            "A Discord token is set, but this build has no Discord adapter yet; "
            "unset TRAINERBOT_DISCORD__TOKEN to chat in the terminal.",
            file=sys.stderr,
        )
        return 2
    print(
        "No Discord token set (TRAINERBOT_DISCORD__TOKEN): starting the terminal chat.",
        file=sys.stderr,
    )
    from app.repl import run_repl

    return run_repl(settings)
