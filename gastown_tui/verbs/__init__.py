"""The control room's verbs: one object per verb, grouped by what it acts on (agents.py,
beads.py, merges.py, mail.py).

A verb knows its id, key, label, whether it changes the town (`dangerous`: hidden with
--read-only), why it cannot run on a target in a room (`why_not`, as lazygit's
GetDisabledReason), the dialog it asks (`ask`) and what it runs (`perform` in a thread worker,
or `act` on the event loop). Screens name verbs in their bindings (`registry.verb_bindings`)
and expose their selection as a `Target`; the key's check_action, the command palette, the help
screen and read-only mode all ask `runner.availability`, so they cannot disagree. The ops layer
underneath does the work, exactly as for the CLI."""
