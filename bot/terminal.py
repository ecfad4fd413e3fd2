"""The terminal under `python -m bot chat`: lines typed in, answers and pushes printed out, a
push never cutting into the line being typed."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from typing import TextIO


class Terminal:
    """The chat's screen. At a terminal a push is printed above the line being typed, and the
    prompt with what was typed so far is drawn again under it (readline keeps the line), so a
    push never cuts into the input; elsewhere (a pipe) lines are printed as they come."""

    def __init__(
        self,
        prompt: str,
        stream: TextIO | None = None,
        *,
        typed: Callable[[], str] | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.prompt = prompt
        self.stream = stream or sys.stdout
        self.typed = typed or _readline_buffer
        self.interactive = self.stream.isatty() if interactive is None else interactive

    def show(self, text: str) -> None:
        """An answer: the member pressed enter, so the cursor is on a fresh line."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def interrupt(self, text: str) -> None:
        """A push, arriving while the prompt may hold a half-typed line."""
        if not self.interactive:
            self.show(text)
            return
        # Carriage return and erase the line, the push, then the prompt and the typed text.
        self.stream.write(f"\r\x1b[K{text}\n{self.prompt}{self.typed()}")
        self.stream.flush()


def _readline_buffer() -> str:
    try:
        import readline
    except ImportError:  # no readline (Windows): the typed text cannot be redrawn
        return ""
    return readline.get_line_buffer()


async def stdin_lines(prompt: str, interactive: bool) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (input() then keeps the typed line for redrawing)
    while True:
        if interactive:
            try:
                line = await loop.run_in_executor(None, input, prompt)
            except EOFError:
                return
            yield line
            continue
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line
