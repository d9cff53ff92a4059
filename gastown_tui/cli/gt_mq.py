"""`gt mq list/status/retry/reject`: the rig's merge queue."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.common import CliContext
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

MARK = {"ready": "○", "blocked": "✗", "active": "▶", "closed": "✓"}


@click.group()
def mq() -> None:
    """The merge queue: MRs waiting for the Refinery."""


@mq.command(name="list")
@click.argument("rig_name")
@click.option("--ready", "ready_only", is_flag=True, help="Only MRs the Refinery can take now.")
@json_option
@pass_cli
def list_cmd(cli: CliContext, rig_name: str, ready_only: bool, as_json: bool) -> None:
    """Open MRs of RIG_NAME, highest score (processed first) at the top."""
    from gastown_tui.refinery.score import queue

    town = cli.town()
    entries = queue(cli.store(), town.rig(rig_name), ready_only=ready_only)
    rows = [e.as_json() for e in entries]
    if as_json:
        echo_json([{k: r[k] for k in ("id", "branch", "source_issue", "worker", "status",
                                      "score", "retry_count", "target", "labels")}
                   for r in rows])
        return
    if not rows:
        click.echo(f"No {'ready ' if ready_only else ''}merge requests in {rig_name}.")
        return
    for r in rows:
        labels = f" [{', '.join(x for x in r['labels'] if x != 'gt:merge-request')}]" \
            if len(r["labels"]) > 1 else ""
        why = f"  ({r['reason']})" if r["status"] == "blocked" and r["reason"] else ""
        click.echo(f"{MARK.get(r['status'], '○')} {r['id']}  {r['score']:7.1f}  "
                   f"{r['status']:<7}  P{r['priority']}  retries {r['retry_count']}  "
                   f"{r['source_issue'] or '-'}  {r['worker'] or '-'}  {r['branch']}{labels}{why}")


@mq.command(name="status")
@click.argument("mr_id")
@json_option
@pass_cli
def status_cmd(cli: CliContext, mr_id: str, as_json: bool) -> None:
    """Everything about one MR: fields, score, why it waits, gate logs."""
    from gastown_tui.refinery.admin import mr_detail

    d = mr_detail(cli.town(), cli.store(), mr_id)
    if as_json:
        echo_json(d)
        return
    click.echo(f"{MARK.get(d['status'], '○')} {d['id']}  {d['title']}  [{d['status']}]")
    click.echo(f"  branch: {d['branch']} -> {d['target'] or '(rig default)'}")
    click.echo(f"  issue: {d['source_issue'] or '-'}   worker: {d['worker'] or '-'}   "
               f"P{d['priority']}   retries: {d['retry_count']}")
    if d["score"] is not None:
        click.echo(f"  score: {d['score']}")
    if d.get("reason"):
        click.echo(f"  waiting: {d['reason']}")
    if d.get("stage"):
        click.echo(f"  refinery stage: {d['stage']}")
    if d["close_reason"]:
        click.echo(f"  closed: {d['close_reason']}"
                   f"{'  at ' + d['merge_commit'][:10] if d['merge_commit'] else ''}")
    for path in d["logs"]:
        click.echo(f"  log: {path}")


@mq.command(name="retry")
@click.argument("mr_id")
@json_option
@pass_cli
def retry_cmd(cli: CliContext, mr_id: str, as_json: bool) -> None:
    """Clear needs-fix/needs-rebase, unblock, and put the MR back in the queue."""
    from gastown_tui.refinery.admin import retry

    d = retry(cli.town(), cli.store(), mr_id)
    if as_json:
        echo_json(d)
    else:
        click.echo(f"✓ {mr_id} is back in the queue ({d['status']})")


@mq.command(name="reject")
@click.argument("mr_id")
@click.option("-r", "--reason", required=True, help="Why (the worker is told).")
@json_option
@pass_cli
def reject_cmd(cli: CliContext, mr_id: str, reason: str, as_json: bool) -> None:
    """Close the MR as rejected and tell its worker."""
    from gastown_tui.refinery.admin import reject

    d = reject(cli.town(), cli.store(), mr_id, reason)
    if as_json:
        echo_json(d)
    else:
        click.echo(f"✓ Rejected {mr_id}: {reason}")


def main(argv: list[str] | None = None) -> int:
    """`python -m gastown_tui.cli.gt_mq …`: the group on its own (tests, before gt wires it)."""
    from gastown_tui.cli.common import run
    from gastown_tui.cli.gt import _make_ctx

    return run(mq, argv, _make_ctx, "gt mq")


if __name__ == "__main__":
    sys.exit(main())
