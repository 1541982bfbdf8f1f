"""Duplicate detection: MinHash signatures, LSH bands persisted in the store, verification.

All texts are invented for these tests (a fictitious utility and group).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from datasketch import MinHash, MinHashLSH

from incidex.records import Article
from incidex.resolve import duplicates
from incidex.resolve.duplicates import bands, find_duplicate, jaccard, lsh_params, signature
from incidex.settings import load_settings
from incidex.store import open_store

ORIGINAL = """\
The municipal water authority of Lake Verrin confirmed on Thursday that an intrusion into its billing
network forced staff to switch customer services to paper forms for most of the week. According to the
authority, the attackers entered through a remote maintenance account belonging to an outside contractor
and spent several days moving between office servers before encrypting file shares used by the finance
department. A group calling itself Glass Heron later listed the authority on its extortion portal and
claimed to hold scanned invoices, payroll spreadsheets and the home addresses of about four thousand
account holders. The authority said that the treatment plant and the pumping stations run on a separate
control network which showed no sign of access, and that drinking water was never at risk. Investigators
from a regional incident response firm are still reviewing logs to determine whether personal data left
the network. Residents were told to ignore any payment requests that arrive by text message until the
billing portal is restored, which officials expect to happen by the end of the month. The authority has
not said whether it was asked for a ransom or whether it intends to negotiate with the group. State
officials said they had offered technical help and reminded other utilities to review contractor access
and to require a second factor for every remote login.
"""

SYNDICATED = (
    "Editor's note: this report was shared with us by our partners at the Valley Ledger.\n\n"
    + ORIGINAL.replace("Thursday", "Thursday,").upper().replace("\n", "  \n")
    + "\nThis article originally appeared on the Valley Ledger and is republished with permission.\n"
)

SAME_ACTOR_OTHER_STORY = """\
Glass Heron, the extortion crew that has been busy with small public bodies this year, turned its
attention to a chain of veterinary clinics in the northern provinces, according to a notice posted on
the company's website on Monday. The clinic operator said an employee opened a booby-trapped invoice
attachment, which gave the intruders a foothold on a reception computer. Appointment systems were taken
offline as a precaution and pet owners were asked to phone ahead before visiting. The company said it had
restored most systems from offline backups within two days and would not pay the criminals. Security
researchers who track the crew say it usually steals data for a week before launching its encryptor, and
that its leak site now lists more than thirty organisations, mostly in local government and healthcare.
The clinic operator has informed the data protection regulator and hired a law firm to notify customers
whose records may have been copied.
"""


def _article(aid: str, body: str, **kw) -> Article:
    return Article(id=aid, body=body, **kw)


# ``store``: a new SQLite or PostgreSQL store (tests/conftest.py): the LSH index lives in the database.


def test_syndicated_copy_is_found_as_duplicate_of_first(store):
    first = _article("orig", ORIGINAL, source="utility-news")
    first.signature = signature(first.body)
    assert find_duplicate(first, store) is None
    assert store.add_article(first)

    copy = _article("copy", SYNDICATED, source="valley-ledger")
    assert jaccard(signature(ORIGINAL), signature(SYNDICATED)) >= load_settings()["dedup"]["jaccard_duplicate"]
    assert find_duplicate(copy, store) == "orig"


def test_copy_of_a_copy_points_to_the_first_stored_article(store):
    store.add_article(_article("orig", ORIGINAL))
    second = _article("copy", SYNDICATED, duplicate_of="orig")
    assert store.add_article(second)
    # A third copy that is closest to the second one still resolves to the original.
    third = _article("copy2", SYNDICATED + "\nShared again by a third outlet.\n")
    assert find_duplicate(third, store) == "orig"


def test_same_actor_different_story_is_not_a_duplicate(store):
    store.add_article(_article("orig", ORIGINAL))
    other = _article("other", SAME_ACTOR_OTHER_STORY)
    assert jaccard(signature(ORIGINAL), signature(SAME_ACTOR_OTHER_STORY)) < 0.2
    assert find_duplicate(other, store) is None


def test_exact_id_returns_stored_original(store):
    store.add_article(_article("orig", ORIGINAL))
    store.add_article(_article("copy", SYNDICATED, duplicate_of="orig"))
    assert find_duplicate(_article("orig", ORIGINAL), store) == "orig"
    assert find_duplicate(_article("copy", SYNDICATED), store) == "orig"


def test_duplicates_survive_reopening_the_store(db_url):
    path = db_url
    with open_store(path) as s:
        s.add_article(_article("orig", ORIGINAL))
    with open_store(path) as s:
        assert find_duplicate(_article("copy", SYNDICATED), s) == "orig"


def test_signature_ignores_case_punctuation_and_spacing():
    a = signature("The attackers, it seems, used a stolen VPN password!")
    b = signature("the attackers it seems used a stolen vpn password")
    assert a == b
    assert len(a) == load_settings()["dedup"]["num_perm"]


_SIG_SCRIPT = (
    "import json, sys; from incidex.resolve.duplicates import signature, bands;"
    "s = signature(sys.stdin.read()); print(json.dumps([s, bands(s)]))"
)


def test_signatures_and_bands_are_identical_across_processes():
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", _SIG_SCRIPT], input=ORIGINAL, capture_output=True,
                              text=True, env=env, check=True, timeout=120)
        outs.append(json.loads(proc.stdout))
    assert outs[0] == outs[1]
    sig = signature(ORIGINAL)
    assert outs[0][0] == sig
    assert [tuple(x) for x in outs[0][1]] == bands(sig)


def test_lsh_params_match_datasketch():
    cfg = load_settings()["dedup"]
    lsh = MinHashLSH(threshold=cfg["lsh_threshold"], num_perm=cfg["num_perm"])
    assert lsh_params(cfg["lsh_threshold"], cfg["num_perm"]) == (lsh.b, lsh.r)
    b, _ = lsh_params(cfg["lsh_threshold"], cfg["num_perm"])
    out = bands(signature(ORIGINAL))
    assert [i for i, _ in out] == list(range(b))
    assert all(0 <= h < 2 ** 63 for _, h in out)


def test_fallback_optimiser_agrees_with_datasketch(monkeypatch):
    import datasketch.lsh

    want = datasketch.lsh._optimal_param(0.5, 128, 0.5, 0.5)
    monkeypatch.delattr(datasketch.lsh, "_optimal_param")
    duplicates.lsh_params.cache_clear()
    try:
        assert duplicates.lsh_params(0.5, 128) == tuple(want)
    finally:
        duplicates.lsh_params.cache_clear()


def test_store_candidates_equal_in_memory_minhashlsh(store):
    """The persisted band index finds exactly what datasketch's MinHashLSH finds."""
    cfg = load_settings()["dedup"]
    sentences = [s.strip() for s in (ORIGINAL + SAME_ACTOR_OTHER_STORY).split(".") if s.strip()]
    docs = {f"d{i}": ". ".join(sentences[i:i + 8]) for i in range(0, len(sentences) - 8)}
    lsh = MinHashLSH(threshold=cfg["lsh_threshold"], num_perm=cfg["num_perm"])
    for aid, body in docs.items():
        sig = signature(body)
        store.add_article(_article(aid, body, signature=sig))
        lsh.insert(aid, MinHash(num_perm=cfg["num_perm"], hashvalues=sig, scheme="affine32"))
    for aid, body in docs.items():
        sig = signature(body)
        expected = set(lsh.query(MinHash(num_perm=cfg["num_perm"], hashvalues=sig, scheme="affine32")))
        assert set(store.near_duplicate_candidates(bands(sig))) == expected


def test_signature_equals_datasketch_minhash_of_the_shingles():
    """The vectorised signature is datasketch's affine32 MinHash of the CRC-32 of each shingle, value for value."""
    import zlib

    cfg = load_settings()["dedup"]
    texts = [ORIGINAL, SYNDICATED, SAME_ACTOR_OTHER_STORY, "", "  ...  ", "one", "four words only here",
             "five words exactly right here", "Größere Störung im Straßenbahnnetz: ΣΊΣΥΦΟΣ meldet İzmir-Ausfall",
             "snake_case words_and 42 numbers, ½ and ﬁ ligatures\u200b joined"]
    for body in texts:
        m = MinHash(num_perm=cfg["num_perm"], seed=1, scheme="affine32", hashfunc=zlib.crc32)
        shingles = duplicates._shingles(body, cfg["shingle_words"])
        if shingles:
            m.update_batch(shingles)
        assert signature(body) == [int(v) for v in m.hashvalues], body


def _overlapping_docs() -> dict[str, str]:
    """Windows of 5 sentences moved by one: neighbours share most of their shingles."""
    sentences = [s.strip() for s in (ORIGINAL + SAME_ACTOR_OTHER_STORY).split(".") if s.strip()]
    return {f"d{i}": ". ".join(sentences[i:i + 5]) for i in range(0, len(sentences) - 5)}


def test_chunk_candidates_answer_as_the_store_does_while_a_chunk_is_stored(store):
    """One lookup for the chunk, then the articles stored since merged in: at every step the
    same candidates, in the same order, as asking the store."""
    docs = list(_overlapping_docs().items())
    for aid, body in docs[:4]:  # some stored before the chunk
        store.add_article(_article(aid, body, signature=signature(body)))
    chunk = docs[4:]
    sigs = [signature(body) for _, body in chunk]
    with store.transaction():
        index = duplicates.ChunkCandidates(store, sigs)
        asked = 0
        for k, ((aid, body), sig) in enumerate(zip(chunk, sigs)):
            want = store.near_duplicate_candidates(bands(sig))
            assert index.candidates(k) == want
            asked += bool(want)
            with store.transaction():
                store.add_article(_article(aid, body, signature=sig))
            index.stored(k, aid)
    assert asked > len(chunk) // 2  # the documents overlap: most of them have candidates


def test_chunk_copies_answer_as_pairwise_checks():
    bodies = list(_overlapping_docs().values())
    sigs = [signature(b) for b in bodies] + [signature(bodies[0] + " One more closing line."), []]
    copies = duplicates.ChunkCopies(sigs)
    kept: list[int] = []
    found = []
    for k, sig in enumerate(sigs):
        want = next((j for j in kept if duplicates.is_near_duplicate(sig, sigs[j])), None)
        assert copies.first(k) == want
        found.append(want)
        if k % 3 != 2:  # some are not kept (failed items): never an answer
            copies.keep(k)
            kept.append(k)
    assert found[-2] == 0  # the copy with a closing line found its original
