w = 10
x = {"a": 1}
print(f"{x['a']!r:>{w}}", f'{x["a"]}', f'''{ {'b': 2}['b'] }''', f"{{}}", f"{w:#x}")
print(rf"\d{w}", fr'\{w}', f"""
{w
}""")


def f():
    f"""an f-string is not a docstring {w}"""
    return f"#{w}#"  # comment after an f-string
