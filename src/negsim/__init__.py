"""negsim: scenario simulation of wars and peace talks.

The flow of data, and of imports: scenario -> model -> run -> results ->
analysis -> plots / CLI.
"""

__version__ = "0.3.0"
