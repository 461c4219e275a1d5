"""The claims plugin (spec/plugin.py) serves every test run from this folder."""

pytest_plugins = ["spec.plugin"]
