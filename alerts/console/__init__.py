"""The console: sign-in and roles, ward view, patient view, home view, administration, in Vietnamese and English.

``alerts.console.app.install`` adds it to the FastAPI app of
``alerts.http.create_app``. Kept empty so that ``rpm users`` (alerts.console.cli)
starts without loading the web stack.
"""
