"""Gas Town, re-built in Python: town engine, gt/bd commands, agents in tmux, control room."""
__version__ = "0.1.0"
