"""What every Kivy app of the hall shares, and nothing else (docs/architecture: may import hall and Kivy).

- ui.environment — Kivy's environment and Config block: call `prepare_kivy()` before any `import kivy`;
- ui.theme — the colours of the kiosk's paper screens and of the wall display;
- ui.widgets — widgets and helpers that are no one app's (hiding, list filling, "is this text drawn");
- ui.observed — the small interface an app exposes to whoever watches it (events, its view);
- ui.probe / ui.probe_client — the one `--probe` test port (one line protocol, one screenshot path),
  attached from outside: the apps do not know about it.

Only ui.environment may be imported before Kivy is prepared; the rest import Kivy.
"""
