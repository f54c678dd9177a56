"""Dot leaders drawn as a few runs of text a line instead of one text per dot.

WeasyPrint lays a `leader(". ")` out as one copy of its text box for every repetition, each set at
its own place counted from the line's end (so the dots of all lines stand in columns), and draws
every copy as a text of its own: the contents of a book of 365 chapters drew 16,000 texts, half the
time its pages took. The copies stand edge to edge, so a text box holding the string repeated RUN
times draws the same dots; each run starts where its first copy started, counted from the page
number as the copies are, so the dots of all lines still stand in columns. (Within a run the PDF
font's advances, rounded to a thousandth of an em, move a dot by up to a twentieth of a point, the
same in every line.) A string ending in spaces (". ") is drawn with them first (" ."), so that text
copied out of the PDF keeps a space between a title and its dots, as it did when every dot was a
text of its own.

This reaches into WeasyPrint's layout (`weasyprint.layout.inline.handle_leader`), written against
WeasyPrint 70; where that has changed shape, leaders stay as WeasyPrint makes them.
"""

from __future__ import annotations

RUN = 8  # copies drawn as one text


def install() -> None:
    """Join each line's leader copies into runs of RUN, in this process."""
    try:
        from weasyprint.layout import inline
        from weasyprint.layout.leader import leader_index
        from weasyprint.text.line_break import create_layout, split_first_line
    except ImportError:
        return
    if getattr(inline.handle_leader, "joins_copies", False):
        return
    handle_leader = inline.handle_leader

    def joined(context, line, containing_block):
        handle_leader(context, line, containing_block)
        try:
            _, leader = leader_index(line)
            copies = sorted(leader.children, key=lambda box: box.position_x) if leader is not None else []
            if len(copies) < 2 or any(box.text != copies[0].text for box in copies):
                return
            text = copies[0].text
            core = text.rstrip(" ")
            lead = 0.0
            if core and core != text:  # ". " drawn as " .", so that text copied out keeps a space
                lead = copies[0].width - split_first_line(core, copies[0].style, context, None, 0)[3]
                text = text[len(core):] + core  # between a title and its dots
            runs = []
            for stop in range(len(copies), 0, -RUN):  # counted from the page number, as the copies are
                group = copies[max(0, stop - RUN):stop]
                box = group[0].copy()
                box.text = text * len(group)
                box.pango_layout = create_layout(box.text, box.style, context, None, 0)
                box.position_x -= lead
                box.width = group[-1].position_x + group[-1].width - group[0].position_x
                runs.append(box)
            leader.children = tuple(reversed(runs))
        except (AttributeError, TypeError, ValueError):
            return  # the copies as WeasyPrint made them

    joined.joins_copies = True
    inline.handle_leader = joined
