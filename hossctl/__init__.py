"""hossctl: declarative management of Hoss namespaces and sync targets."""

__version__ = "0.1.0"
