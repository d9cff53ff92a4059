"""`gastown-tui demo`: a whole town landing a convoy, with no AI service and no setup."""

from gastown_tui.demo.run import main

__all__ = ["main"]
