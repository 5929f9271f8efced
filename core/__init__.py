"""The ground floor: what every app may use and that knows no app (bulk writes, API errors
and pagination, the errors a client can cause)."""
