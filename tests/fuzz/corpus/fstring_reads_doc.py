"""Usage: prog"""
print(f"{__doc__}")
