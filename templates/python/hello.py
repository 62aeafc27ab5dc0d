"""Proves the environment works: devenv run -- python3 hello.py"""
import sys

import six

print(f"hello from Python {sys.version.split()[0]} with six {six.__version__}")
