"""Reading articles from the team's Markdown files (one file per article, `KB-104.md`)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from helpdesk.models import Article

log = logging.getLogger(__name__)

ARTICLE_ID = re.compile(r"^KB-\d{3,}$")


def read_article(path: Path) -> Article:
    """Parse one article file: the file name is the id, the first line `# Title`, the rest the body."""
    article_id = path.stem
    if not ARTICLE_ID.match(article_id):
        raise ValueError(f"{path.name}: an article file is named after its id, such as KB-104.md")
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    first, _, rest = text.partition("\n")
    if not first.startswith("# "):
        raise ValueError(f"{path.name}: the first line must be the title, as '# Title'")
    return Article(id=article_id, title=first[2:].strip(), body=rest.strip())


def read_folder(folder: str | Path) -> list[Article]:
    """Every article of a folder, in id order; files that cannot be read are skipped (and logged)."""
    articles = []
    for path in sorted(Path(folder).glob("*.md")):
        try:
            articles.append(read_article(path))
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the nightly import
            # FIXME: the nightly job's mail only shows the last line of the log, so nobody sees these.
            log.warning("skipped %s: %s", path.name, err)
    return articles
