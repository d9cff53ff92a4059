"""The control room's widgets: each draws one part of a TownSnapshot (or of the pane feed) it
is handed by its screen, with its own CSS, and tells its screen what happened by posting
messages (it never calls a screen's action)."""
