"""The HTTP side of incidex: one FastAPI app (``incidex.serve.app.create_app``)."""
