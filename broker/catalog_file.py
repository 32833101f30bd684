"""The catalog file the hall service publishes from: DIR/catalog.json, written by `motcua catalog import`.

    CatalogFile.in_folder(data_dir).store(catalog)   # the import: temp file, fsync, rename (never half a file)
    source = CatalogSource(CatalogFile(data_dir / "catalog.json"), log)   # the hall service
    source.poll()          # its once-a-second tick: True when the file changed into a good catalog
    source.payload         # the last good catalog (bytes) or None: what every (re)connect publishes
    source.sent(info)      # the publish's MessageInfo; settle() records it once the broker took it
    CatalogFile.in_folder(data_dir).published()   # the version the broker last confirmed (DIR/catalog.published)

Only the hall service writes the retained `catalog` topic, as it alone writes `config` and
`board`: two writers of one retained topic would leave whichever wrote last, and the import
would need the service's password. So the import only writes the file; the service's tick
sees it changed (its size, time or inode) within a second, checks it and publishes it. A file
that is not a good catalog is refused with one ERROR in the service's log, and the catalog
published before stays published (and is what a reconnect republishes). When the broker has
confirmed the message the service writes its version to DIR/catalog.published: that is how
the import knows its catalog is out.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

from broker.durable import write_durably
from hall.catalog import Catalog
from hall.protocol import ProtocolError

CATALOG_FILE = "catalog.json"          # the retained `catalog` payload, as the import checked it
PUBLISHED_FILE = "catalog.published"   # the version of the catalog the broker last confirmed


class Published(Protocol):
    def is_published(self) -> bool: ...


class CatalogFile:
    def __init__(self, path: Path):
        self.path = Path(path)                                   # DIR/catalog.json
        self.published_path = self.path.with_name(PUBLISHED_FILE)

    @classmethod
    def in_folder(cls, data_dir: Path) -> CatalogFile:
        """The catalog file of the hall server's data folder."""
        return cls(Path(data_dir) / CATALOG_FILE)

    def store(self, catalog: Catalog) -> Path:
        """Write the catalog's payload so that a reader sees the old file or the new one, whole."""
        # A power cut must leave the old catalog or the new one, never a torn file the service refuses.
        write_durably(self.path, catalog.to_payload())
        return self.path

    def signature(self) -> tuple[int, int, int] | None:
        """What changes when the file is replaced or rewritten; None when there is none."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def published(self) -> str | None:
        try:
            return self.published_path.read_text().strip() or None
        except OSError:
            return None

    def mark_published(self, version: str) -> None:
        tmp = self.published_path.with_name(PUBLISHED_FILE + ".tmp")
        tmp.write_text(version + "\n")
        os.replace(tmp, self.published_path)


class CatalogSource:
    """The hall service's side: the last good catalog, reloaded when the file changes."""

    def __init__(self, file: CatalogFile, log: logging.Logger):
        self.file = file
        self.log = log
        self.payload: bytes | None = None
        self.version: str | None = None
        self._seen: tuple[int, int, int] | None = None
        self._inflight: tuple[str, Published] | None = None

    def poll(self) -> bool:
        """Read the file again if it changed; True when it now holds a new good catalog."""
        seen = self.file.signature()
        if seen == self._seen:
            return False
        self._seen = seen
        if seen is None:
            return False    # nothing imported yet (or removed): keep what was published
        try:
            payload = self.file.path.read_bytes()
            catalog = Catalog.from_payload(payload)
        except (OSError, ProtocolError) as exc:
            kept = f"version {self.version[:12]} stays published" if self.version else "no catalog is published"
            self.log.error("refused the catalog file %s: it is not a catalog `motcua catalog import` wrote "
                           "(%s); %s. Import the catalog.toml again", self.file.path, exc, kept)
            return False
        changed = payload != self.payload
        self.payload, self.version = payload, catalog.version
        return changed

    def sent(self, info: Published) -> None:
        if self.version is not None:
            self._inflight = (self.version, info)

    def settle(self) -> None:
        """Once the broker confirmed the last publish, record its version for the import to see."""
        if self._inflight is not None and self._inflight[1].is_published():
            version, self._inflight = self._inflight[0], None
            try:
                if self.file.published() != version:
                    self.file.mark_published(version)
            except OSError as exc:   # a full disk, say: the catalog is out all the same
                self.log.error("cannot write %s (%s): `motcua catalog import` cannot tell that catalog "
                               "%s is published", self.file.published_path, exc, version[:12])

