"""The one error type of the data, scoring and corpus tools."""


class DataError(Exception):
    """A problem with the input data (a file, a line, an utterance), as one readable line."""
