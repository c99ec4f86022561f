import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.ingest import IngestError, article_id_for, decode_bytes, ingest


def test_seeds_are_read_with_their_dates(seeds_dir):
    articles = ingest(seeds_dir)
    assert len(articles) == 5
    assert all(a.ok for a in articles)
    published = json.loads((seeds_dir / "published.json").read_text())
    for a in articles:
        assert a.published == date.fromisoformat(published[a.file_name])
        assert len(a.article_id) == 16


def test_article_id_ignores_whitespace_layout():
    assert article_id_for("Clashes  killed\n 60 fighters.") == article_id_for("Clashes killed 60 fighters.")
    assert article_id_for("Clashes killed 60") != article_id_for("Clashes killed 61")


def test_duplicate_files_are_flagged(tmp_path):
    text = "Clashes east of the town killed at least 29 regime forces and 31 rebels on Tuesday."
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "b.txt").write_text(text.replace(" ", "  "))
    articles = ingest(tmp_path, default_published=date(2019, 8, 27))
    assert articles[0].metadata.get("duplicate_of") is None
    assert articles[1].metadata["duplicate_of"] == "a.txt"


def test_markdown_front_matter(tmp_path):
    (tmp_path / "x.md").write_text(
        "---\ntitle: Clashes in Idlib\npublished: 2019-08-27\nurl: https://example.org/a\nsource: AFP\n---\n"
        "Clashes east of Khan Sheikhun killed 60 fighters on Tuesday, a monitor said.\n"
    )
    (a,) = ingest(tmp_path)
    assert a.ok and a.title == "Clashes in Idlib" and a.published == date(2019, 8, 27)
    assert a.url == "https://example.org/a" and a.source == "AFP"
    assert not a.text.startswith("---")


def test_html_main_text_and_date(tmp_path):
    body = " ".join(["Clashes east of Khan Sheikhun killed 60 fighters on Tuesday, a war monitor said."] * 5)
    (tmp_path / "page.html").write_text(
        "<html><head><title>Idlib clashes</title>"
        '<meta property="article:published_time" content="2019-08-27T10:00:00Z"></head>'
        "<body><nav>Home | World | Sport</nav><script>var x = 1;</script>"
        f"<article><h1>Idlib clashes</h1><p>{body}</p></article><footer>Cookies</footer></body></html>"
    )
    (a,) = ingest(tmp_path)
    assert a.ok, a.error
    assert "Khan Sheikhun" in a.text and "var x" not in a.text
    assert a.published == date(2019, 8, 27)


def test_bad_files_fail_with_reasons_and_do_not_stop_ingest(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("   \n\t  \n")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (tmp_path / "big.txt").write_text("x" * 5000)
    (tmp_path / "good.txt").write_text("Clashes east of Khan Sheikhun killed 60 fighters on Tuesday, a monitor said.")
    (tmp_path / "notes.csv").write_text("ignored")
    articles = {a.file_name: a for a in ingest(tmp_path, default_published=date(2019, 8, 27), max_bytes=4000)}
    assert set(articles) == {"empty.txt", "blank.txt", "image.txt", "big.txt", "good.txt"}
    assert articles["empty.txt"].error == "file is empty"
    assert articles["blank.txt"].error == "file is empty"
    assert "binary" in articles["image.txt"].error
    assert "limit" in articles["big.txt"].error
    assert articles["good.txt"].ok


def test_encodings():
    assert decode_bytes("Ma’arrat".encode("utf-16"))[0] == "Ma’arrat"
    assert decode_bytes("Ma’arrat".encode("utf-8-sig")) == ("Ma’arrat", "utf-8-sig")
    assert decode_bytes("Alépè".encode("latin-1"))[0] == "Alépè"


def test_missing_date_is_a_clear_failure(tmp_path):
    (tmp_path / "a.txt").write_text("Clashes east of Khan Sheikhun killed 60 fighters on Tuesday, a monitor said.")
    (a,) = ingest(tmp_path)
    assert not a.ok and "--published" in a.error


def test_missing_folder():
    with pytest.raises(IngestError):
        ingest(Path("/nonexistent/folder"))


def test_symlink_loop_does_not_hang(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "a.txt").write_text("Clashes east of Khan Sheikhun killed 60 fighters on Tuesday, a monitor said.")
    assert [a.file_name for a in ingest(tmp_path, default_published=date(2019, 8, 27))] == ["a.txt"]
