"""`stampede server --node-addresses`: each node on its own address and the same port, as in a real cluster, found by
the DataStax Python driver through system.peers. Loopback only: 127.0.0.x addresses work on lo without setup.

Run: python3 -m pytest Tests/Interop/test_server_node_addresses.py
"""

import pytest

from server_fixtures import admin, connected, start_server, wait_until

# Deliberately neither consecutive nor in order: the list decides each node's address.
NODE_ADDRESSES = ["127.0.0.4", "127.0.0.6", "127.0.0.5"]


def test_driver_discovers_every_node_on_its_own_address(start_stampede, free_port):
    from cassandra.query import SimpleStatement

    port = free_port()
    admin_port = free_port()
    server = start_server(start_stampede, port, "--node-addresses", ",".join(NODE_ADDRESSES), "--admin-port", admin_port)
    assert [f"node {i + 1}: {a}:{port}" in server.log_text() for i, a in enumerate(NODE_ADDRESSES)] == [True] * 3
    assert [n["host"] for n in admin(admin_port, "GET", "/nodes")] == NODE_ADDRESSES

    # One contact point (the second node): the driver finds the other two through system.peers.
    with connected([NODE_ADDRESSES[1]], port) as (cluster, session):
        hosts = cluster.metadata.all_hosts()
        assert sorted(h.address for h in hosts) == sorted(NODE_ADDRESSES)
        assert {h.endpoint.port for h in hosts} == {port}
        assert len(cluster.metadata.token_map.ring) == 3
        wait_until(lambda: len(session.get_pool_state()) == 3, timeout=30, what="a connection pool to every node")
        # Each node answers on its own address and reports that address as its rpc and broadcast address.
        for host in hosts:
            statement = SimpleStatement("SELECT rpc_address, broadcast_address, listen_address FROM system.local WHERE key='local'")
            row = session.execute(statement, host=host).one()
            assert (row.rpc_address, row.broadcast_address, row.listen_address) == (host.address,) * 3
            peers = session.execute(SimpleStatement("SELECT peer, rpc_address FROM system.peers"), host=host).all()
            assert sorted(p.rpc_address for p in peers) == sorted(a for a in NODE_ADDRESSES if a != host.address)

        # A stopped node is reported down under its own address.
        admin(admin_port, "POST", "/nodes/2/stop")
        wait_until(lambda: not any(h.is_up for h in hosts if h.address == NODE_ADDRESSES[2]), timeout=30,
                   what=f"{NODE_ADDRESSES[2]} marked down")
        assert all(h.is_up for h in hosts if h.address != NODE_ADDRESSES[2])
        assert session.execute("SELECT release_version FROM system.local").one() is not None


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--nodes", "3", "--node-addresses", "127.0.0.4,127.0.0.5"], "--nodes 3 but --node-addresses lists 2 address(es)"),
        (["--node-addresses", "127.0.0.4,db-2"], "node 2's address 'db-2' is not an IPv4 or IPv6 address"),
        (["--node-addresses", "127.0.0.4,127.0.0.4"], "node 2's address 127.0.0.4 is listed twice"),
        (["--node-addresses", "0.0.0.0"], "is a wildcard"),
        (["--node-addresses", "127.0.0.4,127.0.0.5", "--port-per-node"], "--port-per-node and --node-addresses exclude each other"),
        # 192.0.2.0/24 (TEST-NET-1) is never assigned to this machine.
        (["--node-addresses", "127.0.0.4,192.0.2.7"], "node 2 cannot listen on 192.0.2.7"),
    ],
)
def test_bad_node_addresses_are_refused_with_the_cause(run_stampede, free_port, arguments, message):
    result = run_stampede("server", "--port", free_port(), *arguments, timeout=60)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr, result.stdout + result.stderr
