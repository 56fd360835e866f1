"""The package list of the runtime wheel; everything else is in pyproject.toml.

`esms_spec.documents` is named here by hand: it is the folder spec/ (pyproject.toml maps it), which
package discovery cannot see below esms_spec/. Discovery finds the rest, so a new subpackage of
mock_server lands in the wheel without an edit here.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["mock_server", "mock_server.*", "esms_spec"]), "esms_spec.documents"])
