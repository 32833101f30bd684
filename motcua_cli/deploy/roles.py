"""What each installable role of a Pi is: its unit, its user and groups, its OS and pip packages.

    role = ROLES["kiosk"]
    role.unit, role.user, role.groups, role.apt, role.pip_role, role.device_role
"""

from __future__ import annotations

from dataclasses import dataclass

# Every role's venv is built by the bootstrap (python3 -m venv, then pip): Debian splits venv and
# ensurepip into python3-venv.
BASE_APT = ("python3", "python3-venv", "systemd")
# The Kivy apps: Kivy's wheel brings its own SDL, but loads the system's GL/EGL and mtdev (touch)
# at run time; DejaVu is the screens' and the tickets' font (full Vietnamese).
SCREEN_APT = ("fonts-dejavu-core", "libgl1", "libegl1", "libgl1-mesa-dri", "libmtdev1")
# The printer's and the touchscreen's rules need udev (every Pi image has it; a minimal Debian may not).
UDEV_APT = ("udev",)


@dataclass(frozen=True)
class Role:
    name: str
    """The installer's name for it: server, kiosk, display or counter-pad."""
    unit: str
    """Its systemd unit, as checked in under systemd/."""
    user: str
    """The unit's User= (a system user the installer creates)."""
    groups: tuple[str, ...]
    """The unit's SupplementaryGroups=: the user is made a member too, for the commands an admin runs as it."""
    apt: tuple[str, ...]
    """Debian packages it runs with (besides BASE_APT)."""
    pip_role: str
    """The bootstrap's role of its venv (`./motcua install PIP_ROLE`, as its role_of has it)."""
    device_role: str | None
    """The [device] role its device file must have; None: no device file (the hall server)."""
    screen: bool
    """It draws full screen, so the console must never blank."""
    touch: bool
    """It has a touchscreen (udev rule)."""
    printer: bool
    """It has a ticket printer (udev rule from the device file's [printer] ids)."""

    @property
    def env_name(self) -> str:
        """The unit's EnvironmentFile= name under /etc/default/ (and systemd/NAME.env in the source)."""
        return self.unit.removesuffix(".service")

    @property
    def state_dir(self) -> str:
        """Its StateDirectory= under /var/lib/."""
        return "/var/lib/" + self.env_name.replace("motcua-hall", "motcua")


ROLES: dict[str, Role] = {r.name: r for r in (
    # Mosquitto is the hall's broker (motcua runs its own from the package's binary); the clients
    # are for an operator debugging; DejaVu draws the ticket page's PNGs.
    Role("server", "motcua-hall.service", "motcua", (), ("mosquitto", "mosquitto-clients", "fonts-dejavu-core"),
         "hall", None, screen=False, touch=False, printer=False),
    Role("kiosk", "motcua-kiosk.service", "motcua-kiosk", ("video", "render", "input", "lp", "dialout"),
         (*SCREEN_APT, *UDEV_APT, "libusb-1.0-0"), "kiosk", "kiosk", screen=True, touch=True, printer=True),
    # The wall display speaks the calls: espeak-ng's voice, sox and ALSA's player.
    Role("display", "motcua-display.service", "motcua-display", ("video", "render", "audio"),
         (*SCREEN_APT, "espeak-ng", "sox", "alsa-utils"), "display", "display", screen=True, touch=False,
         printer=False),
    Role("counter-pad", "motcua-counter-pad.service", "motcua-counter-pad", ("video", "render", "input"),
         (*SCREEN_APT, *UDEV_APT), "kiosk", "counter", screen=True, touch=True, printer=False),
)}


def apt_packages(roles: list[Role]) -> list[str]:
    """The Debian packages of these roles, without repeats, in a stable order."""
    return list(dict.fromkeys([*BASE_APT, *(p for r in roles for p in r.apt)]))
