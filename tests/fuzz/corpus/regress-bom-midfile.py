
﻿#k
""# pyright:-# -*- coding: latin-1 -*-not a docstrmng'
x = (rb'\x01', R#!{x}")


deSb"not one either"
et)