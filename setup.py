"""What goes into the package; everything else about it is in pyproject.toml.

The top-level templates/ and rules/ are the only copy of the shop files mailgate ships. They are mapped
into the package as mailgate.shipped.templates and mailgate.shipped.rules (pyproject.toml cannot list
found packages and mapped ones together), so a wheel carries them and an editable install reads them
from the checkout.
"""

from setuptools import find_namespace_packages, setup

SHIPPED = {"mailgate.shipped.templates": "templates", "mailgate.shipped.rules": "rules"}


def packages(name: str, directory: str) -> list[str]:
    # Namespace discovery: a directory without an __init__.py (migration scripts, templates/mail) is a
    # package too, so it is not left out.
    below = find_namespace_packages(where=directory, exclude=["__pycache__", "*.__pycache__"])
    return [name, *(f"{name}.{sub}" for sub in below)]


shipped = [sub for name, directory in SHIPPED.items() for sub in packages(name, directory)]

setup(
    packages=[*packages("mailgate", "mailgate"), *shipped],
    package_dir=SHIPPED,
    package_data={name: ["*"] for name in shipped},
)
