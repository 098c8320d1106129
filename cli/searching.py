"""``search`` and ``reindex``."""

from __future__ import annotations

import sys

import click

from cli.common import echo_json, ready_runtime
from sanarip.agenda import MAX_IDENTIFIER
from sanarip.languages import check_language


@click.command("search")
@click.argument("query")
@click.option("--committee")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--speaker")
@click.option("--language")
@click.option("--official", is_flag=True, help="Only published (official) stenograms.")
@click.option("--agenda", help="An agenda item's identifier (e.g. a bill number): moments within that item.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--page", type=click.IntRange(1, 500), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def search_cmd(query: str, committee, date_from, date_to, speaker, language, official, agenda, sort, page,
               as_json) -> None:
    """Search transcripts; each hit links to its moment: /s/<sitting>?t=<seconds>."""
    from html import unescape

    from search import Filters, open_index

    if language:
        check_language(language, "--language")
    if agenda is not None and not 0 < len(agenda.strip()) <= MAX_IDENTIFIER:
        raise click.BadParameter(f"an agenda item's identifier of 1 to {MAX_IDENTIFIER} characters",
                                 param_hint="--agenda")
    rt = ready_runtime()
    filters = Filters(committee=committee, date_from=date_from.date() if date_from else None,
                      date_to=date_to.date() if date_to else None, speaker=speaker, language=language,
                      official_only=official, agenda=agenda.strip() if agenda else None)
    index = open_index(rt.settings)
    try:
        result = index.search(query, filters, page=page, sort=sort)
    finally:
        index.close()
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(f"{result.total} hits (page {result.page} of {result.pages})")
    base = rt.settings.base_url.rstrip("/")
    for h in result.hits:
        text = unescape(h.snippet.replace("<mark>", "[").replace("</mark>", "]"))
        who = f"{h.speaker}: " if h.speaker else ""
        item = f"  [{h.agenda}]" if h.agenda else ""
        click.echo(f"{base}{h.link}  {h.committee} {h.day}{item}  {who}{text}")


@click.command()
def reindex() -> None:
    """Rebuild the search index from the database (Elasticsearch: a new index, then an alias swap)."""
    from tqdm import tqdm

    from search import open_index
    from search.documents import all_documents, count_segments

    rt = ready_runtime()
    index = open_index(rt.settings)
    with rt.db.session(readonly=True) as s:
        total = count_segments(s)
    # A fresh session: its snapshot begins when rebuild() first reads, after it holds the lock,
    # so no write committed before the lock is missing from the new index.
    with rt.db.session(readonly=True) as s, tqdm(total=total, unit="seg", file=sys.stderr, desc="reindex",
                                                 disable=None) as bar:
        def progress(n: int) -> None:
            bar.n = n
            bar.refresh()

        count = index.rebuild(all_documents(s), progress=progress)
    index.close()
    click.echo(f"indexed {count} segments")


COMMANDS = [search_cmd, reindex]
