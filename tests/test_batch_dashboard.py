"""The batch's local Dask cluster listens on loopback only (its dashboard has no sign-in) unless
MEDIUS_DASK_DASHBOARD asks for another address."""

from __future__ import annotations

import ipaddress

from medius.batch._runner import local_cluster_addresses


def _listening_hosts(cluster) -> list[str]:
    hosts = [cluster.scheduler_address.split("://")[1].rsplit(":", 1)[0]]
    server = cluster.scheduler.http_server
    if server is not None:
        hosts += [s.getsockname()[0] for s in server._sockets.values()]
    return hosts


def test_local_cluster_and_dashboard_listen_on_loopback_only(monkeypatch):
    from distributed import LocalCluster

    monkeypatch.delenv("MEDIUS_DASK_DASHBOARD", raising=False)
    assert local_cluster_addresses() == {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}
    with LocalCluster(n_workers=0, processes=True, silence_logs=50, **local_cluster_addresses()) as cluster:
        hosts = _listening_hosts(cluster)
        assert len(hosts) >= 2 and all(ipaddress.ip_address(h).is_loopback for h in hosts), hosts
    monkeypatch.setenv("MEDIUS_DASK_DASHBOARD", "off")
    assert local_cluster_addresses()["dashboard_address"] is None
    monkeypatch.setenv("MEDIUS_DASK_DASHBOARD", "0.0.0.0:8787")
    assert local_cluster_addresses()["dashboard_address"] == "0.0.0.0:8787"
