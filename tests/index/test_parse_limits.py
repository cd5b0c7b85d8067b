"""Per-file limits on reading PDFs, enforced in the parsing child process."""
from pathlib import Path

import pytest

from index.parse import Limits, Parser
from index.errors import ReportError

DATA = Path(__file__).resolve().parent.parent / "data"
OFSTED = DATA / "80468_essex__ilacs_07-january-2019.pdf"


def test_a_parse_over_the_time_limit_is_stopped_and_the_next_file_still_reads():
    with Parser(Limits(seconds=0.05)) as parser:
        with pytest.raises(ReportError, match=r"parsing took over 0 s — not indexed"):
            parser.read(OFSTED)
    with Parser(Limits(seconds=60)) as parser:
        assert parser.read(OFSTED).page_starts


def test_a_parse_over_the_memory_cap_is_refused():
    # 40 MB of address space is less than Python and pypdf need: the child fails, the file is refused.
    with Parser(Limits(memory=40 * 1024 * 1024)) as parser:
        with pytest.raises(ReportError, match="memory|parser crashed"):
            parser.read(OFSTED)


def test_size_and_page_limits():
    with pytest.raises(ReportError, match="over the 0 MB limit"):
        Parser(Limits(max_bytes=1000)).read(OFSTED)
    with Parser(Limits(max_pages=5)) as parser:
        with pytest.raises(ReportError, match="pages"):
            parser.read(OFSTED)


def test_limits_are_checked_where_they_enter():
    with pytest.raises(ValueError, match="seconds must be greater than 0"):
        Limits(seconds=0)
