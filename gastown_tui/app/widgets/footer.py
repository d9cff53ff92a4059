"""TownFooter: Textual's Footer, recomposed only when the keys it shows change.

The stock Footer rebuilds all its keys (a score of widgets) on every bindings signal: each
focus move, screen push and town snapshot. On the first frame that was six rebuilds, a sixth of
the main thread. This one rebuilds at most once per refresh, and only when a key, its label or
whether it is enabled differs from what is on screen.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class TownFooter(Footer):
    _rebuild_pending = False
    _shown: tuple[object, ...] = ()

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True  # as Footer does: compose() waits for the first signal
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
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def keys_shown(self) -> tuple[object, ...]:
        """Everything compose() reads from the bindings, as one comparable value."""
        return (self.compact, self.show_command_palette, *(
            (binding.key, binding.action, binding.description, binding.show, binding.group,
             enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()))
