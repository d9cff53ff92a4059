"""NeedsYou: what a person must act on first (model/parts.attention), then the event log with
its routine kinds folded to one line of counts (model/event_filter)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, OptionList, Static
from textual.widgets.option_list import Option

from gastown_tui.model.event_filter import fold_line, routine
from gastown_tui.model.snapshot import AttentionItem, EventView, TownSnapshot
from gastown_tui.widgets.format import ATTENTION_GLYPH, clock_time, short_agent


def attention_prompt(item: AttentionItem) -> Text:
    glyph, style = ATTENTION_GLYPH.get(item.kind, ("•", ""))
    return Text.assemble((glyph + " ", style), item.text, no_wrap=True, overflow="ellipsis")


def event_line(event: EventView) -> str:
    who = short_agent(event.actor)
    return f"{clock_time(event.ts)} {who + ' ' if who else ''}{event.type} {event.summary}".rstrip()


class NeedsYou(Vertical):
    DEFAULT_CSS = """
        NeedsYou #attention {
            text-wrap: nowrap;
            text-overflow: ellipsis;
            height: auto;
            max-height: 60%;
            background: $surface;
            /* a compact OptionList says border: none !important */
            border-bottom: solid $panel-lighten-1 !important;
        }

        NeedsYou.-calm #attention {
            display: none;
        }

        NeedsYou #event-folds {
            height: auto;
            max-height: 2;
            background: $surface;
            color: $text-muted;
            text-style: italic;
        }

        NeedsYou #event-folds.-none {
            display: none;
        }

        NeedsYou #event-log {
            overflow-x: hidden;
            height: 1fr;
            background: $surface;
            color: $text-muted;
        }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-calm")
        self._items: tuple[AttentionItem, ...] | None = None
        self._last_event: EventView | None = None
        self._folds = ""

    def compose(self) -> ComposeResult:
        # The list of what needs you is mounted with its first item: a calm town's first
        # frame has no use for it (composing and styling it, and the other hidden widgets,
        # was ~10 ms of the first frame).
        yield Static("", id="event-folds", classes="-none", markup=False)
        yield Log(max_lines=500, id="event-log")

    @property
    def attention(self) -> OptionList | None:
        """The list of what needs you; None until the first item came."""
        found = self.query_children("#attention")
        return found.first(OptionList) if found else None

    @property
    def selected_item(self) -> AttentionItem | None:
        options = self.attention
        index = None if options is None else options.highlighted
        if self._items is None or index is None or not 0 <= index < len(self._items):
            return None
        return self._items[index]

    def show(self, snapshot: TownSnapshot,
             items: tuple[AttentionItem, ...] | None = None) -> None:
        """`items`: Needs-you as the wall sees it (model/panes.needs_you_seen); the
        snapshot's own list when not given."""
        items = snapshot.needs_you if items is None else items
        if items != self._items:
            prompts = [Option(attention_prompt(i), id=f"{i.kind}:{i.key}") for i in items]
            options = self.attention
            if options is None:
                if items:  # highlights its first
                    self.mount(OptionList(*prompts, id="attention", compact=True), before=0)
            else:
                keep = options.highlighted
                options.clear_options()
                options.add_options(prompts)
                if items:
                    options.highlighted = min(keep or 0, len(items) - 1)
            self._items = items
            self.set_class(not items, "-calm")
        self._append_events(snapshot.events)
        folds = fold_line(snapshot.events)
        if folds != self._folds:
            self._folds = folds
            line = self.query_one("#event-folds", Static)
            line.update(f"routine: {folds}" if folds else "")
            line.set_class(not folds, "-none")

    @property
    def folded(self) -> str:
        """The routine events' counts as shown ('' when none)."""
        return self._folds

    @property
    def event_lines(self) -> tuple[str, ...]:
        """The event log's lines as shown (routine kinds folded away)."""
        return tuple(self.query_one("#event-log", Log).lines)

    def _append_events(self, events: tuple[EventView, ...]) -> None:
        log = self.query_one("#event-log", Log)
        start = 0
        if self._last_event is not None:
            try:
                start = len(events) - events[::-1].index(self._last_event)
            except ValueError:
                log.clear()  # the log was rewritten: show it again from the top
        fresh = events[start:]
        if fresh:
            self._last_event = events[-1]
            shown = [event_line(e) for e in fresh if not routine(e)]
            if not shown:
                return
            log.write_lines(shown)
            # The first write happens before the log has a size; follow the end once it has.
            self.call_after_refresh(log.scroll_end, animate=False)
