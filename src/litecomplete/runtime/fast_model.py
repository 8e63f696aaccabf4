"""Run a fast-format model on ai-edge-litert: no TensorFlow, caches kept in place.

The KV caches are buffers that every signature reads and writes in place
(``compiled_graph``): a decode step writes one token and its position and runs; a
prefill feeds a bucket of tokens from wherever the cached prefix ends (prefix
reuse). Nothing but tokens, positions and the logits crosses into Python.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from litecomplete import contract as c
from litecomplete.errors import ModelFileError, PromptError, require_at_least
from litecomplete.inspect.contracts import fast_contract_problems
from litecomplete.inspect.model_info import ModelInfo, read_model_info
from litecomplete.runtime.call_costs import verify_length
from litecomplete.runtime.chunks import plan_chunks
from litecomplete.runtime.compiled_graph import CompiledGraphs, shares_packed_weights
from litecomplete.runtime.fast_generation import Prepared, completion_of, drafter_for, generate
from litecomplete.runtime.generation import Completion, GenerationConfig, Piece
from litecomplete.runtime.kept_logits import KeptLogits
from litecomplete.runtime.look_ahead import BRANCHES, look_ahead
from litecomplete.runtime.prompt_tokens import PromptTokens
from litecomplete.runtime.sampling import TokenSampler
from litecomplete.runtime.speculative import (
    RECENT_SEQUENCES,
    Drafter,
    SpeculationStats,
)
from litecomplete.runtime.tokenizer import shared_tokenizer

DEFAULT_THREADS = 2  # ai-edge-litert defaults to 1
# A prompt extension this short is fed through decode steps; a longer one through
# a prefill bucket from the cached prefix's end.
DECODE_EXTENSION_MAX = 2


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
        self._graphs = graphs
        self.max_length = manifest.max_length
        self.buckets = list(manifest.buckets)
        self.end_token_id = manifest.end_token_id
        self.end_token_ids = frozenset(manifest.end_token_ids)
        self.start_token_id = manifest.start_token_id
        self.num_layers = manifest.decoder.num_layers
        self.vocabulary_size = manifest.decoder.vocabulary_size
        self.tokens = PromptTokens(
            tokenizer, self.vocabulary_size, self.start_token_id, self.max_length, path
        )
        self.cached: list[int] = []  # tokens whose keys and values fill positions 0..n-1
        self.kept = KeptLogits()  # logits after sequences the cache slots still hold
        # Signatures that return every row's logits, for checking drafts (speculative).
        self.verify_lengths = list(manifest.verify)
        # What feeds a prompt chunk of each length: a prefill bucket, else a verify
        # signature (its last row's logits are what a prefill gives).
        self._chunk_signatures = {t: c.verify_signature(t) for t in self.verify_lengths} | {
            b: c.prefill_signature(b) for b in self.buckets
        }
        # Buckets with a twin that computes no logits: a prompt's chunks before its last.
        self._fill_signatures = {t: c.fill_signature(t) for t in manifest.fills}
        # Where a row of logits costs more than a token through the blocks (Gemma 3's
        # vocabulary), a chunk planner prefers prefill buckets over verify signatures.
        self._output_cost = manifest.decoder.output_cost
        # Decode signatures by the slots they read: a step at position p takes the
        # shortest span above p (``decode`` reads them all).
        self._decode_spans = list(manifest.decode_spans)
        self.speculation_stats = SpeculationStats()
        # Recent prompts with their completions, newest last: where lookup drafts come from.
        self.recent: deque[list[int]] = deque(maxlen=RECENT_SEQUENCES)
        # Suggestions made ahead for other next tokens, their prompts' tails (look-ahead).
        self.branches: deque[list[int]] = deque(maxlen=BRANCHES)
        self.draft_models: dict[Path, FastModel] = {}  # loaded once (``drafter_for``)

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
        keys = manifest.signatures()
        share = shares_packed_weights(manifest)
        graphs = CompiledGraphs(path, keys, num_threads, share, weights_cache_dir)
        return cls(path, info, manifest, tokenizer, graphs)

    @property
    def num_threads(self) -> int:
        return self._graphs.num_threads

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
        return list(self.tokens.encoding(text).ids)

    def decode_text(self, ids: list[int]) -> str:
        return self.tokens.decode(ids)

    def prompt_ids(
        self, prompt: str | bytes, max_new_tokens: int, max_prompt_tokens: int | None = None
    ) -> list[int]:
        """Token ids the model sees (``PromptTokens.prompt_ids``)."""
        return self.tokens.prompt_ids(prompt, max_new_tokens, max_prompt_tokens)

    # ------------------------------------------------------------ graph calls

    def _run_decode(self, token: int, pos: int) -> np.ndarray:
        """Feed ``token`` at ``pos``; logits float32[vocab] for the next position."""
        span = next((s for s in self._decode_spans if pos < s), None)
        self.kept.wrote([token], pos)
        return self._graphs.run(c.decode_signature(span), [token], pos)

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
        signatures only), else after the last (a chunk before the last then goes
        through its length's ``fill_<T>`` where the file has one: no logits computed).

        A chunk writes a whole signature's length of cache slots, so it must end inside
        the cache: near the end only the lengths that fit are used, and decode steps
        after them.
        """
        rows: list[np.ndarray] = []
        verifying = frozenset(t for t, key in signatures.items() if key.startswith(c.VERIFY_PREFIX))
        while ids:
            fitting = tuple(sorted(t for t in signatures if pos + t <= self.max_length))
            if not fitting:
                rows += [self._run_decode(t, pos + i)[np.newaxis] for i, t in enumerate(ids)]
                break
            length = plan_chunks(len(ids), fitting, verifying, self._output_cost)[0]
            chunk, ids = ids[:length], ids[length:]
            key = signatures[length]
            self.kept.wrote(chunk, pos)
            if ids and not every_row and length in self._fill_signatures:
                # Not the last chunk: only its keys and values are wanted.
                self._graphs.fill(self._fill_signatures[length], chunk, pos)
                pos += len(chunk)
                continue
            if length in verifying:
                got = self._graphs.run_rows(key, chunk, pos)
            else:
                got = self._graphs.run(key, chunk, pos)[np.newaxis]
            rows = [*rows, got] if every_row else [got[-1:]]  # a prompt keeps its last row
            pos += len(chunk)
        assert rows, "at least one token is fed"
        return np.concatenate(rows)

    def _feed(self, ids: list[int], drafter: Drafter | None = None, remaining: int = 0) -> Prepared:
        """Put ``ids`` into the caches, reusing the longest prefix already there.

        A short extension (a user typed on) goes in with ``drafter``'s guesses of what
        follows, in one verify call, when there are guesses; ``remaining``: the tokens
        the caller will sample.
        """
        known = self.kept.get(ids)
        if known is not None:  # fed before, and still in the slots
            self.cached = list(ids)
            self.kept.remember(ids, known)  # the newest again: kept the longest
            return Prepared(ids=list(ids), logits=known, reused=len(ids))
        reused = 0
        limit = min(len(self.cached), len(ids) - 1)  # the last id must run to give logits
        while reused < limit and self.cached[reused] == ids[reused]:
            reused += 1
        new = ids[reused:]
        self.cached = ids[:reused]  # slots after this are stale from here on
        ahead: list[tuple[int, np.ndarray]] = []
        if len(new) <= DECODE_EXTENSION_MAX and reused:
            logits, ahead = self.advance(new, reused, ids, drafter, remaining)
        else:
            logits = self._run_prefill(new, reused)
        self.cached = list(ids)
        self.kept.remember(ids, logits)
        return Prepared(ids=list(ids), logits=logits, reused=reused, ahead=ahead)

    # ------------------------------------------------------------ token-level API

    def reset(self) -> None:
        """Forget the cached prefix: the next prompt is fed cold."""
        self.cached = []
        self.kept.clear()

    def feed(self, ids: list[int]) -> np.ndarray:
        """Make ``ids`` the cached sequence (reusing its cached prefix); logits after it."""
        if not ids or len(ids) > self.max_length:
            raise PromptError(f"feed() takes 1 to {self.max_length} tokens, got {len(ids)}")
        self.tokens.check_ids(list(ids))
        return self._feed(list(ids)).logits

    def logits_rows(self, ids: list[int], first: int) -> np.ndarray:
        """Make ``ids`` the cached sequence; the logits after each of ``ids[first:]``:
        float32[len(ids) - first, vocab], row i after ``ids[: first + i + 1]``.

        What evaluation scores: verify signatures give a chunk's rows in one call,
        decode steps give them where none fits (or the file has none).
        """
        if not 0 <= first < len(ids) <= self.max_length:
            raise PromptError(
                f"logits_rows() takes 1 to {self.max_length} tokens and a first row inside "
                f"them, got {len(ids)} tokens from row {first}"
            )
        ids = list(ids)
        self.tokens.check_ids(ids)
        if first:
            self._feed(ids[:first])
        self.cached = ids[:first]
        verify = {t: c.verify_signature(t) for t in self.verify_lengths}
        rows = self._run_chunks(ids[first:], first, verify, every_row=True)
        self.cached = ids
        return rows

    def step(self, token: int) -> np.ndarray:
        """Append ``token`` to the cached sequence; logits float32[vocab] after it."""
        pos = len(self.cached)
        if pos >= self.max_length:
            raise PromptError(f"the cache is full ({self.max_length} tokens)")
        self.tokens.check_ids([token])
        logits = self._run_decode(token, pos)
        self.cached.append(token)
        self.kept.remember(self.cached, logits)
        return logits

    # ------------------------------------------------------------ generation

    def advance(
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
        fed = len(tokens)
        fitting = [t for t in self.verify_lengths if pos + t <= self.max_length and t > fed]
        draft: list[int] = []
        if drafter is not None and fitting and remaining > 1:
            # Rows for guesses: the shortest signature's for a phrase, the longest's
            # for a text seen before.
            short, long = (min(t - fed, remaining - 1) for t in (fitting[0], fitting[-1]))
            draft = drafter.propose(history, short, long)
        if not draft:
            for offset, token in enumerate(tokens):
                logits = self._run_decode(token, pos + offset)
            return logits, []
        length = verify_length(len(draft), fed, fitting, self._graphs.costs)
        draft = draft[: length - fed]
        self.kept.wrote([*tokens, *draft], pos)
        rows = self._graphs.run_rows(c.verify_signature(length), [*tokens, *draft], pos)
        self.speculation_stats.verifies += 1
        self.speculation_stats.drafted += len(draft)
        last = len(tokens) - 1
        return rows[last], list(zip(draft, rows[last + 1 :], strict=True))

    def _prepare(
        self, prompt: str | bytes, config: GenerationConfig
    ) -> tuple[Drafter | None, Prepared]:
        """The prompt fed (its cached prefix reused), and the drafter that feeds with it."""
        drafter = drafter_for(self, config.speculation)
        ids, respell = self.tokens.fed_ids(
            prompt, config.max_new_tokens, config.max_prompt_tokens, config.heal
        )
        prepared = self._feed(ids, drafter, config.max_new_tokens)
        return drafter, replace(prepared, respell=respell)

    def stream(
        self, prompt: str | bytes, config: GenerationConfig | None = None
    ) -> Iterator[Piece]:
        """Stream the completion of ``prompt`` as text pieces.

        Raises:
            PromptError: empty prompt or invalid UTF-8 (before anything runs).
        """
        config = config or GenerationConfig()
        drafter, prepared = self._prepare(prompt, config)
        return generate(self, prepared, config, TokenSampler(config.sampling), drafter)

    def complete_n(
        self, prompt: str | bytes, n: int = 1, config: GenerationConfig | None = None
    ) -> list[Completion]:
        """``n`` alternative completions of one prompt, sharing one prefill.

        With a seed, alternative ``i`` samples with ``seed + i``.
        """
        require_at_least("n", n, 1)
        config = config or GenerationConfig()
        drafter, prepared = self._prepare(prompt, config)
        results = []
        for i in range(n):
            sampler = TokenSampler(config.sampling.reseeded(i))
            pieces = generate(self, prepared, config, sampler, drafter)
            results.append(completion_of(list(pieces), prepared))
            # The next alternative writes its own tokens where the guesses' keys were.
            prepared = replace(prepared, ahead=[])
        return results

    def complete(self, prompt: str | bytes, config: GenerationConfig | None = None) -> Completion:
        """The whole completion of ``prompt`` (prompt excluded)."""
        return self.complete_n(prompt, 1, config)[0]

    def look_ahead(
        self,
        ids: list[int],
        alternatives: int = 3,
        config: GenerationConfig | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> int:
        """While the user types: suggestions after ``ids`` and each of its
        ``alternatives + 1`` likeliest next tokens that no draft covers yet, kept as
        drafts (``runtime.look_ahead``); how many were begun. ``config``: the
        suggestions' (length, speculation); ``stop``, asked between model calls, ends
        the work when it returns True (a key was typed: ``threading.Event().is_set``)."""
        return look_ahead(self, list(ids), alternatives, config or GenerationConfig(), stop)

    def complete_ids(self, ids: list[int], config: GenerationConfig | None = None) -> Completion:
        """The completion of a prompt given as token ids, fed as they are (no start
        token, no trimming): for callers that tokenize themselves (benchmarks, a
        server holding ids)."""
        prepared, pieces = self.stream_ids(ids, config)
        return completion_of(list(pieces), prepared)

    def stream_ids(
        self, ids: list[int], config: GenerationConfig | None = None
    ) -> tuple[Prepared, Generator[Piece, None, None]]:
        """``complete_ids`` a piece at a time: the prompt fed, and the pieces after it.
        Closing the pieces early leaves the cache as it was after the last one."""
        config = config or GenerationConfig()
        if not ids or len(ids) >= self.max_length:
            raise PromptError(f"a prompt of 1 to {self.max_length - 1} tokens, got {len(ids)}")
        self.tokens.check_ids(list(ids))
        drafter = drafter_for(self, config.speculation)
        prepared = self._feed(list(ids), drafter, config.max_new_tokens)
        return prepared, generate(self, prepared, config, TokenSampler(config.sampling), drafter)
