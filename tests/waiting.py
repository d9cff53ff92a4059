"""Polling for a condition with a deadline: the tests' one way to wait (no fixed sleeps)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition",
             poll: float = 0.05) -> Any:
    """condition()'s first truthy value, or AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


async def wait_for_async(condition: Callable[[], Any], pause: Callable[[], Awaitable[Any]],
                         timeout: float = 30.0, what: str = "condition",
                         detail: Callable[[], str] = lambda: "") -> Any:
    """wait_for inside an event loop: `pause` lets the loop run (a Pilot's pause); `detail`
    adds what the failure message should show (the screen, say)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = detail()
            raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                                 + (f"; {extra}" if extra else ""))
        await pause()


async def until(pilot: Any, condition: Callable[[], Any], timeout: float = 20.0,
                what: str = "condition") -> Any:
    """wait_for_async while a Pilot's app keeps running; a failure shows the screen."""
    from gastown_tui.widgets.textual_internals import screen_text

    return await wait_for_async(condition, lambda: pilot.pause(0.1), timeout, what,
                                detail=lambda: f"the screen:\n{screen_text(pilot.app)}")
