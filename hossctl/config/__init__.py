"""Config files → the immutable desired model: YAML with positions, token scan, interpolation, schema, merge.

Used from outside through ``hossctl.config.loader``: ``load_config``, ``ConfigError`` and the
validate summary. The stages behind it are private to this package.
"""
