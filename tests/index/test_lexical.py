"""BM25 search and question coverage on tiny known passages; saved and loaded with its index."""
import json

import numpy as np
import pytest

from fakes import FakeEmbedder
from index.lexical import LexicalIndex, LexicalMismatch
from index.store import IndexDir, load
from index.sync import sync

TEXTS = ["The force's response to domestic abuse is poor.",
         "Neighbourhood teams lack direction.",
         "Domestic burglaries wait days for an officer."]


@pytest.fixture(scope="module")
def lexical():
    return LexicalIndex([10, 11, 12], TEXTS)


def test_search_ranks_the_passage_holding_the_terms_first_and_honours_allowed(lexical):
    keys, scores = lexical.search("domestic abuse response", 3)
    assert keys[0] == 10 and scores[0] > 0 and list(scores) == sorted(scores, reverse=True)
    keys, _ = lexical.search("domestic abuse response", 3, allowed=np.array([11, 12]))
    assert 10 not in keys and keys.tolist() == [12]


def test_coverage_is_the_share_of_the_question_a_passage_holds(lexical):
    assert lexical.coverage("domestic abuse response", 10) == pytest.approx(1.0)
    assert lexical.coverage("response to domestic abuse", 11) == 0.0
    part = lexical.coverage("domestic abuse response", 12)  # holds only "domestic", the commonest
    assert 0.0 < part < 0.5


def test_a_term_no_passage_holds_weighs_most(lexical):
    # "Kent" is in no passage: rarer than any term that is, so it costs the question the most.
    assert lexical.coverage("Kent domestic abuse", 10) < lexical.coverage("neighbourhood domestic abuse", 10)


def test_coverage_of_stop_words_only_or_unknown_key_is_zero(lexical):
    assert lexical.coverage("what is the", 10) == 0.0
    assert lexical.coverage("domestic abuse", 99) == 0.0
    assert LexicalIndex([], []).coverage("domestic abuse", 10) == 0.0


# --- saved with its index version, loaded at the next start ------------------------------------

QUESTIONS = ["domestic abuse response", "Neighbourhood teams", "officer waits for burglaries", "what is the", "Kent"]


def results(index, question):
    keys, scores = index.search(question, 3)
    only, _ = index.search(question, 3, allowed=np.array([12, 11, 99]))
    return keys.tolist(), scores.tolist(), only.tolist(), index.term_weights(question), index.coverage(question, 12)


@pytest.mark.parametrize("mmap", [True, False])
def test_a_saved_index_loads_and_answers_exactly_as_the_built_one(lexical, tmp_path, mmap):
    lexical.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25", mmap=mmap)
    assert len(loaded) == 3
    for question in QUESTIONS:
        assert results(loaded, question) == results(lexical, question), question


def test_an_empty_index_saves_and_loads(tmp_path):
    LexicalIndex([], [], "nothing").save(tmp_path / "bm25")
    empty = LexicalIndex.load(tmp_path / "bm25", "nothing")
    assert len(empty) == 0 and empty.search("domestic abuse", 3)[0].size == 0


def test_a_copy_built_another_way_is_refused(lexical, tmp_path):
    # What the texts were made from (the caller's name for it) and how they became terms are
    # saved with the index: a copy made from other texts or with another stemmer never loads.
    lexical.save(tmp_path / "bm25")
    with pytest.raises(LexicalMismatch, match="made_from"):
        LexicalIndex.load(tmp_path / "bm25", made_from="other titles")
    meta = json.loads((tmp_path / "bm25" / "meta.json").read_text())
    assert {"stopwords", "stemmer", "pystemmer", "bm25s", "format"} <= set(meta)
    (tmp_path / "bm25" / "meta.json").write_text(json.dumps({**meta, "stemmer": "porter"}))
    with pytest.raises(LexicalMismatch, match="stemmer 'porter', not 'english'"):
        LexicalIndex.load(tmp_path / "bm25")
    (tmp_path / "bm25" / "meta.json").unlink()  # a save cut short: no meta.json
    with pytest.raises(FileNotFoundError):
        LexicalIndex.load(tmp_path / "bm25")


@pytest.fixture
def index_dir(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.txt").write_text("Report A\n\n" + "\n\n".join(TEXTS) + "\n")
    (lib / "b.md").write_text("Report B\n\nChildren wait too long for help from the domestic abuse team.\n")
    sync(lib, tmp_path / "idx", embedder=FakeEmbedder(), progress=False, out=lambda line: None)
    return lib, IndexDir(tmp_path / "idx")


def test_the_index_version_saves_its_bm25_once_and_later_loads_it(index_dir, monkeypatch):
    _, store = index_dir
    built = load(store).lexical
    saved = store.artefact(store.read_manifest(), "bm25")
    assert (saved / "meta.json").is_file()

    def no_building(*args, **kwargs):
        raise AssertionError("rebuilt although a saved copy was there")

    monkeypatch.setattr(LexicalIndex, "__init__", no_building)
    again = load(store).lexical
    for question in ("domestic abuse response", "children waiting for help", "Report B"):
        assert again.search(question, 5)[0].tolist() == built.search(question, 5)[0].tolist()
        assert again.search(question, 5)[1].tolist() == built.search(question, 5)[1].tolist()


def test_a_new_title_or_a_damaged_copy_is_rebuilt_and_replaced(index_dir):
    lib, store = index_dir
    load(store).lexical
    saved = store.artefact(store.read_manifest(), "bm25")
    # A sidecar changes a title: same segments, same folder, other texts.
    (lib / "b.json").write_text(json.dumps({"title": "Thurrock family hub"}))
    sync(lib, store.path, embedder=FakeEmbedder(), progress=False, out=lambda line: None)
    assert store.artefact(store.read_manifest(), "bm25") == saved
    assert load(store).lexical.search("Thurrock", 5)[0].size  # the new title is searched
    assert LexicalIndex.load(saved, load(store)._lexical_source())  # and saved in place of the old
    (saved / "keys.npy").write_bytes(b"damaged")
    assert load(store).lexical.search("Thurrock", 5)[0].size


def test_a_read_only_index_keeps_its_bm25_in_memory(index_dir, monkeypatch):
    _, store = index_dir

    def read_only(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(IndexDir, "save_artefact", read_only)
    assert load(store).lexical.search("domestic abuse", 3)[0].size
    assert not store.artefact(store.read_manifest(), "bm25").exists()
