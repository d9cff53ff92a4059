"""`gt role [show|detect|list|home|env]`: the agent role of GT_ROLE or the current directory."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli
from gastown_tui.town.errors import GasTownError


class _RoleGroup(click.Group):
    """`gt role` alone is `gt role show`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0].startswith("-") and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_RoleGroup)
def role() -> None:
    """Show the agent role and where it was read from.

    \b
    The role is GT_ROLE when set (authoritative), else the current directory:
    mayor/, deacon/, <rig>/witness, <rig>/refinery, <rig>/polecats/<name>, <rig>/crew/<name>.
    When both are known and disagree, a mismatch is shown.
    """


def _show(info, as_json: bool) -> None:
    if as_json:
        echo_json(info.as_json())
        return
    echo(info.role)
    echo(f"Source: {info.source}")
    if info.home:
        echo(f"Home: {info.home}")
    if info.rig:
        echo(f"Rig: {info.rig}")
    if info.polecat:
        echo(f"Worker: {info.polecat}")
    if info.mismatch:
        echo("\n⚠ ROLE MISMATCH")
        echo(f"  GT_ROLE={info.env_role} (authoritative)")
        echo(f"  cwd suggests: {info.cwd_role}")
        echo("\nThe GT_ROLE env var takes precedence, but you may be in the wrong directory.")
        echo(f"Expected home: {info.home}")


@role.command(name="show")
@json_option
@pass_cli
def role_show(cli: CliContext, as_json: bool) -> None:
    """Show the current role, its source (env or cwd), home, rig and worker."""
    from gastown_tui.ops.role import current

    _show(current(cli.town(), cli.cwd), as_json)


@role.command(name="detect")
@json_option
@pass_cli
def role_detect(cli: CliContext, as_json: bool) -> None:
    """The role from the current directory alone, ignoring GT_ROLE (debugging)."""
    import os

    from gastown_tui.ops.role import detect, parse_role

    info = detect(cli.town(), cli.cwd)
    if as_json:
        echo_json(info.as_json())
        return
    echo(f"{info.role} (from cwd)")
    echo(f"Directory: {cli.cwd}")
    if info.rig:
        echo(f"Rig: {info.rig}")
    if info.polecat:
        echo(f"Worker: {info.polecat}")
    env_role = os.environ.get("GT_ROLE", "")
    if env_role and parse_role(env_role)[0] != info.role:
        echo(f"\n⚠ Mismatch with $GT_ROLE\n  $GT_ROLE={env_role}\n"
             "  The env var takes precedence in normal operation.")


@role.command(name="list")
@json_option
def role_list(as_json: bool) -> None:
    """List the known roles."""
    from gastown_tui.ops.role import ROLES

    if as_json:
        echo_json([{"name": name, "description": desc} for name, desc in ROLES])
        return
    echo("Available roles:\n")
    for name, desc in ROLES:
        echo(f"  {name:<10}  {desc}")


@role.command(name="home")
@click.argument("role_name", required=False, metavar="[ROLE]")
@click.option("--rig", default=None, help="Rig name (for witness, refinery, polecat, crew).")
@click.option("--polecat", default=None, help="Polecat or crew member name.")
@pass_cli
def role_home(cli: CliContext, role_name: str | None, rig: str | None,
              polecat: str | None) -> None:
    """The home directory of ROLE (default: the current role)."""
    from gastown_tui.ops.role import current, home, parse_role
    from gastown_tui.town.names import validate_agent_name, validate_rig_name

    if polecat and not rig:
        raise GasTownError("--polecat needs --rig", fix="pass --rig <rig> as well")
    info = current(cli.town(), cli.cwd)
    role_, rig_, name = info.role, info.rig, info.polecat
    if role_name:
        role_, parsed_rig, parsed_name = parse_role(role_name)
        rig_, name = parsed_rig or rig_, parsed_name or name
    rig_ = validate_rig_name(rig) if rig else rig_
    name = validate_agent_name(polecat) if polecat else name
    path = home(cli.town(), role_, rig_, name)
    if not path:
        raise GasTownError(f"cannot determine the home of role {role_} (rig={rig_!r}, "
                           f"polecat={name!r})", fix="pass --rig (and --polecat for a worker)")
    echo(path)


@role.command(name="env")
@pass_cli
def role_env(cli: CliContext) -> None:
    """Print shell export statements for the current role (eval "$(gt role env)")."""
    import shlex

    from gastown_tui.ops.role import current
    from gastown_tui.town.names import Address

    town = cli.town()
    info = current(town, cli.cwd)
    if not info.home:
        raise GasTownError(f"cannot determine the home of role {info.role} (rig={info.rig!r}, "
                           f"polecat={info.polecat!r})",
                           fix="run it in an agent's directory or set GT_ROLE")
    if info.env_incomplete:
        echo("⚠ Warning: env vars incomplete, filled from cwd", err=True)
    if not str(cli.cwd.resolve()).startswith(info.home):
        echo(f"⚠ Warning: cwd ({cli.cwd}) is not within role home ({info.home})", err=True)
    env = {"GT_ROLE": str(Address(info.role, info.rig or None, info.polecat or None))
           if info.role in ("mayor", "deacon", "witness", "refinery", "polecat", "crew")
           else info.role,
           "GT_ROOT": str(town.root), "GT_TOWN_ROOT": str(town.root),
           "GT_ROLE_HOME": info.home}
    env["BD_ACTOR"] = env["GT_ROLE"]
    if info.rig:
        env["GT_RIG"] = info.rig
    if info.role == "polecat":
        env["GT_POLECAT"] = info.polecat
    if info.role == "crew":
        env["GT_CREW"] = info.polecat
    for key in sorted(env):
        echo(f"export {key}={shlex.quote(env[key])}")
