"""TownFooter: Textual's Footer, rebuilt only when the keys it shows change.

The stock Footer rebuilds all its keys (a score of widgets, each styled twice as it mounts) on
every bindings signal: each focus move, screen push and town snapshot. On the first frame that
was six rebuilds, a sixth of the main thread. This one rebuilds at most once per refresh, only
when a key or its label changed; when only whether keys are enabled changed (the selection
moved), it flips those keys in place.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.screen import Screen
from textual.widgets import Footer

from gastown_tui.widgets.textual_internals import (
    FooterKey,
    footer_bindings_ready,
    set_footer_key_enabled,
)

PINNED = ("help", "quit")


class TownFooter(Footer):
    _rebuild_pending = False
    _shown: tuple[object, ...] = ()

    DEFAULT_CSS = """
    TownFooter HorizontalGroup.-pinned {
        dock: right;
        width: auto;
        height: 1;
        background: $footer-background;
    }
    """

    def compose(self) -> ComposeResult:
        pinned: list[FooterKey] = []
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # Born with the class its compact watcher would add after mounting: that late
                # add restyled every key once more.
                widget.set_class(self.compact, "-compact", update=False)
                if widget.action in PINNED:
                    pinned.append(widget)
                    continue
            yield widget
        if pinned:
            # Help and quit on the right, always: on a narrow terminal the verbs are cut,
            # never the two keys that explain the rest and get you out.
            yield HorizontalGroup(*pinned, classes="-pinned")

    def bindings_changed(self, screen: Screen) -> None:
        footer_bindings_ready(self)  # as Footer does: compose() waits for the first signal
        if not screen.app.app_focus or self._rebuild_pending:
            return
        if self.is_attached and screen is self.screen:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._rebuild_pending = False
        if not self.is_attached:
            return
        shown = self.keys_shown()
        if shown == self._shown:
            return
        same_keys = _without_enabled(shown) == _without_enabled(self._shown)
        self._shown = shown
        if same_keys:
            self._set_enabled()
        else:
            await self.recompose()

    def keys_shown(self) -> tuple[tuple[object, ...], ...]:
        """Everything compose() reads from the bindings, as one comparable value."""
        return ((self.compact, self.show_command_palette), *(
            (binding.key, binding.action, binding.description, binding.show, binding.group,
             tooltip, enabled)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()))

    def _set_enabled(self) -> None:
        enabled = {binding.key: on for _node, binding, on, _tip
                   in self.screen.active_bindings.values()}
        for key in self.query(FooterKey):
            on = enabled.get(key.key)
            if on is not None:
                set_footer_key_enabled(key, on)


def _without_enabled(shown: tuple[tuple[object, ...], ...]) -> tuple[tuple[object, ...], ...]:
    return tuple(entry[:-1] for entry in shown[1:]) + shown[:1]
