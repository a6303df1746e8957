"""Exercise solutions, one module per notebook (``exNN.py``); tests/test_solutions.py runs them."""
