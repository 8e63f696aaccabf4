"""A Gemma 3 GGUF's tokenizer, rebuilt for KerasHub (a SentencePiece proto) and for the
runtime (``tokenizers``), both giving llama.cpp's ids.

The file holds a SentencePiece-style BPE vocabulary (``tokenizer.ggml.model`` "llama"):
pieces with scores and no merges, byte-fallback pieces ``<0x00>``..``<0xFF>``, and
user-defined pieces (newline, tab and space runs, HTML tags) written with raw spaces.
llama.cpp splits user-defined pieces out of the raw text first, writes every other
space as "▁" and merges adjacent pieces best score first. The proto stores the
user-defined pieces with "▁" for their spaces, since SentencePiece matches them
after it has escaped the spaces; ``tokenizers`` gets merges ranked by the merged
piece's score, the order llama.cpp merges in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litecomplete.errors import GgufFileError
from litecomplete.models.gguf.reader import GgufFile

SPACE = "\u2581"  # SentencePiece's visible space
# llama.cpp's token types, which SentencePiece numbers the same way.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class SentencePieceVocabulary:
    """A GGUF's ``llama`` tokenizer, checked."""

    pieces: list[str]
    scores: list[float]
    types: list[int]
    bos_id: int
    eos_id: int
    unk_id: int
    pad_id: int
    add_space_prefix: bool


def sentencepiece_vocabulary(model: GgufFile) -> SentencePieceVocabulary:
    """The file's SentencePiece-style vocabulary; a GgufFileError names what is wrong."""
    meta = model.metadata
    kind = meta.get("tokenizer.ggml.model")
    if kind != "llama":
        raise GgufFileError(
            f"{model.path} has a {kind!r} tokenizer; a Gemma 3 file has SentencePiece's ('llama')"
        )
    pieces = [str(p) for p in meta.get("tokenizer.ggml.tokens") or []]
    scores = [float(s) for s in meta.get("tokenizer.ggml.scores") or []]
    types = [int(t) for t in meta.get("tokenizer.ggml.token_type") or []]
    if not pieces or len(scores) != len(pieces) or len(types) != len(pieces):
        raise GgufFileError(
            f"{model.path}: the tokenizer has {len(pieces)} pieces, {len(scores)} scores and "
            f"{len(types)} types; they must be as many, and more than none"
        )
    unknown = sorted(set(types) - {NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE})
    if unknown:
        raise GgufFileError(f"{model.path}: the tokenizer has unknown token types {unknown}")

    def token_id(key: str) -> int:
        index = meta.get(f"tokenizer.ggml.{key}_token_id")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(pieces):
            raise GgufFileError(
                f"{model.path}: tokenizer.ggml.{key}_token_id is {index!r}, not a token of the "
                f"{len(pieces)}-token vocabulary"
            )
        return index

    return SentencePieceVocabulary(
        pieces=pieces,
        scores=scores,
        types=types,
        bos_id=token_id("bos"),
        eos_id=token_id("eos"),
        unk_id=token_id("unknown"),
        pad_id=token_id("padding"),
        add_space_prefix=bool(meta.get("tokenizer.ggml.add_space_prefix", False)),
    )


def sentencepiece_proto(vocab: SentencePieceVocabulary) -> bytes:
    """A serialized SentencePiece BPE model of ``vocab`` (for ``Gemma3Tokenizer``)."""
    from sentencepiece import sentencepiece_model_pb2 as sp

    proto = sp.ModelProto()
    for i, (piece, score, kind) in enumerate(
        zip(vocab.pieces, vocab.scores, vocab.types, strict=True)
    ):
        entry = proto.pieces.add()
        entry.piece = piece.replace(" ", SPACE) if kind == USER_DEFINED else piece
        entry.score = score
        entry.type = UNKNOWN if i == vocab.unk_id else kind
    trainer = proto.trainer_spec
    trainer.model_type = sp.TrainerSpec.BPE
    trainer.vocab_size = len(vocab.pieces)
    trainer.byte_fallback = True
    trainer.unk_id, trainer.bos_id = vocab.unk_id, vocab.bos_id
    trainer.eos_id, trainer.pad_id = vocab.eos_id, vocab.pad_id
    trainer.unk_piece, trainer.bos_piece = vocab.pieces[vocab.unk_id], vocab.pieces[vocab.bos_id]
    trainer.eos_piece, trainer.pad_piece = vocab.pieces[vocab.eos_id], vocab.pieces[vocab.pad_id]
    trainer.split_by_whitespace = False
    trainer.allow_whitespace_only_pieces = True
    normalizer = proto.normalizer_spec
    normalizer.name = "identity"
    normalizer.add_dummy_prefix = vocab.add_space_prefix
    normalizer.remove_extra_whitespaces = False
    normalizer.escape_whitespaces = True
    return bytes(proto.SerializeToString())


def _merges(vocab: SentencePieceVocabulary) -> list[tuple[str, str]]:
    """Every split of a normal piece into two normal pieces, best merged score first
    (llama.cpp merges the best-scoring adjacent pair first), ties by the pieces' ids."""
    ids = {
        p: i for i, (p, t) in enumerate(zip(vocab.pieces, vocab.types, strict=True)) if t == NORMAL
    }
    ranked = []
    for piece, merged in ids.items():
        for cut in range(1, len(piece)):
            left, right = ids.get(piece[:cut]), ids.get(piece[cut:])
            if left is not None and right is not None:
                ranked.append((-vocab.scores[merged], left, right))
    ranked.sort()
    return [(vocab.pieces[left], vocab.pieces[right]) for _, left, right in ranked]


def vocabulary_of_proto(proto: bytes) -> SentencePieceVocabulary:
    """A SentencePiece BPE model's vocabulary (``sentencepiece_proto``'s inverse)."""
    from sentencepiece import sentencepiece_model_pb2 as sp

    model = sp.ModelProto()
    model.ParseFromString(proto)
    if model.trainer_spec.model_type != sp.TrainerSpec.BPE:
        raise ValueError("the SentencePiece model is not BPE; litecomplete reads BPE ones")
    pieces = [
        p.piece.replace(SPACE, " ") if p.type == USER_DEFINED else p.piece for p in model.pieces
    ]
    trainer = model.trainer_spec
    return SentencePieceVocabulary(
        pieces=pieces,
        scores=[p.score for p in model.pieces],
        types=[CONTROL if p.type == UNKNOWN else int(p.type) for p in model.pieces],
        bos_id=trainer.bos_id,
        eos_id=trainer.eos_id,
        unk_id=trainer.unk_id,
        pad_id=trainer.pad_id,
        add_space_prefix=model.normalizer_spec.add_dummy_prefix,
    )


def gemma3_tokenizer_from_gguf(model: GgufFile) -> Any:
    """The file's tokenizer as a ``tokenizers.Tokenizer`` (the runtime's)."""
    return runtime_tokenizer(sentencepiece_vocabulary(model))


def runtime_tokenizer(vocab: SentencePieceVocabulary) -> Any:
    """``vocab`` as a ``tokenizers.Tokenizer`` giving llama.cpp's ids."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers

    table = {piece: i for i, piece in enumerate(vocab.pieces)}
    unk = vocab.pieces[vocab.unk_id]
    bpe = models.BPE(table, _merges(vocab), unk_token=unk, fuse_unk=True, byte_fallback=True)
    tokenizer = Tokenizer(bpe)
    steps = [normalizers.Prepend(SPACE)] if vocab.add_space_prefix else []
    tokenizer.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", SPACE)])
    tokenizer.decoder = decoders.Sequence(
        [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    )

    def added(kind: int, special: bool) -> list[Any]:
        return [
            AddedToken(piece, special=special, normalized=False)
            for piece, piece_kind in zip(vocab.pieces, vocab.types, strict=True)
            if piece_kind == kind
        ]

    # Control pieces are special: typed text is text (``runtime.tokenizer``); the
    # user-defined ones are split out of any text, as llama.cpp does.
    tokenizer.add_special_tokens(added(CONTROL, special=True))
    tokenizer.add_tokens(added(USER_DEFINED, special=False))
    return tokenizer
