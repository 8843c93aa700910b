"""The wushe station service (FastAPI). Built in issue #4; the engine lives in ``matcher``."""
