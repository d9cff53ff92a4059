"""The control room: a Textual app over a live town. Build it with `make_app`."""

from gastown_tui.app.factory import make_app

__all__ = ["make_app"]
