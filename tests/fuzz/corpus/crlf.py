# -*- coding: utf-8 -*-
"""CRLF docstring
second line"""


def f():
    """doc"""
    # comment
    return 1

x = 1  # trailingold_mac = 2