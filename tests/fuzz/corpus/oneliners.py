def a(): "doc"
def b(): 'doc'
async def c(): """doc"""
class E: '''doc'''; pass
class F(object,
        metaclass=type): "doc"


@decorator
def d(x: "annotation, not a docstring" = "default") -> "ret": "doc"


def outer():
    """doc"""

    class Inner:
        """doc"""

    def inner():
        "doc"
    return Inner, inner


lambda: "never a docstring"
