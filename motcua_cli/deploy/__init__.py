"""The system installer (`sudo ./motcua install --role ROLE`) and what it shares with `upgrade`.

Stdlib only: it runs with the system's python3 before any venv exists
(`PYTHONPATH=<clone> python3 -m motcua_cli.deploy.install_cmd …`). docs/install-device.md.
"""
