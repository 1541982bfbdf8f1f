"""The analysts' web UI: server-rendered pages over the same queries as the REST API.

=========================  ==================================================
``/``                      incidents: facets, full-text search, date range
``/incidents/{id}``        facts, provenance, sources; evidence highlighted
``/articles/{id}``         one article with the evidence of its incidents
``/actors``, ``/actors/{id}``   attackers; one with aliases, state, timeline
``/victims``               victims, most incidents first
``/victims/{name}``        one victim: where, what, names used, over time
``/techniques``, ``/malware``, ``/cves`` (and ``/.../{id}``)   pivot pages of incident terms
``/timeline``              the current filter over time (per month, each incident)
``/graph``                 attackers -> incidents -> victims of the filter as SVG
``/stats``                 incidents per month by type, top countries, sectors
``/paste``                 paste an article and see its extraction (or store it)
``/login``                 the API key, when ``[serve] read_open`` is false
``/api/v1/docs``           the REST API's docs, rendered from its OpenAPI
=========================  ==================================================

Templates are in ``serve/templates``; ``serve/static`` holds the one CSS and
the one JS file. Pages run no inline script or style (see the CSP in
``incidex.serve.security``).
"""
from __future__ import annotations

from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import Field

from incidex import __version__
from incidex.records import ATTACK_TYPES, SECTORS, IncidexError
from incidex.serve import charts
from incidex.serve.highlight import article_evidence, evidence_in, marks, owner_of
from incidex.serve.queries import (
    ActorQuery, IdPath, IncidentFilters, IncidentQuery, Params, StatsQuery, VictimQuery, _count_args, actor_name,
    paging,
)
from incidex.serve.security import COOKIE, check_key, require_read
from incidex.store import codec

_PKG = resources.files("incidex.serve")
templates = Jinja2Templates(directory=str(_PKG / "templates"))
templates.env.globals.update(version=__version__, attack_types=ATTACK_TYPES, sectors=SECTORS)

#: Facets of the incident list: (count dimension, store keyword, query parameter, title).
FACETS = (("type", "attack_type", "type", "Attack type"), ("country", "country", "country", "Victim country"),
          ("sector", "sector", "sector", "Victim sector"), ("actor", "actor", "actor", "Attacker"),
          ("outcome", "outcome", "outcome", "Outcome"))


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(_PKG / "static")), name="static")


def _country(code: str | None) -> str:
    from incidex.export.common import kb

    return kb().country_name(code) if code else ""


templates.env.filters["country"] = _country


def _query(pairs: list[tuple[str, str]]) -> str:
    return "?" + urlencode(pairs) if pairs else "?"


def _link(params: Any, **changes: Any) -> str:
    """A query string: ``params`` (a ``Params`` or a dict) with ``changes`` applied: a value replaces
    every value of that name, None removes them; the page offset resets."""
    pairs = [(k, v) for k, v in params.items() if k != "offset" and k not in changes]
    return _query(pairs + [(k, str(v)) for k, v in changes.items() if v is not None])


def _toggle(params: Any, name: str, value: str) -> str:
    """``params`` with one value of a filter added (an OR with the others) or, when set, removed.

    Adding ``type=x`` drops ``not_type=x`` and the reverse, so a link never asks
    for a value and its negation at once.
    """
    other = name[4:] if name.startswith("not_") else f"not_{name}"
    pairs = [(k, v) for k, v in params.items() if k != "offset"]
    if (name, value) in pairs:
        return _query([p for p in pairs if p != (name, value)])
    return _query([p for p in pairs if p != (other, value)] + [(name, value)])


templates.env.globals.update(link=_link, toggle=_toggle)


def render(request: Request, name: str, code: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("read_open", request.app.state.config.read_open)
    return templates.TemplateResponse(request, name, ctx, status_code=code)


def error_page(request: Request, status: int, message: str, headers: dict | None = None) -> HTMLResponse:
    if status == 401:
        return render(request, "login.html", 401, message=message)
    titles = {400: "Bad request", 404: "Not found", 413: "Too large", 422: "Cannot read that"}
    return render(request, "error.html", status, status=status, title=titles.get(status, "Error"), message=message)


def ui_read(request: Request) -> None:
    require_read(request)


router = APIRouter(include_in_schema=False, dependencies=[Depends(ui_read)])
public = APIRouter(include_in_schema=False)


# ----------------------------------------------------------------- incidents

@router.get("/", response_class=HTMLResponse)
def incidents_page(request: Request, q: Annotated[IncidentQuery, Query()]) -> HTMLResponse:
    store, config, stats = request.app.state.store, request.app.state.config, request.app.state.stats
    try:
        limit, offset = paging(q, config)
        filters = q.store_filters()
        docs, total = store.incident_page_docs(limit=limit, offset=offset, count_cap=config.count_cap + 1, **filters)
        rows = [codec.incident_from_dict(d) for d in docs]
    except IncidexError as e:
        return error_page(request, 400, str(e))
    params = q.active()
    facets = [_facet(store, stats, filters, params, *f) for f in FACETS]
    sources = store.sources_for_incidents([i.id for i in rows])
    return render(request, "incidents.html", incidents=rows, sources=sources, total=min(total, config.count_cap),
                  more=total > config.count_cap, limit=limit, offset=offset, params=params, facets=facets, f=q,
                  chip_labels=_chip_labels(store, params))


def _facet(store: Any, stats: Any, filters: dict[str, Any], params: Any, dim: str, key: str, param: str,
           title: str) -> dict[str, Any]:
    """One facet: its chosen and negated values, and the top values with counts.

    The counts leave out the facet's own filter and negation (the other
    filters hold), so each count is what choosing that value alone would list
    and the analyst can add values to an OR without the others vanishing.
    """
    others = {k: v for k, v in filters.items() if k not in (key, f"not_{key}")}
    counted = {k: v for k, v in others.items() if v is not None}
    chosen, negated = params.values(param), params.values(f"not_{param}")
    items = [{"value": (v.upper() if dim == "country" else v), "count": n, "label": _facet_label(store, dim, v)}
             for v, n in stats.counts(dim, top=30, **counted)]
    for it in items:
        it["on"], it["off"] = it["value"] in chosen, it["value"] in negated
    return {"param": param, "title": title, "values_": items,
            "chosen": [{"value": v, "label": _facet_label(store, dim, v)} for v in chosen],
            "negated": [{"value": v, "label": _facet_label(store, dim, v)} for v in negated]}


def _chip_labels(store: Any, params: Any) -> dict[tuple[str, str], str]:
    """Display names of the actor filters' values (a kb id reads as its KB name)."""
    return {(k, v): actor_name(store, v) for k, v in params.items() if k in ("actor", "not_actor")}


def _facet_label(store: Any, dim: str, value: str | None) -> str:
    if value is None:
        return ""
    if dim == "country":
        return f"{_country(value.upper())} ({value.upper()})"
    if dim == "actor":
        return actor_name(store, value)
    return value


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: IdPath) -> HTMLResponse:
    store = request.app.state.store
    inc = store.get_incident(incident_id)
    if inc is None:
        raise HTTPException(404, f"No incident {incident_id!r}.")
    links = store.articles_for_incident(inc.id)
    owner = owner_of(links)
    sources = []
    for article_id, role in links:
        art = store.get_article(article_id)
        if art is None:
            continue
        ev = evidence_in(art.body, art.id, inc, owner=owner, copy_of=art.duplicate_of)
        sources.append({"article": art, "role": role, "evidence": len(ev),
                        "runs": marks(art.body, [(inc.id, e) for e in ev])})
    actors = {a.name: _actor_id(a) for a in inc.attackers}
    return render(request, "incident.html", inc=inc, sources=sources, actors=actors,
                  evidence_keys=_evidence_keys(inc), events=incident_events(inc, sources))


def incident_events(inc: Any, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The incident's own timeline: when it happened, the first report and each later source, and
    each response, in date order (``when`` YYYY[-MM[-DD]]); what has no date comes last, said so.

    An analyst reads from it how fast the news followed the attack and the
    responses followed the news, which the facts table does not show.
    """
    events = []
    if inc.date:
        events.append({"when": inc.date.value, "kind": "incident", "label": "The incident",
                       "detail": f"{inc.date.precision} precision"})
    reports = sorted((s for s in sources if s["article"].published), key=lambda s: s["article"].published)
    reports += [s for s in sources if not s["article"].published]
    for n, src in enumerate(reports):
        art = src["article"]
        label = "First report" if n == 0 and art.published else ("Copy" if src["role"] == "syndicated" else "Report")
        events.append({"when": (art.published or "")[:10], "kind": "source", "label": label,
                       "detail": f"{art.source or ''}: {art.title or art.id}".strip(": "), "href": f"#src-{art.id}"})
    for r in inc.responses:
        who = " ".join(x for x in (r.kind, f"by {r.by}" if r.by else "", f"against {r.against}" if r.against else "") if x)
        events.append({"when": r.date.value if r.date else "", "kind": "response", "label": "Response", "detail": who})
    return sorted(events, key=lambda e: (not e["when"], e["when"]))


def _actor_id(actor: Any) -> str:
    """The id the store files an attacker under (``list_actors``' ids), for links to its page."""
    from incidex.resolve.actors import canonical_actor

    actor = canonical_actor(actor)
    return actor.kb_id or f"name:{codec.name_key(actor.name)}"


templates.env.globals["actor_id"] = _actor_id


def _evidence_keys(inc: Any) -> set[str]:
    from incidex.serve.highlight import fact_key

    return {fact_key(e.field) for e in inc.evidence}


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: IdPath) -> HTMLResponse:
    store = request.app.state.store
    art = store.get_article(article_id)
    if art is None:
        raise HTTPException(404, f"No article {article_id!r}.")
    found = article_evidence(store, art)
    runs = marks(art.body, [(inc.id, e) for inc, _, ev in found for e in ev])
    return render(request, "article.html", article=art, found=found, runs=runs,
                  actors={a.name: _actor_id(a) for inc, _, _ in found for a in inc.attackers})


# ----------------------------------------------------------------- actors and victims

def _paging(q: Any, request: Request) -> tuple[int, int]:
    from incidex.serve.rest import ParamError

    try:
        return paging(q, request.app.state.config)
    except IncidexError as e:
        raise ParamError(str(e)) from None  # shown as an error page by the app's handler

@router.get("/actors", response_class=HTMLResponse)
def actors_page(request: Request, q: Annotated[ActorQuery, Query()]) -> HTMLResponse:
    limit, offset = _paging(q, request)
    rows = request.app.state.store.list_actors(q.q, limit=limit, offset=offset)
    return render(request, "actors.html", actors=rows, q=q.q or "", limit=limit, offset=offset,
                  params={k: v for k, v in {"q": q.q}.items() if v})


@router.get("/actors/{actor_id}", response_class=HTMLResponse)
def actor_page(request: Request, actor_id: IdPath) -> HTMLResponse:
    store = request.app.state.store
    actor = store.get_actor(actor_id)
    if actor is None:
        raise HTTPException(404, f"No actor {actor_id!r}.")
    incidents = store.list_incidents(actor=actor["id"], limit=TIMELINE_POINTS)
    return render(request, "actor.html", actor=actor, incidents=incidents, by_year=by_year(incidents),
                  timeline=charts.timeline(_points(incidents)), shown=len(incidents))


@router.get("/victims", response_class=HTMLResponse)
def victims_page(request: Request, q: Annotated[VictimQuery, Query()]) -> HTMLResponse:
    limit, offset = _paging(q, request)
    rows = request.app.state.store.list_victims(q.q, country=q.country.upper() if q.country else None,
                                                sector=q.sector, limit=limit, offset=offset)
    params = {k: v for k, v in {"q": q.q, "country": q.country, "sector": q.sector}.items() if v}
    return render(request, "victims.html", victims=rows, f=q, limit=limit, offset=offset, params=params)


@router.get("/victims/{name:path}", response_class=HTMLResponse)
def victim_page(request: Request, name: IdPath, country: str | None = None) -> HTMLResponse:
    """One victim (by name; in one country with ``?country=``): where and what it is, the names
    the news used for it, who attacked it, and its incidents over time."""
    from incidex import validate

    store, stats = request.app.state.store, request.app.state.stats
    try:
        country = validate.country("country", country) if country else None
    except IncidexError as e:
        return error_page(request, 400, str(e))
    victim = store.get_victim(name, country=country)
    if victim is None:
        raise HTTPException(404, f"No victim {name!r}" + (f" in {country}." if country else "."))
    filters = {"victim": victim["name"], **({"country": country.upper()} if country else {})}
    incidents = store.list_incidents(**filters, limit=TIMELINE_POINTS)
    attackers = [{"id": a, "name": actor_name(store, a), "incidents": n}
                 for a, n in stats.counts("actor", top=10, **filters)]
    return render(request, "victim.html", victim=victim, incidents=incidents, attackers=attackers,
                  params=Params(list(filters.items())), by_year=by_year(incidents),
                  timeline=charts.timeline(_points(incidents)), shown=len(incidents))


# ----------------------------------------------------------------- techniques, malware, CVEs

#: Pivot pages of incident terms: URL section -> (store kind and filter, title, plural title).
TERM_PAGES = {"techniques": ("technique", "Technique", "Techniques"), "malware": ("malware", "Malware", "Malware"),
              "cves": ("cve", "CVE", "CVEs")}


def _term_list(section: str) -> Any:
    kind, _, plural = TERM_PAGES[section]

    def page(request: Request, q: Annotated[ActorQuery, Query()]) -> HTMLResponse:
        limit, offset = _paging(q, request)
        rows = request.app.state.store.list_terms(kind, q.q, limit=limit, offset=offset)
        return render(request, "terms.html", rows=rows, section=section, title=plural, q=q.q or "", limit=limit,
                      offset=offset, params={k: v for k, v in {"q": q.q}.items() if v})
    return page


def _term_page(section: str) -> Any:
    kind, title, _ = TERM_PAGES[section]

    def page(request: Request, value: IdPath) -> HTMLResponse:
        """A technique, malware or CVE: the incidents naming it over time, the attackers and victims
        of those incidents, and links to filter the list by it."""
        store, stats = request.app.state.store, request.app.state.stats
        term = store.get_term(kind, value)
        if term is None:
            raise HTTPException(404, f"No incident names the {title.lower()} {value!r}.")
        filters = {kind: term["key"]}
        incidents = store.list_incidents(**filters, limit=TIMELINE_POINTS)
        top = {dim: stats.counts(dim, top=10, **filters) for dim in ("actor", "country", "sector")}
        return render(request, "term.html", term=term, section=section, title=title, incidents=incidents,
                      attackers=[{"id": a, "name": actor_name(store, a), "incidents": n} for a, n in top["actor"]],
                      countries=top["country"], sectors=top["sector"], params=Params([(kind, term["key"])]),
                      by_year=by_year(incidents), timeline=charts.timeline(_points(incidents)),
                      shown=len(incidents), external=term_link(kind, term["key"]))
    return page


def term_link(kind: str, key: str) -> str | None:
    """The public reference page of a technique (MITRE ATT&CK) or a CVE (cve.org); None for malware."""
    if kind == "technique" and key.startswith("T"):
        return "https://attack.mitre.org/techniques/" + key.replace(".", "/") + "/"
    if kind == "cve" and key.startswith("CVE-"):
        return f"https://www.cve.org/CVERecord?id={key}"
    return None


for _section in TERM_PAGES:
    router.add_api_route(f"/{_section}", _term_list(_section), methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(f"/{_section}/{{value:path}}", _term_page(_section), methods=["GET"],
                         response_class=HTMLResponse)


# ----------------------------------------------------------------- statistics

@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, q: Annotated[StatsQuery, Query()]) -> HTMLResponse:
    try:
        s = request.app.state.stats.summary(q.store_filters(), top=q.top)
    except IncidexError as e:
        return error_page(request, 400, str(e))
    params = q.active()
    params.pop("top", None)

    def bars(key: str, param: str, label: Any = None) -> Any:
        rows = [(label(r) if label else r["key"], r["count"], _link(params, **{param: r["key"]}))
                for r in s[key]]
        return charts.hbars(rows, label=key)

    return render(request, "stats.html", s=s, params=params, f=q,
                  months=charts.stacked_months(s["by_month_type"],
                                               left_out=charts.undated_note(s["undated"], s["year_only"])),
                  countries=bars("by_country", "country", lambda r: _country(r["key"]) or r["key"]),
                  sectors=bars("by_sector", "sector"), types=bars("by_type", "type"),
                  actors=bars("by_actor", "actor", lambda r: r["name"]))


# ----------------------------------------------------------------- timelines

TIMELINE_POINTS = 1000  # incidents drawn one by one; the monthly chart counts them all


@router.get("/timeline", response_class=HTMLResponse)
def timeline_page(request: Request, q: Annotated[IncidentFilters, Query()]) -> HTMLResponse:
    """The incidents of the current filter over time: per month by type (all of them), each one on a
    time axis and by year (the latest ``TIMELINE_POINTS``); undated and year-only ones counted apart."""
    store, stats = request.app.state.store, request.app.state.stats
    try:
        filters = q.store_filters()
        s = stats.summary(filters, top=1)
        incidents = store.list_incidents(**filters, limit=TIMELINE_POINTS)
    except IncidexError as e:
        return error_page(request, 400, str(e))
    params = q.active()
    return render(request, "timeline.html", s=s, params=params, incidents=incidents, subject=_subject(store, params),
                  months=charts.stacked_months(s["by_month_type"],
                                               left_out=charts.undated_note(s["undated"], s["year_only"])),
                  timeline=charts.timeline(_points(incidents)), by_year=by_year(incidents),
                  chip_labels=_chip_labels(store, params))


def _subject(store: Any, params: Any) -> str:
    """Whose timeline this is, when the filter is one actor or one victim and nothing else."""
    if len(params) == 1 and params.actor:
        return actor_name(store, params.actor)
    if len(params) == 1 and params.victim:
        return params.victim
    return ""


def _points(incidents: list[Any]) -> list[tuple[str, str, str, str]]:
    return [(i.date.value if i.date else "", (i.attack_types or ["other"])[0], i.summary, f"/incidents/{i.id}")
            for i in incidents]


def by_year(incidents: list[Any]) -> dict[str, list[Any]]:
    """Incidents by year, latest year first, the undated last: every incident listed once (a
    year-only one under its year), none dropped for lack of a month."""
    groups: dict[str, list[Any]] = {}
    for i in incidents:
        groups.setdefault(i.date.value[:4] if i.date else "undated", []).append(i)
    years = sorted((k for k in groups if k != "undated"), reverse=True)
    return {k: groups[k] for k in [*years, *(["undated"] if "undated" in groups else [])]}


# ----------------------------------------------------------------- graph

class GraphQuery(IncidentFilters):
    limit: int = Field(300, ge=1, le=1000, description="The latest incidents drawn.")


@router.get("/graph", response_class=HTMLResponse)
def graph_page(request: Request, q: Annotated[GraphQuery, Query()]) -> HTMLResponse:
    """Attackers -> incidents -> victims of the current filter as one laid-out SVG (the latest
    ``limit`` incidents), kept in the statistics cache until the incidents change (a layout of
    300 incidents costs about half a second)."""
    from incidex.serve import graph

    store, stats = request.app.state.store, request.app.state.stats
    try:
        filters = q.store_filters()
        key = ("graph", q.limit, tuple(sorted(_count_args(filters).items())))
        drawn = stats.peek(key)
        if drawn is None:
            incidents = store.list_incidents(**filters, limit=q.limit)
            g = graph.build(incidents, _actor_id, lambda aid, name: actor_name(store, aid) if ":" in aid else name)
            drawn = {"svg": graph.svg(g, graph.layout(g)), "incidents": len(incidents),
                     "actors": sum(1 for _, d in g.nodes(data=True) if d["kind"] == "actor"),
                     "victims": sum(1 for _, d in g.nodes(data=True) if d["kind"] == "victim")}
            stats.put(key, drawn)
        total = store.count_incidents_matching(**filters, cap=request.app.state.config.count_cap + 1)
    except IncidexError as e:
        return error_page(request, 400, str(e))
    params = q.active()
    params.pop("limit")
    return render(request, "graph.html", drawn=drawn, total=total, limit=q.limit, params=params,
                  chip_labels=_chip_labels(store, params))


# ----------------------------------------------------------------- paste an article

@router.get("/paste", response_class=HTMLResponse)
def paste_form(request: Request) -> HTMLResponse:
    return render(request, "paste.html", form={})


@router.post("/paste", response_class=HTMLResponse)
async def paste(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    content = form.get("content", "")
    if not content.strip():
        return render(request, "paste.html", 422, form=form, error="Paste the text or the HTML of an article.")
    meta = {k: (form.get(k) or "").strip() or None for k in ("title", "published", "url", "source")}
    kind = form.get("kind") if form.get("kind") in ("text", "html") else None
    if form.get("store"):
        record = check_key(request.app.state.store, (form.get("api_key") or "").strip())
        if record is None:
            return render(request, "paste.html", 401, form=form,
                          error="Storing needs a valid API key (create one with `incidex keys create`).")
        return await run_in_threadpool(_paste_store, request, content, kind, meta, record)
    return await run_in_threadpool(_paste_extract, request, form, content, kind, meta)


def _paste_extract(request: Request, form: dict, content: str, kind: str | None, meta: dict) -> Response:
    from incidex.api import extract_document, read_content
    from incidex.records import RawDocument

    doc = next(iter(read_content(content, kind=kind, origin="<pasted>", settings=request.app.state.settings,
                                 **meta)), None)
    if not isinstance(doc, RawDocument):
        return render(request, "paste.html", 422, form=form, error=f"Cannot read it: {doc.reason if doc else 'empty'}")
    try:
        result = extract_document(doc)
    except IncidexError as e:
        return render(request, "paste.html", 422, form=form, error=f"Cannot read it: {getattr(e, 'reason', e)}")
    art = result.article
    pairs = [(inc.id, e) for inc in result.incidents for e in evidence_in(art.body, art.id, inc, owner=art.id)]
    return render(request, "paste.html", form=form, result=result, runs=marks(art.body, pairs),
                  actors={a.name: _actor_id(a) for inc in result.incidents for a in inc.attackers})


def _paste_store(request: Request, content: str, kind: str | None, meta: dict, record: dict) -> Response:
    from incidex.api import ingest_items, read_content

    store = request.app.state.store
    report = ingest_items(read_content(content, kind=kind, origin=f"ui:{record['name']}",
                                       settings=request.app.state.settings, **meta), store)
    store.touch_api_key(record["id"])
    if not report.articles:
        reasons = "; ".join(f.reason for f in report.failed) or "nothing found in it"
        return render(request, "paste.html", 422, form={"content": content, **{k: v or "" for k, v in meta.items()}},
                      error=f"Cannot store it: {reasons}")
    return RedirectResponse(f"/articles/{report.articles[0]}", status_code=303)


# ----------------------------------------------------------------- sign-in and API docs

@public.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", message="")


@public.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    key = str(form.get("api_key") or "").strip()
    if check_key(request.app.state.store, key) is None:
        return render(request, "login.html", 401, message="Unknown or revoked API key.")
    resp = RedirectResponse("/", status_code=303)
    resp.set_cookie(COOKIE, key, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                    max_age=30 * 24 * 3600)
    return resp


@public.post("/logout")
def logout() -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


@public.get("/api/v1/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI document as a page: every endpoint, its parameters and bodies (no CDN viewer)."""
    spec = request.app.openapi()
    ops = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            params = [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                       "type": _schema_type(p.get("schema", {})), "description": p.get("description", "")}
                      for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "tag": (op.get("tags") or ["other"])[0], "params": params,
                        "body": _resolve(spec, body) if body else None,
                        "responses": sorted(op.get("responses", {}))})
    tags: dict[str, list] = {}
    for op in ops:
        tags.setdefault(op["tag"], []).append(op)
    return render(request, "api_docs.html", spec=spec, tags=tags)


def _schema_type(schema: dict) -> str:
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_schema_type(s) for s in schema["anyOf"] if s.get("type") != "null")
    kind = schema.get("type", "")
    bounds = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "maxLength", "pattern") if k in schema]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def _resolve(spec: dict, schema: dict) -> list[dict[str, str]]:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return [{"name": k, "type": _schema_type(v), "description": v.get("description", "")}
            for k, v in schema.get("properties", {}).items()]
