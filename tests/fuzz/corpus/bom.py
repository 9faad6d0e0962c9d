#!/usr/bin/python3
# vim: set fileencoding=utf-8 :
"""Café docstring."""
name = "naïve"  # comment ✓
