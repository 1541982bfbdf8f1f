#!/usr/bin/env python3
"""Regenerate the KB ambiguity lists (developer tool, needs ``pip install wordfreq``).

Writes ``src/incidex/extraction/lexicons/kb_exclude.txt`` and
``kb_case_sensitive.txt`` from the built ``kb.json.gz``: actor and malware
names that are ordinary English words, names or places (word frequency from
``wordfreq`` plus the hand-made lists below) must not match free text.
The runtime and ``build_kb.py`` only read the two text files; wordfreq is not a
dependency of incidex. Review the diff after running this.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from wordfreq import zipf_frequency

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from incidex.extraction.kb import KnowledgeBase, _raw_kb, KB_PATH, norm_key  # noqa: E402

LEX = REPO / "src" / "incidex" / "extract" / "lexicons"

# Names that look like words but in news almost always mean the actor/malware.
KEEP = {"Lazarus", "Conti", "Sliver", "Stuxnet", "Clop", "Darkside", "Ghostwriter", "Zarya", "X-Agent",
        "X-Tunnel", "Turla", "Sandworm", "Gamaredon", "Kimsuky", "Emotet", "Qakbot", "Ryuk", "REvil"}
# Microsoft's element names: all-caps in news, kept in capitals only.
ELEMENTS = {"PLATINUM", "MERCURY", "ALUMINUM", "HYDROGEN", "COPPER", "OXYGEN", "NICKEL", "ZINC", "SODIUM",
            "POTASSIUM", "MAGNESIUM", "CHLORINE", "HELIUM", "PHOSPHORUS", "PLUTONIUM", "IODINE", "SULPHUR", "CHROMIUM",
            "MANGANESE", "BORON", "RADIUM", "CALCIUM", "STRONTIUM", "IRIDIUM", "NITROGEN",
            "BISMUTH", "CERIUM", "COBALT", "GALLIUM", "HOLMIUM", "KRYPTON", "NEODYMIUM", "PROMETHIUM", "RUBIDIUM",
            "TANTALUM", "TERBIUM", "THALLIUM", "YTTRIUM", "ZIRCONIUM", "AMERICIUM", "CURIUM",
            "DUBNIUM", "EUROPIUM", "GADOLINIUM", "OSMIUM", "POLONIUM", "SELENIUM", "TITANIUM", "TUNGSTEN", "VANADIUM"}
# Capitalised words below the frequency cut that are still names, places, brands or words.
MANUAL = """Spook Salami Epsilon Rattlesnake Mordor Gopher Buckeye Sauron Euclid Calypso Kraken Chimera Indra Emissary
Spartacus Popeye Lorenz Wiper Responder Termite Scarab Cmd Krypton Esmeralda Scraper Minotaur Zorro Namaste Extractor
Anubis Ordinal Longhorn Meister Warzone Ragnarok Mamba Amoeba Sharpshooter Pacman Gorgon Goldeneye Styx Siesta Foxtrot
Solider Blitzkrieg Smaug Honeybee Ishtar Eris Newscaster Rancor Strider Qwerty Nebulae Erebus Cicada Sidewinder
Scimitar Satyr Polyglot Pickaxe Pennywise Raindrop Dogfish Callisto Phobos Thanatos Kairos Lamer Heimdall Geneve
Serpico Reaver Polski Lyceum Grayling Deadwood Torchwood Monti Kamil Madi Sima Roza Zhen Shadi Mischa Karo Stroman
Annabelle Misha Ziggy Lilith Adonis Thanos Grinch Midas Icarus Osiris Sphinx Bumblebee Slingshot Creeper Stinger
Crutch Alibaba PewDiePie Exorcist Kindest Marlboro Voldemort Sepsis Foxy Gingerbread Argus Flamingo Clouded Pompous
Django Rook Ogre Mori Hippo Tycoon Sparta Vendetta Fidel Kali Cyborg Domino Nitro Enigma Spectre Viagra Tortoise Elise
Dodger Lexus Trident Loki Dharma Mirage Mana Waldo Zeppelin Hermes Nuke Dishwasher Tripoli Tor Python Trojan Empire
Covenant Mythic Havoc Phoenix Maze Hive Machete Equation Tick Cobalt Inception Patchwork Confucius Leviathan Dragonfly
Axiom Cleaver Karma Snake Satan Hades Lucifer Tortoiseshell Winnti Net Reg Ping Cmd Sqlmap Lockbit Copy-Paste Anti-DDos
Locked-In Uh-Oh X-Files Trick-Or-Treat Kiss-a-Dog Pay-or-Lost Free-Freedom S-Type C-Major Mis-Type Locker-Pay
Apocalypse-Missing Losers-Dangerous Zero-Fucks File-Locker Akira SILICON CARBON ZLib mailto mydata 3am Rijndael Blocky
Nazar netstat ifconfig ipconfig whoami systeminfo tasklist schtasks route arp ftp ping net reg cmd at nltest dsquery
Systeminfo Tasklist Netstat Ipconfig Ifconfig Whoami Route Arp Ftp Nltest Dsquery Schtasks Wevtutil wevtutil Tar
Sqlmap Expand Replace Find Print Type Shutdown Forfiles Ntdsutil Regsvr32 Rundll32 Mshta Msiexec Certutil Bitsadmin
Wmic Esentutl Kazu AES-NI PTP Encrypt NCrypt XCRYPT PS1 ATTRIB Kostya noescape BACKSPACE Viro FCP FCT =SYNACK 16x WCE
OLED UCA miga httpclient ILOCK kyber Patcher ABCD RTM VHD Matroska Windows10 Tilde Zilla Fantom Nian 0day netsh Netsh
WeChat Cylance Paysafecard =Synack""".split()
MANUAL.remove("Lockbit")
# Multi-word names that are ordinary phrases or titles even when capitalised: never matched.
MULTI_EXCLUDE = """good day|Want Money|Group 3|Group 6|Group 8|Such Security|ST Group|black x|key group|Black Technology|
Dark Power|money message|j group|Click Me|Social Network Team|The Magic|the green blood group|International Police Association|
Cold River|Bad Magic|Iron Group|Team Bear|White Bear|black suit|Dark Engine|White Giant|Evil Eye|Conference Crew|Brown Fox|
Animal Farm|white lock|Lucky Cat|Jeff the|Deputy Dog|Silver Fox|Golden Eye Dog|Black Shadow|Rising Sun|UPS Team|Ugly Face|
Cutting Edge|Gold Dragon|Shadow Network|Donald Trump|Donald Trump 2|Code Virus|Quick Assist|The Mask|Red Wolf|Double Dragon|
team underground|Hi Buddy!|Underground Team|The Big Bang|space bears|Red Alert|triple x|Storm Cloud|Unknown Lock|Dust Storm|
Outer Space|Brave Prince|Line Runner|the gentlemen|The Gentlemen|Fake Globe|Holy Souls|thunder x|Beijing Group|spy corporate|
black witch|Pay OR Grief|Anonymous 64|audit team|Shadow Campaigns|Line Dancer|RIP lmao|rabbit hole|Empire Monkey|ra group|
Sanctions 2017|Ave Maria|The Brotherhood|Genesis Day|Cyber Alliance|You Have Been Hacked!!!|Token Control|Merry Christmas|
Skeleton Key|Common Raven|Golden Axe|PopCorn Time|Cloud Atlas|Golden Falcon|Cyber Drill Exercise|Ransom X|Sands Casino|
Poison Ivy|Personal Panda|Unnamed Actor|Rotten Tomato|[Unnamed group]|Jolly Roger|Angela Merkel|Prince of Persia|
robbing hood|PLA Navy|Tortoise Shell|The Dukes|Extortion Scam|run some wares|el dorado|Luna Moth|Sphinx Moth|Power Loader|
Threat Finder|Lotus BLossom|Merry X-Mas|WOLF SPIDER|BIG PANDA|Big Panda|Red Panda|Giant Panda|Domestic Kitten|Sea Turtle|
Silence group|Unknown Group|Red Eyes|Black Cube|Barack Obama's Blackmail Virus|Best Crypt|God Crypt Joke|Globe v1|
Barack Obama's Everlasting Blue Blackmail Virus|Ghost Security|Code on Toast|Night Tsunami|Blue Tsunami|Desert Falcons|
Desert Falcon|Golden Chickens|Blue Python|Coin Locker|Black Worm|Alibaba Group""".replace("\n", "").split("|")


def main() -> int:
    raw = _raw_kb(str(KB_PATH))
    kb = KnowledgeBase(raw)
    surfaces = [(s, "actor") for s, _ in kb.actor_surfaces()] + [(s, "malware") for s, _ in kb.malware_surfaces()]
    place = {k for k, (_iso, kind) in kb._country_index.items() if kind == "demonym"}
    exclude: set[str] = set()
    exact: set[str] = set()
    no_fallback: set[str] = set()
    case_sensitive: set[str] = set()
    for s, _kind in surfaces:
        toks = s.split()
        if re.fullmatch(r"(?i)group \d+", s) and s not in ("Group 123", "Group 74", "Group 72"):
            exclude.add(s)
            continue
        if len(toks) > 1:
            words = [t for t in toks if t.isalpha()]
            if len(words) == len(toks) and all(zipf_frequency(t.lower(), "en") >= 3.0 for t in toks):
                case_sensitive.add(s)
            continue
        if s in KEEP or s.capitalize() in KEEP or any(ch.isdigit() for ch in s):
            continue
        z = zipf_frequency(s.lower(), "en")
        if norm_key(s) in place:
            exclude.add(s)
            no_fallback.add(s)
        elif s.islower():
            if z >= 2.0:
                exclude.add(s)
        elif s.lower().endswith(".exe") and _kind == "malware":
            exclude.add(s)
        elif s.isupper():
            if s in ELEMENTS:
                continue
            if z >= 4.0 or (len(s) <= 4 and z >= 1.5) or (s.isalpha() and len(s) <= 3):
                exact.add(s)
        elif re.search(r"[a-z][A-Z]", s.split("-")[0]) and "-" not in s:
            if z >= 2.9:
                exclude.add(s)
        elif "-" in s:
            if z >= 4.0 and s not in KEEP:
                exclude.add(s)
        elif z >= 2.9:
            exclude.add(s)
            if z >= 5.0 and s not in ("Play", "Royal"):
                no_fallback.add(s)
    exclude |= {m for m in MANUAL if not m.startswith("=")}
    exact |= {m[1:] for m in MANUAL if m.startswith("=")}
    # An element name in capitals is kept, the same word capitalised is not.
    for s, _kind in surfaces:
        if s.isupper() and s in ELEMENTS:
            cap = s.capitalize()
            exclude.discard(cap)
            exclude.discard(s)
            exact.add(cap)
    header = """# Ambiguous KB aliases: never matched in free text (resolution by explicit lookup still works).
# One surface a line. A plain line excludes the name in any case (by its lookup key);
# "=Name" excludes only that exact spelling (e.g. "=Mercury" keeps "MERCURY");
# "!Name" also suppresses the fallback surfaces ("Name group", "Name ransomware"...).
# Generated by scripts/kb_ambiguity.py (wordfreq + hand-made lists), then reviewed.
"""
    lines = []
    for s in sorted(exclude | exact | no_fallback, key=lambda x: (x.lower(), x)):
        if s in no_fallback:
            lines.append("!" + s)
        elif s in exact and s not in exclude:
            lines.append("=" + s)
        else:
            lines.append(s)
    lines += [m.strip() for m in MULTI_EXCLUDE if m.strip()]
    (LEX / "kb_exclude.txt").write_text(header + "\n".join(dict.fromkeys(lines)) + "\n", encoding="utf-8")
    cs_header = """# Multi-word KB names made of ordinary words ("Charming Kitten", "Midnight Blizzard"): matched only
# as written (capitalised), never in lower case. One surface a line; generated by
# scripts/kb_ambiguity.py, then reviewed.
"""
    multi_ex = {norm_key(m) for m in MULTI_EXCLUDE}
    cs = sorted({s for s in case_sensitive if norm_key(s) not in multi_ex}, key=lambda x: (x.lower(), x))
    (LEX / "kb_case_sensitive.txt").write_text(cs_header + "\n".join(cs) + "\n", encoding="utf-8")
    print(f"kb_exclude.txt: {len(lines)} lines; kb_case_sensitive.txt: {len(cs)} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
