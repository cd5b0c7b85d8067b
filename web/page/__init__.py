"""The page's parts, each in its own home; ``app.py`` lays them out and wires their events.

- ``markup.py``  the small pieces every view uses (escaping, marks, where a citation is)
- ``chat.py``    the chat's turns, the answer with its ``[n]`` buttons, the sources panel
- ``viewer.py``  the source viewer: a report's text with the cited paragraph marked
- ``pageview.py`` its page view: a PDF's pages drawn, the passage and the answer boxed on them
- ``reports.py`` the Reports tab and what adding or removing reports did
- ``events.py``  what each question, click and upload does (the handlers ``app.py`` wires)
- ``viewer.js``, ``transcript.js``  the page's behaviour in the browser (``js_on_load`` bodies)
- ``page.css``   how it looks, phone width included

Views are pure functions from qa's and index's records to HTML strings, tested on tiny inputs.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def asset(name: str) -> str:
    """The text of one of the page's files beside this module (``viewer.js``, ``page.css``...)."""
    return (HERE / name).read_text(encoding="utf-8")
