def f():
    ("implicitly "
     "concatenated docstring")
    x = 1 + \
        2  # comment after a continuation
    y = [1,  # inside brackets

         2,
         # alone inside brackets
         3]
    return x + \
y[0]


def g():
    "doc"; return 1


def h(): "doc"; return 2


def k():
    """doc over
    two lines"""; z = 3; return z


class C: "doc"
class D: "doc"; e = 1
if True: "not a docstring"
