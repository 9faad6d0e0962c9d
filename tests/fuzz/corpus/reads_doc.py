"""Usage: reads_doc.py [-h]

This module prints its own docstring, so it must keep it.
"""
import sys


def main():
    """Print the usage."""
    sys.stdout.write(__doc__)
