"""The control room's model, without Textual: TownModel follows the town directory (watchfiles)
and publishes immutable TownSnapshots built by the readers in sources.py."""
