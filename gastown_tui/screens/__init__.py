"""The control room's screens (main, convoys, beads, mail, events, one polecat, one convoy,
one bead, help); each .tcss beside its screen holds its layout. Their keys name verbs
(gastown_tui/verbs); their dialogs are in gastown_tui/dialogs."""
