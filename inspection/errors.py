"""The errors a client can cause on reports and cases; the API and pages map each to a status."""


class InspectionError(Exception):
    """Base of the errors of the inspectors' side."""


class NotPermitted(InspectionError):
    """The user may see the case or report but may not do this (HTTP 403)."""


class Conflict(InspectionError):
    """Not allowed in the current state (HTTP 409, with a machine-readable `code`)."""

    def __init__(self, message: str, *, code: str, status: str):
        super().__init__(message)
        self.code = code
        self.current_status = status


class InvalidInput(InspectionError):
    """What came with the action is not acceptable (HTTP 400, per field)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors
