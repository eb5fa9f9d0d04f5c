"""The one exception type users see: bad input, reported as a single line (exit code 2)."""


class FraudlibError(Exception):
    """Bad input or unusable data: the message is one line meant for the user, no traceback."""


class DataError(FraudlibError):
    """The data does not meet the contract (missing partition, wrong schema, nulls, duplicates)."""


class ConfigError(FraudlibError):
    """A rules config or parameter that cannot be used."""
