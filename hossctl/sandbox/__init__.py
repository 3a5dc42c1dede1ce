"""A local, Hoss-compatible core + auth service for the demo, integration tests and CI.

Import-light on purpose (stdlib + PyJWT): test fixtures and ``hossctl sandbox`` start fast.
"""

from hossctl.sandbox.service import Sandbox

__all__ = ["Sandbox"]
