"""`gt account` (Claude Code accounts) and `gt quota` (rate limits, rotation)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def account() -> None:
    """Claude Code accounts: each its own CLAUDE_CONFIG_DIR, one the default.

    \b
    gt account list              the accounts (* the default)
    gt account add <handle>      register one (config dir ~/.claude-accounts/<handle>)
    gt account default <handle> new sessions run on it
    gt account status            which account a new session would get, and why
    gt account switch <handle>   the default, and where running sessions are
    gt sling <bead> <rig> --account <handle>   one polecat on another account
    """


@account.command(name="list")
@json_option
@pass_cli
def account_list(cli: CliContext, as_json) -> None:
    """List the registered accounts."""
    from gastown_tui.ops.accounts import accounts

    found = accounts(cli.town())
    if as_json:
        echo_json([a.as_json() for a in found])
        return
    if not found:
        echo("No accounts configured.\n\nTo add an account:\n  gt account add <handle>")
        return
    echo("Claude Code Accounts\n")
    for a in found:
        line = f"{'* ' if a.is_default else '  '}{str(a.handle)}"
        if a.email:
            line += f"  {str(a.email)}"
        if a.is_default:
            line += "  (default)"
        echo(line)
        if a.description:
            echo(f"    {str(a.description)}")
        echo(f"    {str(a.config_dir)}")


@account.command(name="add")
@click.argument("handle")
@click.option("--email", default="", help="The account's e-mail.")
@click.option("--desc", "description", default="", help="A description.")
@click.option("--config-dir", default=None,
              help="Its CLAUDE_CONFIG_DIR (default ~/.claude-accounts/<handle>).")
@json_option
@pass_cli
def account_add(cli: CliContext, handle, email, description, config_dir, as_json) -> None:
    """Register an account; log in once with CLAUDE_CONFIG_DIR=<its dir> claude, then /login."""
    from gastown_tui.ops.accounts import add

    found = add(cli.town(), handle, email=email, description=description, config_dir=config_dir)
    cli.log("account_add", {"account": found.handle, "config_dir": found.config_dir},
            source="gt")
    if as_json:
        echo_json(found.as_json())
        return
    echo(f"Added account '{found.handle}'\nConfig directory: {found.config_dir}\n\n"
               f"To complete login, run:\n  CLAUDE_CONFIG_DIR={found.config_dir} claude\n"
               "Then use /login to authenticate.")
    if found.is_default:
        echo(f"'{found.handle}' is the default account (the first one added).")


@account.command(name="default")
@click.argument("handle")
@pass_cli
def account_default(cli: CliContext, handle) -> None:
    """Set the default account for new sessions."""
    from gastown_tui.ops.accounts import set_default

    set_default(cli.town(), handle)
    cli.log("account_default", {"account": handle}, source="gt")
    echo(f"Default account set to '{handle}'")


@account.command(name="status")
@json_option
@pass_cli
def account_status(cli: CliContext, as_json) -> None:
    """Which account a new session would run on: GT_ACCOUNT, else the default."""
    import os

    from gastown_tui.ops.accounts import resolve

    found = resolve(cli.town())
    why = "GT_ACCOUNT" if os.environ.get("GT_ACCOUNT") else "default" if found else ""
    if as_json:
        echo_json({**(found.as_json() if found else {"handle": ""}), "source": why})
        return
    if found is None:
        echo("No account configured: sessions use your own ~/.claude.\n\n"
                   "To add an account:\n  gt account add <handle>")
        return
    echo(f"Current Account\n\nHandle:     {str(found.handle)}")
    if found.email:
        echo(f"Email:      {str(found.email)}")
    echo(f"Config Dir: {str(found.config_dir)}\n\n"
               f"({'set via GT_ACCOUNT environment variable' if why == 'GT_ACCOUNT' else 'default account'})")


@account.command(name="switch")
@click.argument("handle")
@json_option
@pass_cli
def account_switch(cli: CliContext, handle, as_json) -> None:
    """Make HANDLE the default for new sessions; running sessions keep theirs (move them with
    gt quota rotate --from <old>). Unlike upstream, ~/.claude is left alone."""
    from gastown_tui.ops.accounts import set_default
    from gastown_tui.ops.quota import scan

    town = cli.town()
    set_default(town, handle)
    cli.log("account_switch", {"account": handle}, source="gt")
    others = [r for r in scan(town) if r.account_handle != handle]
    if as_json:
        echo_json({"default": handle, "sessions_elsewhere": [
            {"session": r.session, "account": r.account_handle} for r in others]})
        return
    echo(f"Switched the default account to '{handle}': new sessions run on it.")
    for r in others:
        echo(f"  {r.session} still runs on {r.account_handle or 'your own ~/.claude'} "
                   f"(gt quota rotate --from {r.account_handle or '<handle>'} moves it)")


@click.group()
def quota() -> None:
    """Rate limits across accounts: who is limited, and moving them to a free account.

    \b
    gt quota status      each account: available, limited (until when), last used
    gt quota scan        each Claude session: limited (screen or transcript) or near it
    gt quota rotate      limited sessions restart on a free account (hook kept, a note left)
    gt quota clear       mark accounts available again
    Automatic: settings/config.json "quota": {"auto_rotate": true} (the Witness, the Deacon).
    """


@quota.command(name="status")
@json_option
@pass_cli
def quota_status(cli: CliContext, as_json) -> None:
    """Each account's quota state."""
    from gastown_tui.ops.quota import status

    items = status(cli.town())
    if as_json:
        echo_json(items)
        return
    if not items:
        echo("No accounts configured.\n\nTo add an account:\n  gt account add <handle>")
        return
    echo("Account Quota Status\n")
    free = 0
    for item in items:
        badge = item["status"]
        if badge == "available":
            free += 1
        elif item.get("resets_at"):
            badge += f" (resets {str(item['resets_at'])})"
        email = f" <{str(item['email'])}>" if item.get("email") else ""
        echo(f" {'*' if item['is_default'] else ' '} {str(item['handle']):<12} "
                   f"{badge}{email}")
    echo(f"\n Summary: {free} available, {len(items) - free} limited")


@quota.command(name="scan")
@click.option("--update", is_flag=True, help="Mark the limited sessions' accounts limited.")
@json_option
@pass_cli
def quota_scan(cli: CliContext, update, as_json) -> None:
    """Detect rate-limited sessions from their screens and Claude transcripts."""
    from gastown_tui.ops.quota import record_scan, scan

    town = cli.town()
    results = scan(town)
    if update:
        record_scan(town, results)
    if as_json:
        echo_json([r.as_json() for r in results])
        return
    limited = [r for r in results if r.rate_limited]
    near = [r for r in results if r.near_limit]
    for r in limited:
        resets = f" resets {str(r.resets_at)}" if r.resets_at else ""
        echo(f" ! {r.session:<25} account: {str(r.account_handle) or '(own ~/.claude)'}"
                   f"{resets}  [{r.source}: {str(r.matched_line)}]")
    for r in near:
        echo(f" ~ {r.session:<25} account: {str(r.account_handle) or '(own ~/.claude)'}"
                   f" ({str(r.matched_line)})")
    if not limited and not near:
        echo(f" ✓ No rate-limited sessions detected ({len(results)} scanned)")
    else:
        echo(f"\n Summary: {len(limited)} limited, {len(near)} near-limit of "
                   f"{len(results)} sessions")


@quota.command(name="rotate")
@click.option("--from", "from_account", default=None,
              help="Move the sessions on this account, limited or not.")
@click.option("--idle", is_flag=True, help="Only sessions at their prompt (not busy).")
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing.")
@json_option
@pass_cli
def quota_rotate(cli: CliContext, from_account, idle, dry_run, as_json) -> None:
    """Restart limited sessions on free accounts (least recently used first): each keeps its
    hook and gets a handoff note saying why."""
    from gastown_tui.ops.quota import rotate

    the_plan, done = rotate(cli.town(), cli.store(), from_account=from_account,
                            idle_only=idle, dry_run=dry_run)
    if as_json:
        echo_json(the_plan.as_json() if dry_run else [r.as_json() for r in done])
        return
    if not the_plan.limited_sessions:
        echo(f" ✓ No sessions found using account {from_account!r}" if from_account
                   else " ✓ No rate-limited sessions detected")
        return
    if not the_plan.assignments:
        echo(f" ⚠ {len(the_plan.limited_sessions)} session(s) limited but no free account "
                   "to rotate to (gt quota status)")
        return
    echo("Rotation Plan\n")
    old = {r.session: r.account_handle for r in the_plan.limited_sessions}
    for session, new in sorted(the_plan.assignments.items()):
        echo(f" → {session:<25} {str(old.get(session) or '(own ~/.claude)')} → {new}")
    for handle, why in the_plan.skipped_accounts.items():
        echo(f" ⚠ Skipped {handle} — {why}")
    if dry_run:
        echo("\n (dry run — no changes made)")
        return
    echo("")
    for r in done:
        if r.rotated:
            echo(f" ✓ {r.session} → {r.new_account} (restarted, hook kept, note {r.note})")
        else:
            echo(f" ✗ {r.session}: {str(r.error)}")


@quota.command(name="clear")
@click.argument("handles", nargs=-1)
@pass_cli
def quota_clear(cli: CliContext, handles) -> None:
    """Mark accounts available again (every limited one when none is named)."""
    from gastown_tui.ops.quota import clear

    cleared = clear(cli.town(), list(handles) or None)
    for handle in cleared:
        echo(f" ✓ {handle} → available")
    if not cleared:
        echo(" ✓ No limited accounts to clear")
