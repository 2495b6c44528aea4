"""Installed as the package mailgate.shipped.templates (see setup.py): mail/*.txt.j2 and web/*."""
