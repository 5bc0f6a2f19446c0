"""The documentation's links hold: README.md and docs/*.md point only at files that exist and
at headings that exist, and the README stays a landing page.

A link is checked as GitHub renders it: relative to the page that holds it, an `#anchor` into
a Markdown page against that page's headings, slugged as GitHub slugs them. Links to other
sites are not followed (the tests run without network). Code (fenced blocks and `spans`) is
not Markdown, so a `[x](y)` inside it is not a link.
"""
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


def prose(text):
    """the text less its code: fenced blocks, then inline code spans (which may wrap)"""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading):
    """GitHub's anchor for a heading: its rendered text lowercased, every character but
    letters, digits, spaces, hyphens and underscores dropped, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = text.replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page):
    """the anchors of a page's headings, a repeated one numbered -1, -2, ... as GitHub does"""
    seen, out = {}, set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        s = slug(heading)
        out.add(s if s not in seen else f"{s}-{seen[s]}")
        seen[s] = seen.get(s, 0) + 1
    return out


def links(page):
    """(page, target) for every relative link and image on the page"""
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        yield page, target


ALL_LINKS = [link for page in PAGES for link in links(page)]


def test_the_pages_have_links():
    """the link check below checks something: the README links every page of docs/"""
    assert len(PAGES) > 1 and ALL_LINKS
    readme_targets = {target.split("#")[0] for page, target in ALL_LINKS if page.name == "README.md"}
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in readme_targets, f"README.md does not link docs/{page.name}"


@pytest.mark.parametrize("page, target", ALL_LINKS,
                         ids=[f"{p.relative_to(ROOT)}->{t}" for p, t in ALL_LINKS])
def test_a_link_resolves(page, target):
    path, _, anchor = target.partition("#")
    file = (page.parent / unquote(path)).resolve() if path else page
    assert file.exists(), f"{page.relative_to(ROOT)}: the link {target} points at no file"
    if anchor and file.suffix == ".md":
        assert anchor in anchors(file), (f"{page.relative_to(ROOT)}: the link {target}: "
                                         f"{file.relative_to(ROOT)} has no heading with the anchor #{anchor}")


def test_the_readme_is_a_landing_page():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move the depth into docs/"


@pytest.mark.parametrize("heading, anchor", [
    ("Threads: why `--threads auto`", "threads-why---threads-auto"),
    ("Softmax + CE against sigmoid + MBCE", "softmax--ce-against-sigmoid--mbce"),
    ("The MLP and SGD (INF265)", "the-mlp-and-sgd-inf265"),
    ("The report's experiment", "the-reports-experiment"),
    ("1. Check your own gradient, no data needed", "1-check-your-own-gradient-no-data-needed"),
])
def test_slugs_as_github_makes_them(heading, anchor):
    assert slug(heading) == anchor
