d = {
    # a key
    "a": 1,  # one

    "b": (2,
          # nested
          3),
}


def f(a,  # first
      b):
    ("doc")
    return (
        a

        + b  # sum
    )
