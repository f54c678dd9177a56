"""Every named rule a user can turn off with `[detect] disable = [...]` in a sidecar."""

from packager.detect.headings import HEADING_RULES
from packager.detect.notes import NOTE_RULES
from packager.transform.typography import TYPOGRAPHY_RULES

RULE_NAMES: set[str] = (
    set(HEADING_RULES) | set(NOTE_RULES) | set(TYPOGRAPHY_RULES)
    | {"edge_content", "formatting_legend", "symbol_line", "blank_gap", "dateline", "title_on_next_line",
       "duplicate_heading", "note_continues", "note_chapter", "note_fence", "markdown_outline", "heading_group",
       "contents_list", "yaml_front_matter", "ao3_layout", "opening_text", "summary_label", "after_the_end",
       "posted_line", "navigation_line", "verse_lines", "markdown_syntax"}
)
