if True:
	x = 1
	

	if x:
	    """not a docstring"""
	    y = 2
    
# form feed then comment
def f():
	"""doc"""

	return 1
