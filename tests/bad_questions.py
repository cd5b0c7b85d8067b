"""Hostile and odd questions, in one place for the qa, API and browser tests (issue 11, part 3).

Each must get an answer, an abstention or a one-line message: never an error, a traceback or a
500, and in the page never a running script. ``PWNED`` is what every script fragment here would
set if it ran (``window.__pwned``).
"""
from __future__ import annotations

PWNED = "window.__pwned=1"

# name -> question. Names are test ids: short, ASCII.
BAD_QUESTIONS: dict[str, str] = {
    "whitespace": " \t\n \u00a0\u2003 ",
    "ten-thousand-chars": ("How are missing children handled? " * 400)[:10_000],
    "one-long-word": "a" * 10_000,
    "control-chars": "How \x01are\x02 missing\x07 children\x1b[31m handled?\x7f\x9b",
    "nul": "domestic\x00abuse\x00",
    "only-nul-and-controls": "\x00\x01\x02\x1f\x7f",
    "emoji": "🚓👮‍♀️ what about 🏠 domestic abuse? 🤔🔥",
    "only-emoji": "🤔🤔🤔",
    "only-punctuation": "?!?!... ;;; --- ***",
    "arabic": "ماذا قال المفتشون عن العنف المنزلي؟",
    "hebrew-with-rtl-override": "\u202eמה אמרו על התעללות במשפחה?\u202c domestic abuse",
    "zero-width": "\u200b\u200c\u200d\ufeff",
    "sql-drop": "'; DROP TABLE reports; --",
    "sql-union": "domestic abuse' OR '1'='1' UNION SELECT * FROM passages --",
    "script-tag": f"<script>{PWNED}</script> domestic abuse",
    "img-onerror": f'<img src=x onerror="{PWNED}"> domestic abuse',
    "svg-onload": f'"><svg onload={PWNED}> domestic abuse',
    "attribute-break": f"' onmouseover='{PWNED}' data-x='",
    "javascript-link": f"javascript:{PWNED}//domestic abuse",
    "markdown-link": f"[domestic abuse](javascript:{PWNED}) [x](https://example.invalid/)",
    "markdown-image": f"![x](x \"onerror={PWNED}\") ![y](javascript:{PWNED})",
    "html-entities": "&lt;script&gt;window.__pwned=1&lt;/script&gt; &amp; domestic abuse",
    "template-braces": "{{7*7}} ${7*7} {% raw %} domestic abuse",
    "iframe-srcdoc": f'<iframe srcdoc="<script>parent.{PWNED}</script>"></iframe>',
    "lone-surrogate": "domestic \ud800 abuse \udfff",
    "alert": "<script>alert('pwned')</script><img src=x onerror=alert(1)> domestic abuse",
}

# The normal question the page must still answer after all of the above.
NORMAL = "What did the inspectors say about domestic abuse?"

# The ones refused with a one-line message (its start); every other one gets an answer or an
# abstention. Control and invisible characters are not words, so a question of nothing else is
# empty; the length limit is qa.ask.MAX_QUESTION_CHARS.
REFUSED = {
    "whitespace": "Empty question",
    "only-nul-and-controls": "Empty question",
    "zero-width": "Empty question",
    "ten-thousand-chars": "Question is 9,999 characters long; the limit is 1,000",
    "one-long-word": "Question is 10,000 characters long; the limit is 1,000",
}
# Words hidden among characters that are not text: once those are dropped the question is answered.
ANSWERED = {"nul", "lone-surrogate", "emoji"}
