"""The one exception type of `sw`.

Everything that is wrong with the user's input (a bad partition count, a weight that
is not a finite 2-D matrix, a model without Linear layers, a missing data set) raises
`PruningError`. It subclasses ValueError so generic callers can catch it, and the CLI
turns it into a one-line ``error: ...`` message with exit status 2.
"""


class PruningError(ValueError):
    """Bad input to sw: the message is one line and says what to fix."""
