"""The web app's parts; ``app.py`` lays out the page and launches it.

``page/`` is the page itself: views (pure functions to HTML), handlers (``events.py``, the only
module here that imports gradio, and only when ``app.build_app`` runs), JS and CSS. Beside it:
start-up (``startup.py``: qa is imported in the loading thread only), what the file routes serve
(``files.py``), who may use the app (``users.py``), how many questions it answers at once
(``gate.py``) and memory given back after a sync (``memory.py``). qa and index are imported
inside functions only, for the asker and the errors a user can act on.
"""
