"""Demo data for `manage.py seed_demo`: above every app, driving their real services."""
