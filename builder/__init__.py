"""Flowloom's application layer: the command line (builder/cli.py, no Qt) and the Qt editor.

Importing this package loads no Qt; the editor modules import PySide6 themselves.
"""
