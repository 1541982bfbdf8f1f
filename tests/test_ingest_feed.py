"""RSS 2.0, RSS 1.0 and Atom files (invented feeds)."""
from __future__ import annotations

from fixtures_ingest import SECOND_STORY_LINES, STORY_LINES, rss2

from incidex.readers import read, read_articles
from incidex.records import RawDocument, ReadFailure

BASE = "https://wire.invented.test"


def _html_paras(lines):
    return "".join(f"<p>{x}</p>" for x in lines)


def test_rss2_entries(tmp_path):
    p = tmp_path / "wire.rss"
    p.write_bytes(rss2(BASE, [
        {"title": "Hospital hit by ransomware", "link": f"{BASE}/hospital", "author": "desk@wire.invented.test (Mara Quill)",
         "description": _html_paras(STORY_LINES), "date": "Tue, 05 Mar 2024 14:20:00 -0500"},
        {"title": "Water authority breach", "link": f"{BASE}/water", "guid": "water-42",
         "description": _html_paras(SECOND_STORY_LINES), "date": "Thu, 07 Mar 2024 09:00:00 GMT"},
        {"title": "Headline only", "link": f"{BASE}/empty"},
    ]))
    results = list(read([str(p)]))
    a, b, c = results
    assert isinstance(a, RawDocument) and a.origin == f"{p}#entry-1"
    assert a.content == "\n".join(STORY_LINES)
    assert a.title == "Hospital hit by ransomware" and a.url == f"{BASE}/hospital"
    assert a.published == "2024-03-05T14:20:00-05:00"
    assert a.author == "Mara Quill"
    assert b.external_id == "water-42" and b.published == "2024-03-07T09:00:00+00:00"
    assert isinstance(c, ReadFailure) and c.origin == f"{p}#entry-3"
    assert c.reason.startswith("feed entry has no text") and "--fetch-pages" in c.reason


def test_rss2_to_articles(tmp_path):
    p = tmp_path / "wire.xml"
    p.write_bytes(rss2(BASE, [{"title": "Hospital hit", "link": f"{BASE}/hospital",
                               "description": _html_paras(STORY_LINES)}]))
    (art,) = list(read_articles([str(p)]))
    assert art.source == "wire.invented.test" and art.published == "2024-03-05T14:20:00-05:00"
    assert art.body == "\n".join(STORY_LINES)


def test_rss1_rdf(tmp_path):
    p = tmp_path / "wire.rdf"
    p.write_text(f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="{BASE}/"><title>Wire</title><link>{BASE}/</link><description>d</description>
    <items><rdf:Seq><rdf:li rdf:resource="{BASE}/water"/></rdf:Seq></items></channel>
  <item rdf:about="{BASE}/water">
    <title>Water authority breach</title><link>{BASE}/water</link>
    <description>{" ".join(SECOND_STORY_LINES)}</description>
    <dc:creator>Ilse Varn</dc:creator><dc:date>2024-03-07T09:00:00+01:00</dc:date>
  </item>
</rdf:RDF>""", encoding="utf-8")
    (doc,) = list(read([str(p)]))
    assert doc.title == "Water authority breach" and doc.author == "Ilse Varn"
    assert doc.published == "2024-03-07T09:00:00+01:00"
    assert SECOND_STORY_LINES[2] in doc.content


def test_atom_prefers_longest_content(tmp_path):
    p = tmp_path / "wire.atom"
    p.write_text(f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Wire</title><id>urn:wire</id><updated>2024-03-05T19:20:00Z</updated>
  <entry>
    <title>Hospital hit by ransomware</title><id>urn:wire:hospital</id>
    <link rel="alternate" href="{BASE}/hospital"/>
    <published>2024-03-05T19:20:00Z</published><updated>2024-03-06T08:00:00Z</updated>
    <author><name>Mara Quill</name></author>
    <summary>Short teaser only.</summary>
    <content type="html">{_html_paras(STORY_LINES).replace("<", "&lt;").replace(">", "&gt;")}</content>
  </entry>
</feed>""", encoding="utf-8")
    (doc,) = list(read([str(p)]))
    assert doc.content == "\n".join(STORY_LINES)
    assert doc.external_id == "urn:wire:hospital" and doc.author == "Mara Quill"
    assert doc.published == "2024-03-05T19:20:00+00:00" and doc.url == f"{BASE}/hospital"


def test_bozo_feed_with_entries_still_yields_them(tmp_path):
    p = tmp_path / "broken.rss"
    p.write_text(f"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Wire & friends</title>
<item><title>Water authority breach</title><link>{BASE}/water</link>
<description>{" ".join(SECOND_STORY_LINES)}</description></item>
</channel>""", encoding="utf-8")  # bare '&' and a missing </rss>
    (doc,) = list(read([str(p)]))
    assert isinstance(doc, RawDocument) and SECOND_STORY_LINES[0] in doc.content


def test_malformed_feed_without_entries(tmp_path):
    p = tmp_path / "broken.xml"
    p.write_text('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</ti<<< & tle>',
                 encoding="utf-8")
    (f,) = list(read([str(p)]))
    assert isinstance(f, ReadFailure) and f.reason.startswith("malformed feed: ")


def test_feed_without_entries(tmp_path):
    p = tmp_path / "quiet.rss"
    p.write_bytes(rss2(BASE, []))
    (f,) = list(read([str(p)]))
    assert f.reason == "feed has no entries"


def test_entity_declarations_refused(tmp_path):
    p = tmp_path / "laughs.xml"
    p.write_text("""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "hahahahahahahahahahahahahahahahahahaha">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<rss version="2.0"><channel><title>t</title><item><title>&c;</title><description>&c;</description></item></channel></rss>
""", encoding="utf-8")
    (f,) = list(read([str(p)]))
    assert isinstance(f, ReadFailure) and "declares XML entities" in f.reason


def test_entry_fields_of_odd_shapes_are_dropped(tmp_path):
    """Broken markup (a stray ``<links ...>`` start tag) made feedparser's ``link`` a dict;
    the entry is still read, by its text, without the link."""
    p = tmp_path / "odd.rss"
    p.write_text(f"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Wire</title>
<item><title>Water authority breach</title><links depots</title><link>{BASE}/water</link>
<description>{" ".join(SECOND_STORY_LINES)}</description></item>
</channel></rss>""", encoding="utf-8")
    docs = list(read([str(p)]))
    assert all(isinstance(d, RawDocument) for d in docs) and docs
    assert SECOND_STORY_LINES[0] in docs[0].content and docs[0].url is None


def test_entry_fields_keeps_what_incidex_reads_with_its_type():
    from incidex.readers.feed import entry_fields

    entry = {"title": "T", "link": {"rel": "alternate"}, "id": 7, "summary": "S", "tags": ["x"],
             "author_detail": "not a dict", "content": [{"value": "V"}, {"type": "text/html"}, "x"]}
    assert entry_fields(entry) == {"title": "T", "summary": "S", "content": [{"value": "V"}]}
