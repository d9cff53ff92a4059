"""`gt costs`: what the town's agents cost, from their runtimes' own transcripts."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

GROUPS = {"role": "by_role", "rig": "by_rig", "agent": "by_agent", "bead": "by_bead",
          "convoy": "by_convoy", "day": "by_day", "model": "by_model",
          "session": "by_session"}


@click.group(invoke_without_command=True)
@click.option("--today", is_flag=True, help="Today's spend (since local midnight).")
@click.option("--week", is_flag=True, help="The last seven days' spend, today included.")
@click.option("--by-role", is_flag=True, help="Break down by role (polecat, mayor, …).")
@click.option("--by-rig", is_flag=True, help="Break down by rig.")
@click.option("--by-agent", is_flag=True, help="Break down by agent (rig/polecats/name…).")
@click.option("--by-bead", is_flag=True, help="Break down by the bead a polecat worked.")
@click.option("--by-convoy", is_flag=True, help="Break down by convoy (via its beads).")
@click.option("--by-day", is_flag=True, help="Break down by local day.")
@click.option("--by-model", is_flag=True, help="Break down by model (and show its price).")
@click.option("-v", "--verbose", is_flag=True, help="Show which price each model got.")
@json_option
@click.pass_context
def costs(ctx: click.Context, today, week, by_role, by_rig, by_agent, by_bead, by_convoy,
          by_day, by_model, verbose, as_json) -> None:
    """What the town's agents cost: tokens from Claude Code's own transcripts
    ($CLAUDE_CONFIG_DIR/projects/, or ~/.claude/projects/, and each account's), money at the
    prices in settings/config.json "costs": {"prices": {"<model or prefix>": {"input": USD,
    "output": USD, "cache_read": USD, "cache_creation": USD}}} per million tokens.

    \b
    gt costs                 each running session: its current conversation and today
    gt costs --today         today's total (--week: seven days)
    gt costs --today --by-rig --by-role --by-bead --by-convoy
    gt costs record          read new transcript lines into the ledger (Stop hook)
    gt costs digest --yesterday   a "Cost Report YYYY-MM-DD" bead
    """
    if ctx.invoked_subcommand is not None:
        return
    cli = ctx.find_object(CliContext)
    from gastown_tui.ops import costs as ops

    town, store = cli.town(), cli.store()
    wanted = {name: flag for name, flag in (("role", by_role), ("rig", by_rig),
                                            ("agent", by_agent), ("bead", by_bead),
                                            ("convoy", by_convoy), ("day", by_day),
                                            ("model", by_model)) if flag}
    if not (today or week or wanted):
        rep = ops.report(town, store, "all")
        rows = ops.live(town, store, rep)
        total = sum(r["cost_usd"] for r in rows)
        tokens = {k: sum(r["tokens"][k] for r in rows) for k in ops.TOKEN_COLUMNS}
        if as_json:
            echo_json({"sessions": rows, "total_usd": round(total, 6), "tokens": tokens,
                       "today_usd": round(sum(r["today_usd"] for r in rows), 6)})
            return
        _print_live(rows, total, tokens, ops)
        if verbose:
            _print_prices(rep.prices_used())
        return
    period = "week" if week else "today" if today or wanted else "all"
    rep = ops.report(town, store, period)
    total = rep.total()
    out = {"total_usd": round(total.usd, 6), "tokens": total.tokens,
           "messages": total.messages,
           "period": {"today": "today", "week": "this week"}.get(period, "")}
    for name in wanted:
        out[GROUPS[name]] = {k: round(v.usd, 6) for k, v in getattr(rep, GROUPS[name])().items()}
        out[GROUPS[name] + "_tokens"] = {k: v.tokens
                                        for k, v in getattr(rep, GROUPS[name])().items()}
    if verbose or by_model:
        out["prices"] = rep.prices_used()
    if as_json:
        echo_json(out)
        return
    label = f" ({out['period']})" if out["period"] else ""
    echo(f"📊 Cost Summary{label}\n")
    echo(f"Total: {ops.usd(total.usd)}  ({ops.tokens_text(total.tokens)}, "
               f"{total.messages} messages)")
    if not rep.entries:
        echo("No usage recorded yet: costs come from the agents' Claude Code transcripts.")
    for name in wanted:
        echo(f"\nBy {name}:")
        for key, spend in getattr(rep, GROUPS[name])().items():
            echo(f"  {str(key):<32} {ops.usd(spend.usd):>10}  {ops.tokens_text(spend.tokens)}")
    if verbose or by_model:
        _print_prices(out["prices"])


def _print_live(rows, total, tokens, ops) -> None:
    if not rows:
        echo("No Gas Town sessions running (gt costs --today shows what ran today).")
        return
    echo("💰 Live Session Costs\n")
    echo(f"{'Session':<22} {'Role':<9} {'Rig/Worker':<22} {'Cost':>10} {'Today':>10}  "
               "Tokens (current conversation)")
    echo("─" * 100)
    for r in rows:
        who = "/".join(x for x in (r["rig"], r["worker"]) if x)
        echo(f"{str(r['session']):<22} {r['role']:<9} {str(who):<22} "
                   f"{ops.usd(r['cost_usd']):>10} {ops.usd(r['today_usd']):>10}  "
                   f"{ops.tokens_text(r['tokens'])}{'' if r['running'] else '  (dead pane)'}")
    echo("─" * 100)
    echo(f"Total: {ops.usd(total)}  ({ops.tokens_text(tokens)})")


def _print_prices(prices: dict) -> None:
    echo("\nPrices (USD per million tokens):")
    for model, p in prices.items():
        echo(f"  {str(model):<28} in {p['input']:g}  out {p['output']:g}  cache read "
                   f"{p['cache_read']:g}  cache write {p['cache_creation']:g}  "
                   f"(matched {str(p['matched'])})")


@costs.command(name="record")
@click.option("--session", default=None, help="The tmux session (default: GT_SESSION).")
@click.option("--work-item", default=None, help="The bead the work was for (shown).")
@click.option("-v", "--verbose", is_flag=True)
@pass_cli
def costs_record(cli: CliContext, session, work_item, verbose) -> None:
    """Read the transcripts' new lines into the town's usage ledger (upstream's Stop hook
    command; here any gt costs call does the same, so the hook is optional)."""
    import os

    from gastown_tui.ops import costs as ops

    town, store = cli.town(), cli.store()
    result = ops.refresh(town, store)
    session = session or os.environ.get("GT_SESSION", "")
    if not session:
        if verbose:
            echo(f"✓ ledger refreshed: {result.messages} new messages")
        return
    rows = {r["session"]: r for r in ops.live(town, store)}
    mine = rows.get(session)
    if mine is None:
        if verbose:
            echo(f"[costs] no running session {session}; ledger refreshed")
        return
    work = f" (work: {work_item})" if work_item else ""
    echo(f"✓ Recorded {ops.usd(mine['cost_usd'])} for {session}{work}")


@costs.command(name="digest")
@click.option("--yesterday", is_flag=True, help="Digest yesterday (the Deacon's default).")
@click.option("--date", "date_text", default=None, help="Digest a day: YYYY-MM-DD.")
@click.option("--dry-run", is_flag=True, help="Show the digest; create nothing.")
@json_option
@pass_cli
def costs_digest(cli: CliContext, yesterday, date_text, dry_run, as_json) -> None:
    """A permanent "Cost Report YYYY-MM-DD" bead with one day's totals by role and rig (the
    ledger itself is kept; upstream deletes its log entries)."""
    from gastown_tui.ops.costs_digest import digest

    result = digest(cli.town(), cli.store(), date_text=date_text, yesterday=yesterday,
                    dry_run=dry_run)
    if as_json:
        echo_json(result)
        return
    prefix = "[DRY RUN] Would create" if dry_run else "✓ Created"
    if not result["session_count"]:
        echo(f"○ No usage recorded for {result['date']}")
        return
    echo(f"📊 {prefix} Cost Report {result['date']}"
               + (f" ({result['id']})" if result.get("id") else ""))
    echo(f"  Total: ${result['total_usd']:.2f}  Sessions: {result['session_count']}")
    for role, value in result["by_role"].items():
        echo(f"  {role}: ${value:.2f}")
