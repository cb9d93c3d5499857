"""P2E clean-up processor: spreadsheet-driven removal of duplicate P2E e-resources in Alma.

The flow is a straight line, one module per stage:
intake -> validate -> plan -> run -> report -> notify (see README.md and docs/).
"""
__version__ = "0.1.0"
