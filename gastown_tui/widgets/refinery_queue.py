"""RefineryQueue: open merge requests in processing order, and the running gate's output.

Its screen binds the verbs on the MR under the cursor (r retry, x reject) and reads
`selected_mr`; the queue itself only draws."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

from gastown_tui.model.snapshot import MergeView, RefineryView, TownSnapshot
from gastown_tui.widgets.format import STAGE_STYLE, age, stage_label
from gastown_tui.widgets.row_table import RowTable

COLUMNS = (("pos", "#"), ("mr", "MR"), ("stage", "stage"), ("age", "age"), ("retries", "↻"),
           ("issue", "issue"))


def mr_cells(mr: MergeView, now: datetime) -> tuple[Text, ...]:
    stage = stage_label(mr.stage)
    since = age(mr.stage_since, now)
    stage_text = Text(stage, style=STAGE_STYLE.get(mr.stage, "bold green"
                                                   if mr.stage.startswith("gates:") else ""))
    if since:
        stage_text.append(f" {since}", style="dim")
    # MR ids carry their rig's prefix, so they need no rig column.
    return (Text(str(mr.position), style="dim"), Text(mr.id), stage_text,
            Text(age(mr.created_at, now), style="dim"),
            Text(str(mr.retries) if mr.retries else "", style="yellow"),
            Text(mr.source_issue, style="cyan"))


def gate_title(refinery: RefineryView, now: datetime) -> Text:
    text = Text.assemble(("▶ ", "green"), (refinery.mr, "bold"), " ",
                         (stage_label(refinery.stage), "green"))
    since = age(refinery.stage_started_at, now)
    if since:
        text.append(f" {since}", style="dim")
    return text


class RefineryQueue(Vertical):
    DEFAULT_CSS = """
        RefineryQueue #mq-table {
            height: 1fr;
            min-height: 3;
            overflow-x: hidden;
            background: $surface;
        }

        RefineryQueue #gate-title {
            display: none;
            height: 1;
            padding: 0 1;
            background: $panel;
        }

        RefineryQueue #gate-log {
            overflow-x: hidden;
            display: none;
            height: 1fr;
            max-height: 6;
            background: $surface;
            color: $text-muted;
        }

        RefineryQueue.-merging #gate-title, RefineryQueue.-merging #gate-log {
            display: block;
        }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._gate: tuple[str, ...] | None = None

    def compose(self) -> ComposeResult:
        # The running gate's title and output are mounted when a gate first runs: a queue
        # with none has no use for them in its first frame.
        yield RowTable(COLUMNS, id="mq-table")

    @property
    def selected_mr(self) -> str | None:
        return self.query_one(RowTable).cursor_key

    def show(self, snapshot: TownSnapshot) -> None:
        now = snapshot.taken_at
        self.query_one(RowTable).show_rows(
            {mr.id: mr_cells(mr, now) for mr in snapshot.merge_queue})
        self._show_gate(snapshot, now)

    def _show_gate(self, snapshot: TownSnapshot, now: datetime) -> None:
        active = next((r for r in snapshot.refineries if r.stage), None)
        self.set_class(active is not None, "-merging")
        if active is None:
            if self._gate is not None:
                self._gate = None
                self.query_one("#gate-title", Static).update("")
                self.query_one("#gate-log", Log).clear()
            return
        if not self.query_children("#gate-log"):
            self.mount(Static("", id="gate-title"), Log(max_lines=50, auto_scroll=True,
                                                          id="gate-log"))
        self.query_one("#gate-title", Static).update(gate_title(active, now))
        if active.log_tail != self._gate:
            self._gate = active.log_tail
            log = self.query_one("#gate-log", Log)
            log.clear()
            log.write_lines(active.log_tail)
