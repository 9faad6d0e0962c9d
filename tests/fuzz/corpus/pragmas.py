#!/usr/bin/env python3
# -*- coding: latin-1 -*-
# an ordinary comment
import os  # noqa: F401
import sys  # NOQA
x = []  # type: list[int]
if x:  # pragma: no cover
    pass
# fmt: off
y = [1,2,
     3]
# fmt: on
z = 1  # pylint: disable=invalid-name
# mypy: ignore-errors
# isort: skip
#type: ignore
