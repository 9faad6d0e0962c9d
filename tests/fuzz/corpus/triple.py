"""Module docstring with 'quotes', "quotes", \"\"\" and a # that is no comment.
"""
''' a second string statement, next in line '''
s = """a""" """b""" '''c'''
t = '''He said "hi" and ''\' then left'''  # a comment
u = """\
continued \
lines"""


class A:
    '''Class docstring
    # not a comment
    '''

    def m(self):
        """Method docstring."""  # after the docstring

        """Not a docstring: the second statement."""
        return """#"""
