"""Installed as the package mailgate.shipped.rules (see setup.py); the rules are the *.toml files."""
