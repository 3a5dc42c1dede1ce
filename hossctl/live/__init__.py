"""Talking to live Hoss servers: HTTP, credentials, the typed API client and the Snapshot reader.

The only package besides ``apply`` that does network I/O. Nothing here decides what to change.
"""
