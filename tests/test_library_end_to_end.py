"""The report library end to end, with the real model: add an inspection PDF the project has
never indexed, ask about it, check its page and paragraph citations, re-sync, remove it."""
import os
import shutil
import subprocess
import sys

import pytest

from index.store import IndexDir, load
from qa.ask import Asker

from conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow
OFSTED = ROOT / "tests" / "data" / "80468_essex__ilacs_07-january-2019.pdf"
OFSTED_ID = "80468_essex__ilacs_07-january-2019"


def cli(library, index, *args, env=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "qa", "--library", str(library), "--index", str(index), *args],
                          cwd=ROOT, env=env, text=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder):
    lib = tmp_path_factory.mktemp("lib")
    for f in SEEDS.iterdir():
        shutil.copy(f, lib)
    idx = tmp_path_factory.mktemp("idx")
    asker = Asker(lib, idx, embedder=embedder)
    asker.sync(progress=False, out=lambda line: None)
    return lib, idx, asker


def test_add_pdf_then_cite_its_pages_and_paragraph_numbers(library):
    lib, idx, asker = library
    asker.ask("What did the inspectors say about domestic abuse?")  # the app's view before the add
    run = cli(lib, idx, "add", str(OFSTED))
    assert run.returncode == 0, run.stderr
    assert "Plan: 1 to add, 0 to update, 0 to remove, 0 renamed, 1 unchanged" in run.stdout
    # The running Asker sees the index the CLI changed, without a restart.
    answer = asker.ask("Are children in need of help visited more often than the guidance requires?")
    top = answer.citations[0]
    assert top.report == OFSTED_ID and top.number == "12" and (top.page, top.page_end) == (4, 4)
    assert top.title == "Essex County Council: Inspection of children’s social care services"
    assert top.text.startswith("12. Social workers know children very well.")
    answer = asker.ask("What happens at the children and families hub when risks to a child increase?", reports=[OFSTED_ID])
    assert {c.report for c in answer.citations} == {OFSTED_ID}
    crossing = [c for c in answer.citations if c.number == "5"]
    assert crossing and (crossing[0].page, crossing[0].page_end) == (2, 3)  # a paragraph across a page break
    text = asker.document(OFSTED_ID)[1]
    assert all(text[c.start : c.end] == c.text for c in answer.citations)
    # BM25 is in step with the vectors: the added report's own words find it lexically too.
    lexical = asker.ask("Inside Out project", retriever="bm25")
    assert lexical.citations[0].report == OFSTED_ID and "Inside Out" in lexical.citations[0].text


def test_second_sync_embeds_nothing_and_loads_no_model(library, tmp_path):
    lib, idx, _ = library
    # A torch that cannot be imported: a no-op sync must not need the model at all.
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('a no-op sync imported torch')\n")
    run = cli(lib, idx, "index", env={"PYTHONPATH": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    assert "0 to add, 0 to update, 0 to remove, 0 renamed, 2 unchanged" in run.stdout


def test_removing_the_file_removes_every_passage(library):
    lib, idx, asker = library
    run = cli(lib, idx, "remove", OFSTED.name)
    assert run.returncode == 0, run.stderr
    loaded = load(IndexDir(idx))
    assert not [p for p in loaded.passages.values() if p.report == OFSTED_ID]
    answer = asker.ask("Do social workers know the children they work with well?")
    assert OFSTED_ID not in {c.report for c in answer.citations}
    for retriever in ("bm25", "hybrid", "dense"):
        assert OFSTED_ID not in {c.report for c in asker.ask("Inside Out project", retriever=retriever).citations}
