"""Errors raised for bad raster input; each message names the file and the problem."""


class GeoError(ValueError):
    """Bad geospatial input: the message names the file and what is wrong with it."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f'{path}: {problem}')


class RasterReadError(GeoError):
    """A raster cannot be opened or decoded (missing, corrupt, truncated)."""
