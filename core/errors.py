"""The errors a client can cause in the workflow; the API and pages map each to a status code."""


class WorkflowError(Exception):
    """Base of the errors a client can cause; the API maps each to its status code."""


class NotPermitted(WorkflowError):
    """The user may see the request but may not do this (HTTP 403)."""


class InvalidTransition(WorkflowError):
    """The action is not allowed in the request's current state (HTTP 409)."""

    def __init__(self, message: str, status: str):
        super().__init__(message)
        self.current_status = status


class InvalidInput(WorkflowError):
    """The action is allowed, but what came with it is not (HTTP 400, per field)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class UploadTooLarge(WorkflowError):
    """An upload larger than ATTACHMENT_MAX_BYTES (HTTP 413)."""
