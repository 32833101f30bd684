"""`motcua printer preview`: write the PNG of a sample ticket (see docs/ticket-layout.md).

    motcua printer preview --model TM-T88V --priority --out /tmp/t.png
"""

from __future__ import annotations

import sys
from pathlib import Path

WIDTHS = (384, 512, 576)


def add_parser(sub) -> None:
    from motcua_cli.paths import EXAMPLE_HALL

    p = sub.add_parser("preview", help="write the PNG of a sample ticket")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--width", type=int, choices=WIDTHS, help="paper width in dots: 384 (58 mm), 512 or 576 "
                      "(80 mm); default 576")
    size.add_argument("--model", help="printer model (python-escpos profile name, POS-58, POS-80 …): its width")
    p.add_argument("--priority", action="store_true", help="a priority ticket (the hall's first category)")
    p.add_argument("--service", help="service id of the sample (default: the hall's first service)")
    p.add_argument("--out", default="ticket-preview.png", help="PNG file to write (default ticket-preview.png)")
    p.add_argument("--config", default=str(EXAMPLE_HALL), help="hall.toml (default: the example hall)")
    p.set_defaults(fn=run)


def run(args) -> int:
    from hall.config import load_hall
    from printer.layout import render_ticket
    from printer.profiles import load_profile
    from printer.ticket import sample_ticket

    cfg = load_hall(args.config)
    try:
        width = load_profile(args.model).width if args.model else (args.width or 576)
        info = sample_ticket(cfg, args.service, priority=args.priority)
        image = render_ticket(info, width)
    except ValueError as err:      # unknown model or service, a character the font lacks
        print(f"motcua printer preview: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    print(out)          # only the path, so `xdg-open "$(motcua printer preview)"` works
    return 0
