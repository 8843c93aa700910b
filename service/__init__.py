"""The wushe station service: FastAPI over SQLAlchemy, with the station web page.

Thin by design: routes parse, call the engine (``matcher``) or the database, and
return. ``service.app.create_app`` builds the app.
"""
