"""A click group whose subcommands' modules are imported only when they run: agents call
`gt`/`bd` constantly, and one verb must not pay for another's libraries."""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """Subcommands named in LAZY ("name": "module:attribute") load on first use; ALIASES
    maps other spellings upstream's prompts use onto a command."""

    LAZY: dict[str, str] = {}
    ALIASES: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd_name = self.ALIASES.get(cmd_name, cmd_name)
        target = self.LAZY.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except ImportError:
            return None
