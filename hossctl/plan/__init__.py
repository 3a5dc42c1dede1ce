"""The pure core: desired model, live snapshot, planner, safety checks, fingerprints and the Plan value.

No I/O here except reading and writing a saved plan file: every function is a function of
immutable values, so the planner and checks are tested without a server.
"""
