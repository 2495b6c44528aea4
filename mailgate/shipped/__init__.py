"""The shop files mailgate ships: the top-level templates/ and rules/ of the source tree, installed as
mailgate.shipped.templates and mailgate.shipped.rules (see setup.py). `[paths] templates|rules` in
mailgate.toml replace them for a shop."""
