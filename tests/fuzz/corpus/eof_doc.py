def f():
    """doc at the end, no newline"""