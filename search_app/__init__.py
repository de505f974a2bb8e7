"""Gongkai search application: search over the index (``search_app.search``, no Flask),
the Flask web front end and JSON API, and the ``gongkai`` command line."""
