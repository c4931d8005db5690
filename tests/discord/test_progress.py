"""One status message, edited at a safe pace, always ending on the final state."""

from __future__ import annotations

import asyncio

from adapters.discord.permissions import Cooldowns
from adapters.discord.progress import LatestEditor
from tests.discord.test_streaming import FakeTime


async def test_only_the_newest_state_is_shown_and_the_final_one_last() -> None:
    time = FakeTime()
    edits: list[tuple[float, str]] = []

    async def edit(content: str) -> None:
        edits.append((time.now, content))

    editor = LatestEditor(edit, interval=1.0, shown="0%", clock=time.clock, sleep=time.sleep)
    editor.show("10%")
    editor.show("20%")
    await asyncio.sleep(0)  # the writer waits out the interval…
    editor.show("30%")  # …and then shows only the newest state
    for _ in range(5):
        await asyncio.sleep(0)
    await editor.close("done")
    assert [content for _, content in edits] == ["30%", "done"]
    assert edits[0][0] >= 1.0 and edits[1][0] - edits[0][0] >= 1.0


async def test_a_failing_edit_does_not_stop_the_editor() -> None:
    time = FakeTime()
    calls: list[str] = []

    async def edit(content: str) -> None:
        calls.append(content)
        if content == "bad":
            raise RuntimeError("Discord said no")

    editor = LatestEditor(edit, interval=1.0, clock=time.clock, sleep=time.sleep)
    editor.show("bad")
    await asyncio.sleep(0)
    await editor.close("final")
    assert calls == ["bad", "final"]


def test_cooldowns_count_per_user() -> None:
    now = [100.0]
    cooldowns = Cooldowns(10.0, clock=lambda: now[0])
    assert cooldowns.hit(1) == 0.0
    assert cooldowns.hit(2) == 0.0
    assert cooldowns.hit(1) == 10.0
    now[0] += 4.0
    assert cooldowns.hit(1) == 6.0  # a refused try does not restart the wait
    now[0] += 6.5
    assert cooldowns.hit(1) == 0.0
    assert cooldowns.hit(1) == 10.0
    assert Cooldowns(0.0).hit(1) == 0.0 and Cooldowns(0.0).hit(1) == 0.0
