"""Run a fast-format model on ai-edge-litert: no TensorFlow, caches kept in place.

The KV caches are buffers that every signature reads and writes in place
(``compiled_graph``): a decode step writes one token and its position and runs; a
prefill feeds a bucket of tokens from wherever the cached prefix ends (prefix
reuse). Nothing but tokens, positions and the logits crosses into Python.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from litecomplete import contract as c
from litecomplete.errors import ConfigError, ModelFileError, PromptError
from litecomplete.inspect.contracts import fast_contract_problems
from litecomplete.inspect.model_info import ModelInfo, read_model_info
from litecomplete.runtime.byte_vocab import unspellable_characters
from litecomplete.runtime.compiled_graph import CompiledGraphs
from litecomplete.runtime.generation import (
    Completion,
    FinishReason,
    GenerationConfig,
    Piece,
)
from litecomplete.runtime.prompt import validate_prompt
from litecomplete.runtime.sampling import SamplingConfig, TokenSampler
from litecomplete.runtime.speculative import (
    AUTO_MIN_NGRAM,
    LOOKUP_MIN_NGRAM,
    RECENT_SEQUENCES,
    Drafter,
    LookupDrafter,
    ModelDrafter,
    Speculation,
    SpeculationMode,
    SpeculationStats,
)
from litecomplete.runtime.stopping import StopMatcher
from litecomplete.runtime.streaming import TextDecoder
from litecomplete.runtime.tokenizer import shared_tokenizer

DEFAULT_THREADS = 2  # ai-edge-litert defaults to 1
# A prompt extension this short is fed through decode steps; a longer one through
# a prefill bucket from the cached prefix's end.
DECODE_EXTENSION_MAX = 2


# What one extra invoke costs, in padded token positions, when planning chunks.
INVOKE_COST_TOKENS = 8
TRIM_STEP_MAX = 32  # tokens a too-long prompt's window start moves by at a time


def trim_step(keep: int) -> int:
    """The step a window of ``keep`` tokens moves by: up to 32 tokens, a quarter of it."""
    return max(1, min(TRIM_STEP_MAX, keep // 4))


@cache
def plan_chunks(n: int, buckets: tuple[int, ...]) -> list[int]:
    """Bucket sizes to feed ``n`` tokens with, wasting the fewest padded positions.

    128 tokens with buckets (16, 64, 256) go in as 64 + 64, not padded to 256.
    The last chunk may be partly filled.
    """
    best: list[tuple[int, list[int]]] = [(0, [])]  # best[m]: (cost, chunks) for m tokens
    for m in range(1, n + 1):
        options = []
        for b in buckets:
            cost, chunks = best[max(0, m - b)]
            options.append((cost + b + INVOKE_COST_TOKENS, [*chunks, b]))
        best.append(min(options, key=lambda o: (o[0], len(o[1]))))
    # Fill full chunks first: best[] builds from the end, so reverse to put the
    # partial chunk last.
    return sorted(best[n][1], reverse=True) if n else []


def shares_packed_weights(manifest: c.FastManifest) -> bool:
    """Whether one packed copy of the weights can serve every signature.

    Not with static int8 activations (see ``CompiledGraphs``): ``int8`` files written
    before that mode kept outlier channels in float (no ``outlier_channels`` in the
    manifest) had them.
    """
    return manifest.quantization != "int8" or manifest.outlier_channels is not None


@dataclass
class _Prepared:
    """A prompt fed into the caches: its ids and the logits that follow it."""

    ids: list[int]
    logits: np.ndarray
    reused: int
    # Guessed tokens verified after the prompt in the same call, with the logits after
    # each (a short extension fed with drafts); valid until another token is fed.
    ahead: list[tuple[int, np.ndarray]] = field(default_factory=list)


class FastModel:
    """A loaded fast-format model; one generation at a time."""

    def __init__(
        self,
        path: Path,
        info: ModelInfo,
        manifest: c.FastManifest,
        tokenizer: Any,
        graphs: CompiledGraphs,
    ) -> None:
        self.path = path
        # The tokenizer holds its JSON parsed: the text (MBs for a large vocabulary) goes.
        self.info = replace(info, tokenizer_json=None)
        self.manifest = manifest
        self.tokenizer = tokenizer
        self._unspellable = unspellable_characters(tokenizer)
        self._graphs = graphs
        self.max_length = manifest.max_length
        self.buckets = list(manifest.buckets)
        self.end_token_id = manifest.end_token_id
        self.end_token_ids = frozenset(manifest.end_token_ids)
        self.start_token_id = manifest.start_token_id
        self.num_layers = manifest.decoder.num_layers
        self.vocabulary_size = manifest.decoder.vocabulary_size
        self._cached: list[int] = []  # tokens whose keys and values fill positions 0..n-1
        # Signatures that return every row's logits, for checking drafts (speculative).
        self.verify_lengths = list(manifest.verify)
        # What feeds a prompt chunk of each length: a prefill bucket, else a verify
        # signature (its last row's logits are what a prefill gives).
        self._chunk_signatures = {t: c.verify_signature(t) for t in self.verify_lengths} | {
            b: c.prefill_signature(b) for b in self.buckets
        }
        self.speculation_stats = SpeculationStats()
        # Recent prompts with their completions, newest last: where lookup drafts come from.
        self._recent: deque[list[int]] = deque(maxlen=RECENT_SEQUENCES)
        self._draft_models: dict[Path, FastModel] = {}

    @classmethod
    def load(
        cls,
        path: str | Path,
        num_threads: int = DEFAULT_THREADS,
        weights_cache_dir: Path | None = None,
        info: ModelInfo | None = None,
    ) -> FastModel:
        """Load ``path``; ModelFileError if it is not a valid fast-format file.

        Packed weights are kept in a file in ``weights_cache_dir`` (default: the data
        directory's ``weights-cache``) that later loads map instead of packing again.
        ``info``: the file's ``read_model_info``, where the caller has read it.
        """
        path = Path(path)
        info = info or read_model_info(path, ops=False)
        problems = fast_contract_problems(info)
        if problems:
            raise ModelFileError(f"{path} is not a fast-format model: {'; '.join(problems)}")
        try:
            tokenizer = shared_tokenizer(info.tokenizer_json or "")
        except Exception as e:
            raise ModelFileError(f"{path} carries a tokenizer that does not load: {e}") from None
        manifest = c.FastManifest.from_json(info.manifest)  # checked by the contract
        keys = [
            c.DECODE_SIGNATURE,
            *(c.prefill_signature(b) for b in manifest.buckets),
            *(c.verify_signature(t) for t in manifest.verify),
        ]
        share = shares_packed_weights(manifest)
        graphs = CompiledGraphs(path, keys, num_threads, share, weights_cache_dir)
        return cls(path, info, manifest, tokenizer, graphs)

    @property
    def weights_cache(self) -> Path | None:
        """The file holding this model's packed weights; None when packed in memory."""
        return self._graphs.weights_cache

    @property
    def weights_cache_built(self) -> bool:
        """True when this load packed the weights (no valid cache file was there)."""
        return self._graphs.weights_cache_built

    # ------------------------------------------------------------ tokens

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; ModelFileError if the file's tokenizer gives ids its
        model does not have (the graph would fail on them)."""
        return list(self._encoding(text).ids)

    def _encoding(self, text: str) -> Any:
        """``text`` as a ``tokenizers.Encoding`` (ids and character offsets), checked.

        Characters the vocabulary cannot spell are left out whole (``byte_vocab``).
        """
        if self._unspellable is not None:
            text = self._unspellable.sub("", text)
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        ids = encoding.ids
        if ids and max(ids) >= self.vocabulary_size:
            raise ModelFileError(
                f"{self.path}: its tokenizer gives token id {max(ids)}, but the model's "
                f"vocabulary has {self.vocabulary_size} tokens; the file's tokenizer and "
                "weights do not belong together"
            )
        return encoding

    def _check_ids(self, ids: list[int]) -> None:
        bad = [t for t in ids if not 0 <= t < self.vocabulary_size]
        if bad:
            raise ValueError(
                f"token id {bad[0]} is outside the vocabulary (0 to {self.vocabulary_size - 1})"
            )

    def decode_text(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def prompt_ids(
        self, prompt: str | bytes, max_new_tokens: int, max_prompt_tokens: int | None = None
    ) -> list[int]:
        """Token ids the model sees: start token, then the prompt's NEWEST tokens.

        At most ``max_length - min(max_new_tokens, max_length // 2)`` tokens are kept,
        so the completion always has room in the cache, and at most
        ``max_prompt_tokens`` of the prompt's own. A prompt that is too long loses its
        oldest tokens in steps (``trim_step``), so a text growing at its end keeps the
        same first token, and the cached keys and values, over several calls.
        """
        text = validate_prompt(prompt).decode("utf-8")
        encoding = self._encoding(text)
        ids, offsets = list(encoding.ids), encoding.offsets
        start = [int(self.start_token_id)] if self.start_token_id is not None else []
        if not ids and not start:  # e.g. only characters the vocabulary cannot spell
            raise PromptError(
                "the prompt has no characters this model's vocabulary can spell; give some text"
            )
        keep = self.max_length - min(max_new_tokens, self.max_length // 2) - len(start)
        if max_prompt_tokens is not None:
            keep = min(keep, max_prompt_tokens)
        drop = len(ids) - keep
        if drop > 0:
            step = trim_step(keep)
            drop = -(-drop // step) * step  # up to the next step
            # Byte-level tokens can hold part of a character: never start inside one
            # (its pieces share the character's offsets, so each starts before the
            # previous piece ends).
            while drop < len(ids) and offsets[drop][0] < offsets[drop - 1][1]:
                drop += 1
            if drop == len(ids) and not start:
                raise ConfigError(
                    f"a window of {keep} prompt tokens cannot hold the prompt's last "
                    "character; allow more prompt tokens"
                )
        return start + ids[max(0, drop) :]

    # ------------------------------------------------------------ graph calls

    def _run_decode(self, token: int, pos: int) -> np.ndarray:
        """Feed ``token`` at ``pos``; logits float32[vocab] for the next position."""
        return self._graphs.run(c.DECODE_SIGNATURE, [token], pos)

    def _run_prefill(self, ids: list[int], pos: int) -> np.ndarray:
        """Feed ``ids`` from ``pos`` in bucket-sized chunks; logits after the last one.

        Verify signatures serve as buckets too.
        """
        return self._run_chunks(ids, pos, self._chunk_signatures, every_row=False)[-1]

    def _run_chunks(
        self, ids: list[int], pos: int, signatures: dict[int, str], every_row: bool
    ) -> np.ndarray:
        """Feed ``ids`` from ``pos`` in chunks through ``signatures`` (length -> key);
        float32[rows, vocab]: the logits after every token (``every_row``: verify
        signatures only), else after the last.

        A chunk writes a whole signature's length of cache slots, so it must end inside
        the cache: near the end only the lengths that fit are used, and decode steps
        after them.
        """
        rows: list[np.ndarray] = []
        while ids:
            fitting = tuple(sorted(t for t in signatures if pos + t <= self.max_length))
            if not fitting:
                rows += [self._run_decode(t, pos + i)[np.newaxis] for i, t in enumerate(ids)]
                break
            length = plan_chunks(len(ids), fitting)[0]
            chunk, ids = ids[:length], ids[length:]
            key = signatures[length]
            if key.startswith(c.VERIFY_PREFIX):
                got = self._graphs.run_rows(key, chunk, pos)
            else:
                got = self._graphs.run(key, chunk, pos)[np.newaxis]
            rows = [*rows, got] if every_row else [got[-1:]]  # a prompt keeps its last row
            pos += len(chunk)
        assert rows, "at least one token is fed"
        return np.concatenate(rows)

    def _feed(
        self, ids: list[int], drafter: Drafter | None = None, remaining: int = 0
    ) -> _Prepared:
        """Put ``ids`` into the caches, reusing the longest prefix already there.

        A short extension (a user typed on) goes in with ``drafter``'s guesses of what
        follows, in one verify call, when there are guesses; ``remaining``: the tokens
        the caller will sample.
        """
        reused = 0
        limit = min(len(self._cached), len(ids) - 1)  # the last id must run to give logits
        while reused < limit and self._cached[reused] == ids[reused]:
            reused += 1
        new = ids[reused:]
        self._cached = ids[:reused]  # slots after this are stale from here on
        ahead: list[tuple[int, np.ndarray]] = []
        if len(new) <= DECODE_EXTENSION_MAX and reused:
            logits, ahead = self._advance(new, reused, ids, drafter, remaining)
        else:
            logits = self._run_prefill(new, reused)
        self._cached = list(ids)
        return _Prepared(ids=list(ids), logits=logits, reused=reused, ahead=ahead)

    # ------------------------------------------------------------ token-level API

    def reset(self) -> None:
        """Forget the cached prefix: the next prompt is fed cold."""
        self._cached = []

    def feed(self, ids: list[int]) -> np.ndarray:
        """Make ``ids`` the cached sequence (reusing its cached prefix); logits after it."""
        if not ids or len(ids) > self.max_length:
            raise ValueError(f"feed() takes 1 to {self.max_length} tokens, got {len(ids)}")
        self._check_ids(list(ids))
        return self._feed(list(ids)).logits

    def logits_rows(self, ids: list[int], first: int) -> np.ndarray:
        """Make ``ids`` the cached sequence; the logits after each of ``ids[first:]``:
        float32[len(ids) - first, vocab], row i after ``ids[: first + i + 1]``.

        What evaluation scores: verify signatures give a chunk's rows in one call,
        decode steps give them where none fits (or the file has none).
        """
        if not 0 <= first < len(ids) <= self.max_length:
            raise ValueError(
                f"logits_rows() takes 1 to {self.max_length} tokens and a first row inside "
                f"them, got {len(ids)} tokens from row {first}"
            )
        ids = list(ids)
        self._check_ids(ids)
        if first:
            self._feed(ids[:first])
        self._cached = ids[:first]
        verify = {t: c.verify_signature(t) for t in self.verify_lengths}
        rows = self._run_chunks(ids[first:], first, verify, every_row=True)
        self._cached = ids
        return rows

    def step(self, token: int) -> np.ndarray:
        """Append ``token`` to the cached sequence; logits float32[vocab] after it."""
        pos = len(self._cached)
        if pos >= self.max_length:
            raise ValueError(f"the cache is full ({self.max_length} tokens)")
        self._check_ids([token])
        logits = self._run_decode(token, pos)
        self._cached.append(token)
        return logits

    # ------------------------------------------------------------ generation

    def _continue(
        self,
        prepared: _Prepared,
        config: GenerationConfig,
        sampler: TokenSampler,
        drafter: Drafter | None = None,
    ) -> Iterator[Piece]:
        """Sample after ``prepared``; yields text pieces, the last with a finish reason.

        With a ``drafter``, the logits of the next positions may come from one verify
        call over guessed tokens (``runtime.speculative``); every token is still sampled
        from the logits after exactly the tokens before it.
        """
        self._cached = list(prepared.ids)
        logits, pos = prepared.logits, len(prepared.ids)
        history = list(prepared.ids)
        decoder = TextDecoder(self.tokenizer)
        stops = StopMatcher(config.stop)
        generated = 0
        # Guessed tokens already in the cache after ``pos``, each with the logits after it.
        ahead = list(prepared.ahead)
        try:
            while True:
                token = sampler(logits, history)
                if config.stop_at_end_token and token in self.end_token_ids:
                    yield Piece(stops.flush(), (), FinishReason.STOP)
                    return
                history.append(token)
                generated += 1
                text = stops.feed(decoder.push(token))
                if stops.stopped:
                    yield Piece(text, (token,), FinishReason.STOP)
                    return
                if generated >= config.max_new_tokens or pos >= self.max_length:
                    reason = (
                        FinishReason.LENGTH
                        if generated >= config.max_new_tokens
                        else FinishReason.CACHE_FULL
                    )
                    yield Piece(text + stops.flush(), (token,), reason)
                    return
                if text:
                    yield Piece(text, (token,))
                if ahead and ahead[0][0] == token:  # the guess was right: its row is ready
                    logits = ahead.pop(0)[1]
                    self.speculation_stats.accepted += 1
                else:
                    remaining = config.max_new_tokens - generated
                    logits, ahead = self._advance([token], pos, history, drafter, remaining)
                self._cached.append(token)
                pos += 1
        finally:
            self._recent.append(history)

    def _advance(
        self,
        tokens: list[int],
        pos: int,
        history: list[int],
        drafter: Drafter | None,
        remaining: int,
    ) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
        """Feed ``tokens`` from ``pos`` (``history`` ends with them): the logits after
        the last, and guessed tokens after it (verified in the same call) with the
        logits after each.

        ``remaining``: tokens still to sample; guesses beyond the last one's row are
        not worth a row.
        """
        fitting = [t for t in self.verify_lengths if pos + t <= self.max_length]
        fitting = [t - len(tokens) for t in fitting if t > len(tokens)]  # rows for guesses
        draft: list[int] = []
        if drafter is not None and fitting and remaining > 1:
            short, long = min(fitting[0], remaining - 1), min(fitting[-1], remaining - 1)
            draft = drafter.propose(history, short, long)
        if not draft:
            for offset, token in enumerate(tokens):
                logits = self._run_decode(token, pos + offset)
            return logits, []
        length = len(tokens) + next(t for t in fitting if t >= len(draft))
        rows = self._graphs.run_rows(c.verify_signature(length), [*tokens, *draft], pos)
        self.speculation_stats.verifies += 1
        self.speculation_stats.drafted += len(draft)
        last = len(tokens) - 1
        return rows[last], list(zip(draft, rows[last + 1 :], strict=True))

    def _drafter(self, speculation: Speculation) -> Drafter | None:
        """What drafts for ``speculation``; None where nothing does (off, or a file
        without verify signatures).

        Raises:
            ConfigError: a draft model whose tokenizer or vocabulary is not this one's.
            ModelFileError: a draft file that is not a fast-format model.
        """
        mode = speculation.mode
        if mode is SpeculationMode.OFF or not self.verify_lengths:
            return None
        if mode is SpeculationMode.DRAFT:
            assert speculation.draft is not None  # Speculation checks it
            return ModelDrafter(self._draft_model(speculation.draft))
        minimum = AUTO_MIN_NGRAM if mode is SpeculationMode.AUTO else LOOKUP_MIN_NGRAM
        return LookupDrafter(self._recent, minimum)

    def _draft_model(self, path: Path) -> FastModel:
        """The draft model at ``path``, loaded once and checked against this model."""
        key = Path(path).resolve()
        if key not in self._draft_models:
            if not key.is_file():
                raise ConfigError(f"draft model {path} does not exist")
            draft = FastModel.load(key, self._graphs.num_threads)
            if draft.vocabulary_size != self.vocabulary_size:
                raise ConfigError(
                    f"draft model {path} has a vocabulary of {draft.vocabulary_size} tokens, "
                    f"{self.path.name} one of {self.vocabulary_size}: drafts must be this "
                    "model's tokens"
                )
            if draft.tokenizer is not self.tokenizer:  # shared_tokenizer: same JSON, same object
                raise ConfigError(
                    f"draft model {path} has another tokenizer than {self.path.name}: drafts "
                    "must be this model's tokens"
                )
            self._draft_models[key] = draft
        return self._draft_models[key]

    def _prepare(
        self, prompt: str | bytes, config: GenerationConfig
    ) -> tuple[Drafter | None, _Prepared]:
        """The prompt fed (its cached prefix reused), and the drafter that feeds with it."""
        drafter = self._drafter(config.speculation)
        ids = self.prompt_ids(prompt, config.max_new_tokens, config.max_prompt_tokens)
        return drafter, self._feed(ids, drafter, config.max_new_tokens)

    def stream(
        self, prompt: str | bytes, config: GenerationConfig | None = None
    ) -> Iterator[Piece]:
        """Stream the completion of ``prompt`` as text pieces.

        Raises:
            PromptError: empty prompt or invalid UTF-8 (before anything runs).
        """
        config = config or GenerationConfig()
        drafter, prepared = self._prepare(prompt, config)
        return self._continue(prepared, config, TokenSampler(config.sampling), drafter)

    def complete_n(
        self, prompt: str | bytes, n: int = 1, config: GenerationConfig | None = None
    ) -> list[Completion]:
        """``n`` alternative completions of one prompt, sharing one prefill.

        With a seed, alternative ``i`` samples with ``seed + i``.
        """
        if n < 1:
            raise ConfigError(f"n must be at least 1, got {n}")
        config = config or GenerationConfig()
        drafter, prepared = self._prepare(prompt, config)
        results = []
        for i in range(n):
            sampling = config.sampling
            if sampling.seed is not None:
                sampling = SamplingConfig(**{**sampling.__dict__, "seed": sampling.seed + i})
            pieces = self._continue(prepared, config, TokenSampler(sampling), drafter)
            results.append(_completion(list(pieces), prepared))
            # The next alternative writes its own tokens where the guesses' keys were.
            prepared = replace(prepared, ahead=[])
        return results

    def complete(self, prompt: str | bytes, config: GenerationConfig | None = None) -> Completion:
        """The whole completion of ``prompt`` (prompt excluded)."""
        return self.complete_n(prompt, 1, config)[0]

    def complete_ids(self, ids: list[int], config: GenerationConfig | None = None) -> Completion:
        """The completion of a prompt given as token ids, fed as they are (no start
        token, no trimming): for callers that tokenize themselves (benchmarks, a
        server holding ids)."""
        config = config or GenerationConfig()
        if not ids or len(ids) >= self.max_length:
            raise ValueError(f"a prompt of 1 to {self.max_length - 1} tokens, got {len(ids)}")
        self._check_ids(list(ids))
        drafter = self._drafter(config.speculation)
        prepared = self._feed(list(ids), drafter, config.max_new_tokens)
        pieces = self._continue(prepared, config, TokenSampler(config.sampling), drafter)
        return _completion(list(pieces), prepared)


def _completion(pieces: list[Piece], prepared: _Prepared) -> Completion:
    """The streamed ``pieces`` after ``prepared`` as one result."""
    return Completion(
        text="".join(p.text for p in pieces),
        token_ids=[t for p in pieces for t in p.token_ids],
        finish_reason=pieces[-1].finish_reason or FinishReason.STOP,
        prompt_tokens=len(prepared.ids),
        reused_tokens=prepared.reused,
    )
