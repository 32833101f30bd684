"""The kiosk's Kivy screens: one Screen class and one .kv file each; they render a kiosk.views.View.

Nothing here holds queue logic or touches the network: a tap calls one `app.tap_*` method,
which asks the model (kiosk.model) and, for a ticket, the worker (kiosk.worker).
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
# Load order: widgets first (the shared rules), then one file per screen.
KV_FILES = ["widgets.kv", "home.kv", "priority.kv", "ticket.kv", "fields.kv", "procedures.kv", "detail.kv",
            "search.kv", "closed.kv", "offline.kv"]
