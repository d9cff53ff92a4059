"""The control room's dialogs (nudge, sling, nuke, confirm, prompt): each a ModalScreen whose
answer a verb acts on, with its layout in the .tcss beside it. They know nothing of verbs or
screens; a dialog that must look at the town first (the nuke safety check) does it in a worker."""
