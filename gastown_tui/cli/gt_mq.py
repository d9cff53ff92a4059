"""`gt mq list/status/retry/reject`: the rig's merge queue."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

MARK = {"ready": "○", "blocked": "✗", "active": "▶", "closed": "✓"}


@click.group()
def mq() -> None:
    """The merge queue: MRs waiting for the Refinery."""


def rig_here(cli: CliContext, rig_name: str | None):
    """The rig named, else GT_RIG, else the rig whose directory we are in."""
    import os

    town = cli.town()
    name = rig_name or os.environ.get("GT_RIG")
    if name:
        return town.rig(name)
    rig = town.rig_at(cli.cwd)
    if rig is None:
        raise click.UsageError("which rig? name it (gt mq list <rig>) or run inside one")
    return rig


@mq.command(name="list")
@click.argument("rig_name", required=False)
@click.option("--ready", "ready_only", is_flag=True, help="Only MRs the Refinery can take now.")
@click.option("--status", "status_filter", default=None,
              help="Only MRs in this queue state (ready, blocked, active).")
@click.option("--worker", default=None, help="Only this polecat's MRs.")
@json_option
@pass_cli
def list_cmd(cli: CliContext, rig_name: str | None, ready_only: bool, status_filter, worker,
             as_json: bool) -> None:
    """Open MRs of a rig (default: yours), highest score (processed first) at the top.
    --json prints the MR beads as bd does (upstream's shape), with the queue's fields added."""
    from gastown_tui.refinery.score import queue

    rig = rig_here(cli, rig_name)
    store = cli.store()
    entries = queue(store, rig, ready_only=ready_only)
    if status_filter:
        entries = [e for e in entries if e.status == status_filter]
    if worker:
        entries = [e for e in entries if (e.mr.worker or "").lower() == worker.lower()]
    rows = [e.as_json() for e in entries]
    if as_json:
        beads = {b["id"]: b for b in store.list_issues(ids=[r["id"] for r in rows] or ["-"],
                                                       include_all=True, include_infra=True,
                                                       limit=0)}
        echo_json([{**beads.get(r["id"], {}), "queue_status": r["status"], "score": r["score"],
                    "branch": r["branch"], "source_issue": r["source_issue"],
                    "worker": r["worker"], "retry_count": r["retry_count"],
                    "target": r["target"]} for r in rows])
        return
    if not rows:
        echo(f"No {'ready ' if ready_only else ''}merge requests in {rig.name}.")
        return
    for r in rows:
        labels = f" [{', '.join(x for x in r['labels'] if x != 'gt:merge-request')}]" \
            if len(r["labels"]) > 1 else ""
        why = f"  ({r['reason']})" if r["status"] == "blocked" and r["reason"] else ""
        echo(f"{MARK.get(r['status'], '○')} {r['id']}  {r['score']:7.1f}  "
                   f"{r['status']:<7}  P{r['priority']}  retries {r['retry_count']}  "
                   f"{r['source_issue'] or '-'}  {r['worker'] or '-'}  {r['branch']}{labels}{why}")


@mq.command(name="next")
@click.argument("rig_name", required=False)
@json_option
@pass_cli
def next_cmd(cli: CliContext, rig_name, as_json) -> None:
    """The MR the Refinery takes next."""
    from gastown_tui.refinery.score import next_ready

    entry = next_ready(cli.store(), rig_here(cli, rig_name))
    if as_json:
        echo_json(entry.as_json() if entry else None)
    elif entry is None:
        echo("Nothing ready in the queue.")
    else:
        echo(f"{entry.mr.id}  {entry.mr.branch}  score {entry.score:.1f}")


@mq.command(name="close")
@click.argument("mr_id")
@click.option("-r", "--reason", required=True, help="Why it is closed (the worker is told).")
@json_option
@pass_cli
def close_cmd(cli: CliContext, mr_id, reason, as_json) -> None:
    """Close an MR without merging it (e.g. unresolvable conflicts); the branch and the
    source bead are kept and the worker is told."""
    from gastown_tui.refinery.admin import reject

    d = reject(cli.town(), cli.store(), mr_id, reason)
    if as_json:
        echo_json(d)
    else:
        echo(f"✓ Closed {mr_id} without merging: {reason}")


@mq.group(name="integration")
def integration() -> None:
    """Upstream's integration branches (an epic merged as one branch) are not built here:
    every MR targets the rig's default branch."""


@integration.command(name="land", context_settings={"ignore_unknown_options": True,
                                                    "allow_extra_args": True})
@click.pass_context
def integration_land(ctx: click.Context) -> None:
    """Nothing to land: MRs merge straight onto the default branch."""
    epic = " ".join(ctx.args)
    echo(f"✓ No integration branch{' for ' + epic if epic else ''}: every MR here merges "
               "straight onto its rig's default branch, so there is nothing to land "
               "(see gt mq list)")


@integration.command(name="status", context_settings={"ignore_unknown_options": True,
                                                      "allow_extra_args": True})
@click.pass_context
def integration_status(ctx: click.Context) -> None:
    echo("No integration branches here: MRs merge straight onto the default branch.")


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
    echo(f"{MARK.get(d['status'], '○')} {d['id']}  {d['title']}  [{d['status']}]")
    echo(f"  branch: {d['branch']} -> {d['target'] or '(rig default)'}")
    echo(f"  issue: {d['source_issue'] or '-'}   worker: {d['worker'] or '-'}   "
               f"P{d['priority']}   retries: {d['retry_count']}")
    if d["score"] is not None:
        echo(f"  score: {d['score']}")
    if d.get("reason"):
        echo(f"  waiting: {d['reason']}")
    if d.get("stage"):
        echo(f"  refinery stage: {d['stage']}")
    if d["close_reason"]:
        echo(f"  closed: {d['close_reason']}"
                   f"{'  at ' + d['merge_commit'][:10] if d['merge_commit'] else ''}")
    for path in d["logs"]:
        echo(f"  log: {path}")


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
        echo(f"✓ {mr_id} is back in the queue ({d['status']})")


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
        echo(f"✓ Rejected {mr_id}: {reason}")


def main(argv: list[str] | None = None) -> int:
    """`python -m gastown_tui.cli.gt_mq …`: the group on its own (tests, before gt wires it)."""
    from gastown_tui.cli.common import run
    from gastown_tui.cli.gt import _make_ctx

    return run(mq, argv, _make_ctx, "gt mq")


if __name__ == "__main__":
    sys.exit(main())
