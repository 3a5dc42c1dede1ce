"""The imperative shells, one per command that needs more than a few lines: plan, apply, export, demo.

``cli.py`` parses options and hands over to these; they wire config, live reads, the pure
planner, rendering and the executor together.
"""
