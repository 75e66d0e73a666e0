"""No silent wrong results: containers whose iteration is not their texts, and file names given as text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import kontak_nlp
from kontak_nlp import Classifier, InputError


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        (pd.DataFrame({"text": ["Menlu bertemu.", "Perang."]}), r"classify\(df\['text'\]\)"),
        ({"a": "Menlu bertemu.", "b": "Perang."}, r"classify\(list\(d.values\(\)\)\)"),
        (Path("berita.txt"), r"read the file first"),
    ],
    ids=["dataframe", "dict", "path"],
)
def test_containers_that_are_not_texts_are_refused_with_the_fix(
    tiny_classifier: Classifier, value: object, fix: str
) -> None:
    with pytest.raises(InputError, match=fix):
        kontak_nlp.classify(value, model=tiny_classifier)
    with pytest.raises(InputError, match=fix):
        tiny_classifier.predict_proba(value)


def test_a_dataset_is_refused_with_the_fix(tiny_classifier: Classifier) -> None:
    import datasets

    ds = datasets.Dataset.from_dict({"text": ["Menlu bertemu."]})
    with pytest.raises(InputError, match=r"classify\(ds\['text'\]\)"):
        kontak_nlp.classify(ds, model=tiny_classifier)


def test_a_series_and_a_file_read_by_the_user_still_work(tiny_classifier: Classifier, tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": ["Menlu bertemu.", "Perang."]}, index=[10, 11])
    out = kontak_nlp.classify(frame["text"], model=tiny_classifier)
    assert list(out.index) == [10, 11] and list(out.columns[:3]) == ["text", "label", "score"]
    file = tmp_path / "lines.txt"
    file.write_text("Menlu bertemu.\nPerang.\n", encoding="utf-8")
    assert len(kontak_nlp.classify(file.read_text(encoding="utf-8").splitlines(), model=tiny_classifier)) == 2


def test_a_file_name_given_as_text_is_refused(
    tiny_classifier: Classifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("berita.txt").write_text("JAKARTA - Menlu RI bertemu Menlu Jepang.", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"'berita.txt' is the name of an existing file.*Path\('berita.txt'\)"
    ):
        kontak_nlp.classify_article("berita.txt", model=tiny_classifier)
    with pytest.raises(InputError, match="existing file"):
        kontak_nlp.classify("berita.txt", model=tiny_classifier)
    assert kontak_nlp.classify("berita.txt lain", model=tiny_classifier).text == "berita.txt lain"


def test_classify_article_reads_a_path(tiny_classifier: Classifier, tmp_path: Path) -> None:
    file = tmp_path / "berita.txt"
    text = "Menlu RI Terima Dubes Jepang\n\nJAKARTA - Menlu RI menerima Dubes Jepang pada Senin."
    file.write_text(text, encoding="utf-8")
    from_path = kontak_nlp.classify_article(file, model=tiny_classifier)
    from_text = kontak_nlp.classify_article(text, model=tiny_classifier)
    assert from_path.text == text
    assert [s.label for s in from_path] == [s.label for s in from_text]
    with pytest.raises(InputError, match="cannot read the article file"):
        kontak_nlp.classify_article(tmp_path / "missing.txt", model=tiny_classifier)
    (tmp_path / "latin1.txt").write_bytes("Menlu bertemu di S\xe3o Paulo.".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        kontak_nlp.classify_article(tmp_path / "latin1.txt", model=tiny_classifier)
