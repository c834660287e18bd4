"""The simulated model: deterministic embeddings, answers and token counts."""

from __future__ import annotations

import re
import zlib
from typing import Any

import numpy as np

DEFAULT_DIMENSIONS = 384

_WORD = re.compile(r"[a-z0-9']+")


def embed_text(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """A deterministic unit embedding from hashed character trigrams and words.

    Texts that share most of their trigrams (paraphrases, reordered or lightly edited
    questions) land close together; unrelated texts land far apart.
    """
    words = _WORD.findall(text.casefold())
    vector = np.zeros(dimensions, dtype=np.float64)
    for word in words:
        padded = f" {word} "
        for i in range(len(padded) - 2):
            h = zlib.crc32(padded[i : i + 3].encode())
            vector[h % dimensions] += 1.0 if h & 0x80000000 else -1.0
        h = zlib.crc32(word.encode(), 0x9E3779B9)
        vector[h % dimensions] += 2.0 if h & 0x80000000 else -2.0
    norm = np.linalg.norm(vector)
    if norm == 0:
        vector[0] = 1.0
        norm = 1.0
    return [round(float(x), 6) for x in vector / norm]


def count_tokens(text: str) -> int:
    return max(1, len(text.split()))


def answer_length(question: str, mean_tokens: float) -> int:
    """The length of this question's answer: 0.4x to 1.6x the mean, always the same."""
    spread = 0.4 + 1.2 * (zlib.crc32(question.encode()) % 1000) / 999
    return round(mean_tokens * spread)


def compose_answer(messages: list[dict[str, Any]], mean_tokens: float = 0) -> str:
    """A deterministic answer that quotes the question and the first context passage,
    padded from the passage to :func:`answer_length` words when ``mean_tokens`` is set."""
    question = next((str(m.get("content", "")) for m in reversed(messages)
                     if m.get("role") == "user"), "")
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    passage = re.search(r"\[1\] (.+)", system)
    quoted = " ".join(passage.group(1).split()[:24]) if passage else "no context was given"
    answer = f"Simulated answer to: {question.strip()} According to the first source: {quoted}"
    words = answer.split()
    wanted = answer_length(question, mean_tokens) if mean_tokens > 0 else 0
    filler = (passage.group(1).split() if passage else []) or words
    words += [filler[i % len(filler)] for i in range(max(0, wanted - len(words)))]
    return " ".join(words)
