"""Tests for incidex.extraction.iocs.

The news paragraphs below were written for these tests (they are not taken
from any data set). The 11 paragraphs with indicators carry their gold list;
the 10 without are full of indicator-looking tokens that are not indicators.
The same paragraphs are the hand-written half of the library comparison in the
module docstring.
"""
from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidex.extraction.iocs import IOC, KINDS, find_iocs, refang

SHA256_A = "8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8"
SHA256_B = "4f4a9410ffcdf895c4adb880659e9b5c0dd1f23a30790684340b3eaacb045398"
SHA256_C = "b9dd960c1753459a78115d3cb845a57d924b6877e805b08bd01086ccdf34433c"
SHA1_A = "be76331b95dfc399cd776d2fc68021e0db03cc4f"
SHA1_B = "962665711e0e6ff33104712f82068162cdb1f9c0"
MD5_A = "2c1743a391305fbf367df8e4f069f9f9"
MD5_B = "fd9ab41e47a9ef4f6477a8a000bf404f"
BTC_BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"  # BIP-173 style test vector
BTC_LEGACY = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"  # the genesis block address

NEWS_WITH_IOCS: list[tuple[str, set[tuple[str, str]]]] = [
    (
        "Researchers at a Dutch security firm said on Tuesday that the loader, which they call "
        "GrayFinch, phones home to its command-and-control server at "
        "hxxps://cdn-sync[.]live/api/v2/check and falls back to 91.212.150[.]44 when the primary "
        "host is unreachable. The firm published the SHA-256 hash of the first-stage dropper, "
        f"{SHA256_A}, and urged administrators running Windows 10.0.19041 to install the March "
        "update.",
        {("url", "https://cdn-sync.live/api/v2/check"), ("ipv4", "91.212.150.44"), ("sha256", SHA256_A)},
    ),
    (
        "The phishing wave impersonated a payroll provider. Messages arrived from "
        "billing[@]payroll-notice[.]com and carried an attachment named Invoice_0412.xlsm whose MD5 "
        f"is {MD5_A}. Opening the workbook runs a macro that downloads a second stage from "
        "files.payroll-notice.com, the researchers said.",
        {("email", "billing@payroll-notice.com"), ("filename", "Invoice_0412.xlsm"), ("md5", MD5_A),
         ("domain", "files.payroll-notice.com")},
    ),
    (
        "In a joint advisory, the agencies listed the following indicators of compromise: "
        "185.100.87[.]202, 45.153.160[.]140, update-office365[.]com and login-microsoftonline[.]net. "
        "The actors also exploited CVE-2023-34362 in the MOVEit Transfer product and, in some "
        "intrusions, CVE-2023-35036.",
        {("ipv4", "185.100.87.202"), ("ipv4", "45.153.160.140"), ("domain", "update-office365.com"),
         ("domain", "login-microsoftonline.net"), ("cve", "CVE-2023-34362"), ("cve", "CVE-2023-35036")},
    ),
    (
        f"Victims were told to pay 0.5 bitcoin to the wallet {BTC_BECH32} within 72 hours. The "
        "ransom note also lists a Tor mirror and the address recovery.team@onionmail.org for "
        "negotiations. The gang, which first surfaced in the U.S. last year, has hit at least 30 "
        "organizations.",
        {("btc", BTC_BECH32), ("email", "recovery.team@onionmail.org")},
    ),
    (
        "According to the report, the backdoor beacons to 2a03:b0c0:3:d0::1a51:c001 every ten "
        "minutes and checks in with the domain api.telemetry-cloud.xyz. The researchers shared "
        f"SHA-1 hashes for two variants: {SHA1_A} and {SHA1_B}.",
        {("ipv6", "2a03:b0c0:3:d0::1a51:c001"), ("domain", "api.telemetry-cloud.xyz"),
         ("sha1", SHA1_A), ("sha1", SHA1_B)},
    ),
    (
        "Microsoft said the campaign relied on a lookalike domain, rnicrosoft-support.com, "
        "registered two days before the first emails went out. Visitors were first sent to "
        "http://203.0.113.9/login.php, a staging page, and then to "
        "https://secure-docs-portal.com/auth?id=77.",
        {("domain", "rnicrosoft-support.com"), ("url", "https://secure-docs-portal.com/auth?id=77")},
    ),
    (
        "The worm spreads by scanning for exposed Redis servers. Once inside, it drops a shell "
        "script named kinsing.sh and a miner binary, then contacts 194.38.20[.]199 over port 80. "
        "Its operators reuse the same infrastructure for several campaigns, including hosts at "
        "195.3.146.118 and 45.10.88.124.",
        {("filename", "kinsing.sh"), ("ipv4", "194.38.20.199"), ("ipv4", "195.3.146.118"),
         ("ipv4", "45.10.88.124")},
    ),
    (
        "Security teams should block traffic to the following URLs: "
        "hxxp://invoice-view[.]club/download/inv.zip and hxxps://share-point-files[.]site/doc?x=1. "
        "Both were hosted on a bulletproof provider in Eastern Europe. Version 4.2.1.7 of the "
        "company's client fixes the issue.",
        {("url", "http://invoice-view.club/download/inv.zip"), ("url", "https://share-point-files.site/doc?x=1")},
    ),
    (
        "Among the malicious files recovered from the compromised server were svchost32.exe and "
        "loader.dll, along with a configuration file that pointed to the C2 address "
        f"77.91.124[.]55:8443. The MD5 of the executable is {MD5_B}.",
        {("filename", "svchost32.exe"), ("filename", "loader.dll"), ("ipv4", "77.91.124.55"), ("md5", MD5_B)},
    ),
    (
        "The exploit chain begins with CVE-2024-3400, a command injection flaw in PAN-OS. After "
        "gaining access, the intruders pulled a Python backdoor from 144.172.79[.]92 and dropped a "
        "file named update.py. Palo Alto Networks said fixes are available in PAN-OS 10.2.9-h1, "
        "11.0.4-h1 and 11.1.2-h3.",
        {("cve", "CVE-2024-3400"), ("ipv4", "144.172.79.92"), ("filename", "update.py")},
    ),
    (
        "Indicators of compromise:\n"
        f"- {SHA256_B}\n"
        f"- {SHA256_C}\n"
        "- mail-secure-check.com\n"
        "- 103.224.182.251\n"
        "- hxxp://103.224.182[.]251/gate.php\n",
        {("sha256", SHA256_B), ("sha256", SHA256_C), ("domain", "mail-secure-check.com"),
         ("ipv4", "103.224.182.251"), ("url", "http://103.224.182.251/gate.php")},
    ),
]

NEWS_PLAIN: list[str] = [
    "The U.S. Cybersecurity and Infrastructure Security Agency added three flaws to its catalog "
    "on Friday. Agencies have until May 2 to patch. The advisory, posted on cisa.gov, notes that "
    "Node.js applications built with v1.2.3 of the affected library are also exposed.",
    "Shares of the company fell 4.5% after it disclosed the breach in a filing with the "
    "Securities and Exchange Commission. The firm said 1.2 million customer records, including "
    "names and e-mail addresses, were exposed, and that it had notified regulators in the E.U. "
    "and the U.K.",
    "Google patched the bug in Chrome 124.0.6367.78 for Windows and Mac, and users of the "
    "Extended Stable channel should move to 124.0.6367.60. The company did not say whether the "
    "flaw was exploited, citing its usual policy of withholding details until most users have "
    "updated.",
    "In an interview, the chief executive said the company's website, Acme-Logistics.com, stayed "
    "online throughout the incident, and customers could track shipments as usual. He declined to "
    "say whether a ransom had been paid. The attack was first reported by BleepingComputer.com "
    "on Monday.",
    "Version numbers matter for defenders: the vulnerable builds are 2.4.1.9 through 2.4.1.12, "
    "and the fixed release is 2.4.1.13. Administrators who cannot upgrade should disable the "
    "remote management feature, the vendor said in a note on its support portal.",
    "The ransomware group posted a sample of the stolen files, including a spreadsheet called "
    "payroll_2023.xlsx and a scanned passport, on its leak site. The hospital said it had "
    "restored most systems from backups and that emergency services were never interrupted.",
    "Researchers presented the findings at a conference in Las Vegas, where they showed how the "
    "attack works against firmware 5.1.0.4 on the affected routers. A full write-up, report.pdf, "
    "is available from the team's page, and the slides were shared on GitHub. The U.S. Navy and "
    "several universities funded the work.",
    "The new law requires operators of essential services to report significant incidents within "
    "24 hours. Critics, including the Electronic Frontier Foundation, argue that the 72-hour "
    "window in the E.U.'s NIS2 directive is already tight. Dr. Smith, a professor at St. Andrews, "
    "said the rules were overdue.",
    "Spokespeople for Amazon.com and Microsoft.com's cloud division did not respond to requests "
    "for comment. Both companies run large bug bounty programs, and last year Microsoft paid out "
    "$16.6 million to researchers through them. Apple, by contrast, has been criticised for slow "
    "payouts.",
    "For this story we used example.com as a stand-in for the company's real address, at its "
    "request. The breach affected an internal ticketing tool built on ASP.NET and a legacy server "
    "running Windows 10.0.19041, both of which have since been retired, the company said in a "
    "statement sent to reporters from press@acme-logistics.com. The company regained control of "
    "its domain after the registrar intervened, according to acme-logistics.com.",
]

ALL_TEXTS = [t for t, _ in NEWS_WITH_IOCS] + NEWS_PLAIN


def kv(iocs: list[IOC]) -> set[tuple[str, str]]:
    return {(i.kind, i.value) for i in iocs}


# --------------------------------------------------------------------------- #
# Gold paragraphs and ordinary prose
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("text,gold", NEWS_WITH_IOCS, ids=[f"ioc{i}" for i in range(len(NEWS_WITH_IOCS))])
def test_gold_paragraphs(text, gold):
    assert kv(find_iocs(text)) == gold


@pytest.mark.parametrize("text", NEWS_PLAIN, ids=[f"plain{i}" for i in range(len(NEWS_PLAIN))])
def test_ordinary_prose_has_no_iocs(text):
    assert find_iocs(text) == []


def test_all_plain_prose_together_has_no_iocs():
    assert find_iocs("\n\n".join(NEWS_PLAIN)) == []


@pytest.mark.parametrize(
    "text",
    [
        "Officials in the U.S. and the U.K. said on Monday that talks would continue.",
        "The library, first released as v1.2.3, is maintained by volunteers.",
        "Many web backends are written in Node.js or ASP.NET.",
        "The company uses example.com in its documentation.",
        "The machine was running Windows 10.0.19041 when it was seized.",
        "The report.pdf file was attached to the court filing.",
        "Chrome 120.0.6099.109 and Firefox 121.0.1 shipped the same day.",
        "Every copy of the plugin at 7.3.0.214 or earlier needs the fix, the maker warned.",
        "Builds 19.3.0.2.1 and 19.4.1.0.7 of the middleware are unaffected.",
        "A state transport department (DOT) took its ticketing kiosks offline (at) dawn.",
        "Customers can report scams to abuse@bank-security.com, the bank said.",
        "Scammers registered lookalike domains mimicking the genuine Coinbase.com login page.",
    ],
)
def test_news_traps_are_not_iocs(text):
    assert find_iocs(text) == []


# --------------------------------------------------------------------------- #
# Kinds, defanging, normalization
# --------------------------------------------------------------------------- #


def test_defanged_url_domain_ip():
    text = "Payloads came from hXXps[:]//bad-cdn[.]top/x.bin, evil(.)example-shop[.]ru and 8.8.4[.]4."
    got = find_iocs(text)
    assert kv(got) == {("url", "https://bad-cdn.top/x.bin"), ("domain", "evil.example-shop.ru"), ("ipv4", "8.8.4.4")}
    assert all(i.defanged for i in got)


def test_defanged_forms():
    assert kv(find_iocs("reaches out to dl[dot]cheap-mirror[dotcom] daily")) == {("domain", "dl.cheap-mirror.com")}
    assert kv(find_iocs("mail sent by ops[at]dark-relay[.]net")) == {("email", "ops@dark-relay.net")}
    assert kv(find_iocs("seen at 5[.]6[.]7[.]8")) == {("ipv4", "5.6.7.8")}
    assert kv(find_iocs("fetched hxxp://1.2.3[.]4:8080/a.sh")) == {("url", "http://1.2.3.4:8080/a.sh")}


def test_defanged_domain_needs_no_context():
    # A defanged domain is an indicator wherever it appears.
    assert kv(find_iocs("Readers asked about secure-login[.]xyz last week.")) == {("domain", "secure-login.xyz")}


def test_refang():
    assert refang("hxxps[:]//a[.]b(.)c/d") == "https://a.b.c/d"
    assert refang("x[@]y[dot]z") == "x@y.z"
    assert refang("q[dotcom]") == "q.com"


@pytest.mark.parametrize("value,kind", [(MD5_A, "md5"), (SHA1_A, "sha1"), (SHA256_A, "sha256")])
def test_hashes_of_each_length(value, kind):
    text = f"The sample ({value.upper()}) was uploaded to a scanning service."
    assert kv(find_iocs(text)) == {(kind, value)}


def test_hex_runs_of_other_lengths_or_without_digits_are_ignored():
    assert find_iocs("token " + "ab12" * 9 + " seen") == []  # 36 chars
    assert find_iocs("digits " + "1" * 32 + " only") == []
    assert find_iocs("letters " + "abcdef" * 6 + "ab only") == []


def test_cve_normalized():
    got = find_iocs("Patch cve\u20132021\u201344228 now.")
    assert kv(got) == {("cve", "CVE-2021-44228")}


def test_bitcoin_checksums():
    assert kv(find_iocs(f"Pay to {BTC_LEGACY} today.")) == {("btc", BTC_LEGACY)}
    broken = BTC_LEGACY[:-1] + ("b" if BTC_LEGACY[-1] != "b" else "c")
    assert find_iocs(f"Pay to {broken} today.") == []
    assert kv(find_iocs(f"Wallet {BTC_BECH32}.")) == {("btc", BTC_BECH32)}


def test_ipv6():
    assert kv(find_iocs("traffic went to 2606:4700:4700::1111 overnight")) == {("ipv6", "2606:4700:4700::1111")}
    # Documentation, loopback and link-local addresses; clock times and MACs.
    assert find_iocs("hosts 2001:db8::1, ::1 and fe80::1 at 10:30:45 with MAC 00:1a:2b:3c:4d:5e") == []


def test_private_and_reserved_ips_are_not_iocs():
    text = ("The C2 servers were 10.0.0.5, 192.168.1.20, 172.16.4.4, 127.0.0.1, 100.64.0.9, "
            "198.51.100.7 and 224.0.0.251, and http://192.168.0.1/admin was also listed.")
    assert find_iocs(text) == []


def test_bare_ipv4_needs_context():
    assert find_iocs("The score was 1.2.3.4 in the final round.") == []
    assert kv(find_iocs("The attackers used the IP address 91.134.20.5 for scanning.")) == {("ipv4", "91.134.20.5")}


def test_version_cues_reject_dotted_quads():
    assert find_iocs("The C2 server runs build 5.4.3.2 of the panel.") == []
    assert find_iocs("Servers on firmware 3.2.1.7 through 3.2.1.9 are exposed.") == []
    got = find_iocs("The fake update server at 45.77.10.3 served the loader.")
    assert kv(got) == {("ipv4", "45.77.10.3")}


def test_bracketed_domain_in_indicator_list():
    assert kv(find_iocs("C2 servers: [evil-cdn.com]")) == {("domain", "evil-cdn.com")}


def test_publisher_domains_are_not_iocs():
    text = ("The C2 servers were taken down last week, according to bleepingcomputer.com, "
            "and visit securityweek.com for more.")
    assert find_iocs(text) == []


def test_bare_domain_needs_context_and_lower_case():
    assert find_iocs("Customers of shop-deals.net were told to reset passwords.") == []
    assert kv(find_iocs("The malware contacted shop-deals.net hourly.")) == {("domain", "shop-deals.net")}
    assert find_iocs("The malware contacted Shop-Deals.net hourly.") == []


def test_context_window_is_bounded():
    filler = " The weather was fine that week and nothing else happened at all in the town." * 3
    text = "The C2 domain is described below." + filler + " Later, shop-deals.net was mentioned."
    assert find_iocs(text) == []


def test_indicator_list_continues_past_the_window():
    domains = [f"node{i}-relay-service.com" for i in range(12)]
    text = "Indicators: " + ", ".join(domains) + "."
    assert [i.value for i in find_iocs(text)] == domains


def test_filenames_need_context():
    assert find_iocs("The board reviewed budget.xlsx and minutes.docx on Monday.") == []
    assert kv(find_iocs("The dropper writes stage2.dll to disk.")) == {("filename", "stage2.dll")}


def test_full_url_counts_without_context():
    assert kv(find_iocs("Payments were collected at https://pay-now-portal.com/checkout.")) == {
        ("url", "https://pay-now-portal.com/checkout")
    }


def test_citation_links_to_vendors_are_not_iocs():
    assert find_iocs("Read the advisory at https://www.cisa.gov/news/aa23-x for details.") == []
    text = "The payload was hosted on https://github.com/evil-user/Repo until takedown."
    assert kv(find_iocs(text)) == {("url", "https://github.com/evil-user/Repo")}


def test_url_keeps_path_and_query_case_but_lowers_host():
    got = find_iocs("Victims were sent to HTTPS://Secure-Docs-Portal.com?ID=AbC today.")
    assert kv(got) == {("url", "https://secure-docs-portal.com?ID=AbC")}


def test_url_with_ipv6_host():
    got = find_iocs("The loader fetched code from http://[2606:4700::1111]:8080/x.")
    assert kv(got) == {("url", "http://[2606:4700::1111]:8080/x")}


def test_url_trailing_punctuation_and_parentheses():
    text = "(see https://bad-host.info/a_(b)/c), then https://bad-host.info/x."
    got = find_iocs(text)
    assert [i.value for i in got] == ["https://bad-host.info/a_(b)/c", "https://bad-host.info/x"]


# --------------------------------------------------------------------------- #
# Offsets, determinism, contract
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("text", ALL_TEXTS)
def test_offsets_slice_back_to_the_surface(text):
    got = find_iocs(text)
    last_end = -1
    for ioc in got:
        surface = text[ioc.start:ioc.end]
        assert surface, ioc
        assert ioc.start >= last_end  # in order, no overlap
        last_end = ioc.end
        assert ioc.kind in KINDS
        if ioc.kind in {"md5", "sha1", "sha256", "btc", "ipv6"}:
            assert surface.lower() == ioc.value.lower()
        elif ioc.kind == "cve":
            assert surface.upper() == ioc.value
        else:
            assert refang(surface).lower() == ioc.value.lower()
        assert ioc.defanged == (refang(surface) != surface)


def test_defanged_surface_offsets():
    text = "C2: 45.9.148[.]21 and hxxp://kx-update[.]biz/p"
    got = find_iocs(text)
    assert [text[i.start:i.end] for i in got] == ["45.9.148[.]21", "hxxp://kx-update[.]biz/p"]


def test_deterministic():
    big = "\n\n".join(ALL_TEXTS)
    first = find_iocs(big)
    for _ in range(3):
        assert find_iocs(big) == first
    for text in ALL_TEXTS:
        assert find_iocs(text) == find_iocs(text)


def test_ioc_is_frozen_and_serializable():
    ioc = find_iocs("Exploited CVE-2022-30190 again.")[0]
    with pytest.raises(AttributeError):
        ioc.value = "x"  # type: ignore[misc]
    assert ioc.to_dict() == {"kind": "cve", "value": "CVE-2022-30190"}


def test_empty_and_trivial_inputs():
    assert find_iocs("") == []
    assert find_iocs("   ") == []
    assert find_iocs("no dots here") == []


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

IOCISH = st.lists(
    st.sampled_from(list("0123456789abcdefxyz.[]()@:/-_ \n") + ["[.]", "hxxp://", "CVE-", "C2 ", ".com", "bc1"]),
    max_size=120,
).map("".join)


def _check_bounds(text: str) -> None:
    got = find_iocs(text)
    assert isinstance(got, list)
    last_end = 0
    for ioc in got:
        assert 0 <= ioc.start < ioc.end <= len(text)
        assert ioc.start >= last_end
        last_end = ioc.end
        assert ioc.kind in KINDS


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_never_raises_on_arbitrary_text(text):
    _check_bounds(text)


@settings(max_examples=300, deadline=None)
@given(IOCISH)
def test_never_raises_on_ioc_like_text(text):
    _check_bounds(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(ALL_TEXTS), min_size=1, max_size=4), st.text(max_size=30))
def test_offsets_stable_under_concatenation(parts, sep):
    text = sep.join(parts)
    for ioc in find_iocs(text):
        assert 0 <= ioc.start < ioc.end <= len(text)
