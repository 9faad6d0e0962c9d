r'raw module docstring \' still'
b'bytes: not a docstring'
x = (rb'\x00', Rb"a", BR'''b''', br"""c""", u'd', U"e", R'f', F'g', fR'{x}', Rf"{x}")


def f():
    f"not a docstring {x}"


def g():
    b"not one either"
    return 1


def h():
    rb'''raw bytes''' ; u"unicode docstring is one"
    return 2
