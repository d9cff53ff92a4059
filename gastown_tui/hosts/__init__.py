"""Other hosts of a town, reached with plain OpenSSH: the ssh argument lists, a host's own
tmux server, one persistent control-mode client per host for the control room, git between
the town's repositories and a host's, and requests to a host's own gt."""
