"""Story line or trailer line? The block after the story: bios, related headlines.

News pages and aggregators append, after the story, an author bio and lists
of other stories' headlines. They look like sentences, so they are found by
position and shape, never by content:

1. scan up from the end of the text;
2. an author-bio block (a "<Name> is a reporter ..." line followed by lines
   starting with He/She/They... about the person's work) is trailer;
3. a line that *scores* as a headline (``headline_score`` >= threshold) is a
   trailer candidate;
4. the first line that is neither ends the scan: it is the last story line.

Headline candidates are dropped only as a run of ``min_headlines`` or more
(one short last sentence is kept), and only if a story line was found above
them. The score adds weights (``rules.toml`` [trailer.weights]) for
headline shape (short, Title Case, no final period, starts with a name) and
subtracts weights for the marks of running story text (starts with a
function word or pronoun, reporting verbs, articles, pronouns, demonstratives,
auxiliaries, quotes, names shared with the story above).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from incidex.cleaning.rules import Rules

_PUNCT = "\"'“”‘’()[]{},.;:!?«»–—-…*"
_TOKEN = re.compile(r"[\w’'&.-]+")
_QUOTE = re.compile(r"[“\"«][^”\"»]{8,200}[”\"»]")  # bounded: a line of opening quotes was quadratic
_FINAL = re.compile(r"[.!?…][\"'”’)\]]*$")
_NOT_NAMES = frozenset(
    "The This That These Those It Its They Their He She His Her We Our In On At As After Before While When "
    "But And So However Meanwhile Also According There A An One Some Many Most More Other Such For From "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July "
    "August September October November December I If Of To By With Not No Yes Mr Mrs Ms Dr".split()
)


def _words(line: str) -> list[str]:
    out = []
    for w in line.split():
        w = w.strip(_PUNCT)
        if w:
            out.append(w)
    return out


def names_in(lines: list[str]) -> set[str]:
    """Capitalised words (candidate names) used in ``lines``."""
    out: set[str] = set()
    for line in lines:
        for w in line.split():
            if w[0].islower():  # not punctuation, so still the first letter once stripped: no name
                continue
            w = w.strip(_PUNCT)
            if len(w) >= 3 and w[0].isupper() and w not in _NOT_NAMES:
                out.add(w)
    return out


def _has_phrase(lower: str, phrases: list[str]) -> bool:
    return any(re.search(rf"\b{re.escape(p)}\b", lower) for p in phrases)


def _past_tense(lower: list[str], words_cfg: dict) -> bool:
    """A narrating past-tense verb after the first word (headlines are written in the present)."""
    irregular = words_cfg.get("irregular_past", [])
    skip = words_cfg.get("not_past_tense", [])
    followers = words_cfg.get("participle_followers", [])
    for k in range(1, len(lower)):
        w = lower[k]
        if w in irregular:
            return True
        if len(w) > 4 and w.endswith("ed") and w not in skip and "-" not in w:
            nxt = lower[k + 1] if k + 1 < len(lower) else ""
            if nxt not in followers and nxt:
                return True
    return False


def headline_score(line: str, rules: Rules, story_names: set[str] | None = None) -> float:
    """Positive for a headline of another story, negative for a sentence of this one."""
    wt, words_cfg, tr = rules.weights, rules.words, rules.trailer
    words = _words(line)
    if not words:
        return 0.0
    if len(words) > int(tr.get("max_words", 18)):
        return -10.0
    lower = [w.lower() for w in words]
    text = line.lower()
    score = wt.get("short", 1.0)
    long_words = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    if len(long_words) >= 2:
        ratio = sum(w[0].isupper() for w in long_words) / len(long_words)
        if ratio >= float(tr.get("title_case_ratio", 0.6)):
            score += wt.get("title_case", 2.0)
    if not _FINAL.search(line.rstrip()):
        score += wt.get("no_final_punctuation", 0.5)
    if lower[0] in words_cfg.get("function_start", []):
        score += wt.get("function_start", -2.0)
    elif words[0][0].isupper() or words[0][0].isdigit():
        score += wt.get("named_start", 0.5)
    if _has_phrase(text, words_cfg.get("reporting_verbs", [])):
        score += wt.get("reporting_verb", -2.0)
    if any(w in ("the", "a", "an") for w in lower):
        score += wt.get("article", -1.0)
    if any(w in words_cfg.get("pronouns", []) for w in lower[1:]) or \
            (lower[0] in words_cfg.get("pronouns", []) and lower[0] not in words_cfg.get("function_start", [])):
        score += wt.get("pronoun", -1.0)
    if any(w in words_cfg.get("demonstratives", []) for w in lower[1:]):
        score += wt.get("demonstrative", -0.5)
    if any(w in words_cfg.get("auxiliaries", []) for w in lower):
        score += wt.get("auxiliary", -0.5)
    if _has_phrase(text, words_cfg.get("continuations", [])):
        score += wt.get("continuation", -0.5)
    if _QUOTE.search(line):
        score += wt.get("quote", -1.0)
    if _past_tense(lower, words_cfg):
        score += wt.get("past_tense", -1.0)
    if _has_phrase(text, words_cfg.get("time_frames", [])):
        score += wt.get("time_frame", -0.5)
    if story_names:
        shared = len(names_in([line]) & story_names)
        score += wt.get("overlap", -0.5) * min(shared, 2)
    return score


def is_headline(line: str, rules: Rules, story_names: "set[str] | Callable[[], set[str]] | None" = None) -> bool:
    """``story_names`` may be a function giving them, called only when they can change the answer."""
    threshold = float(rules.trailer.get("threshold", 1.0))
    if callable(story_names):
        # shared names only lower the score (overlap <= 0): a line already below does not need them
        if float(rules.weights.get("overlap", -0.5)) <= 0 and headline_score(line, rules) < threshold:
            return False
        story_names = story_names()
    return headline_score(line, rules, story_names) >= threshold


def bio_start(line: str, rules: Rules, author: str | None = None) -> tuple[bool, str | None]:
    """Does ``line`` open an author bio? Returns (yes, the person's name or None).

    Besides the patterns, a line that starts with the known ``author``'s name and one
    of ``author_verbs`` ("Jane Roe is a senior fellow at ...") opens one too.
    """
    if len(line.split()) > rules.bio_max_words:
        return False, None
    if author and line.startswith(author + " "):
        nxt = line[len(author) + 1:].split(" ", 1)[0].lower()
        if nxt in rules.author_verbs:
            return True, author
    for pat in rules.bio_start:
        m = pat.fullmatch(line)
        if m:
            name = m.groupdict().get("name")
            if name and name.split()[0] in rules.not_names:
                continue
            return True, name
    return False, None


@dataclass
class TrailerScan:
    story_end: int                 # index (into the lines given) of the last story line, -1 if none
    bio: list[int]                 # indices of author-bio lines
    headlines: list[int]           # indices of headline lines to drop
    author: str | None = None      # name from the bio


def scan(lines: list[str], rules: Rules, story_names: "set[str] | Callable[[], set[str]] | None" = None,
         author: str | None = None) -> TrailerScan:
    """Scan up from the end of ``lines`` (the kept, non-empty lines of the text)."""
    bio: list[int] = []
    pending: list[int] = []        # bio continuation lines waiting for their start line
    heads: list[int] = []
    bio_name = None
    i = len(lines) - 1
    while i >= 0:
        line = lines[i]
        ok, name = bio_start(line, rules, author)
        if ok:
            bio.extend(pending + [i])
            pending = []
            bio_name = bio_name or name
            i -= 1
            continue
        if len(line.split()) <= rules.bio_max_words and rules.bio_continuation.fullmatch(line):
            pending.append(i)
            i -= 1
            continue
        if pending:                # pronoun lines with no bio start above: they are story
            i = pending[0]
            pending = []
            break
        if is_headline(line, rules, story_names):
            heads.append(i)
            i -= 1
            continue
        break
    else:
        if pending:
            i = pending[0]
    story_end = i
    if story_end < 0 or len(heads) < int(rules.trailer.get("min_headlines", 2)):
        heads = []
    heads = [h for h in heads if h > story_end]
    return TrailerScan(story_end=story_end, bio=sorted(bio), headlines=sorted(heads), author=bio_name)


def find_trailer(lines: list[str], rules: Rules, author: str | None = None) -> TrailerScan:
    """Two passes: find the story, then re-score the candidates against the story's names."""
    first = scan(lines, rules, author=author)
    if first.story_end < 0:
        return first
    @functools.cache
    def story_names() -> set[str]:  # most texts never need them: computed on first use
        return names_in(lines[: first.story_end + 1])

    return scan(lines, rules, story_names, author=author)
