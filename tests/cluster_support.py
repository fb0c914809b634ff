"""A real Redis Cluster on loopback for the tests that run on one: three masters with a replica each,
redis-server --cluster-enabled and redis-cli --cluster create, on free ports (and their bus ports),
started once per test session that asks for it and stopped by the pids this suite started."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from redis.cluster import ClusterNode, RedisCluster

from tests.processes import stop_process

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
NODES = 6


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_block(count: int) -> int:
    """A first port p with p .. p+count-1 and their cluster bus ports (+10000) all free."""
    for base in range(21000, 29000, 17):
        if all(_free(base + i) and _free(base + 10000 + i) for i in range(count)):
            return base
    raise RuntimeError("no free block of ports for a Redis Cluster")


class LocalCluster:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cineverse-cluster-"))
        self.base = _free_block(NODES)
        self.ports = [self.base + i for i in range(NODES)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def nodes_setting(self) -> str:
        """REDIS_CLUSTER_NODES for the app."""
        return ",".join(f"127.0.0.1:{p}" for p in self.ports[:3])

    def start_node(self, port: int) -> None:
        self.processes[port] = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", f"nodes-{port}.conf", "--cluster-node-timeout", "2000",
             # a replica takes over however long ago it last heard from its master (a test's cluster is new)
             "--cluster-replica-validity-factor", "0",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=port, socket_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"cluster node {port} did not start")

    def start(self) -> None:
        for port in self.ports:
            self.start_node(port)
        subprocess.run([REDIS_CLI, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                        "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        self.wait_ok()
        self.wait_replicas()

    def wait_replicas(self, timeout: float = 30) -> None:
        """Every replica linked to its master (a failover needs it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [redis.Redis(port=p, socket_timeout=0.5).info("replication") for p in self.processes]
            replicas = [i for i in infos if i.get("role") == "slave"]
            if len(replicas) == NODES // 2 and all(i.get("master_link_status") == "up" for i in replicas):
                return
            time.sleep(0.1)
        raise RuntimeError("the cluster's replicas did not link to their masters")

    def wait_ok(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = []
            for port in self.processes:
                try:
                    states.append(redis.Redis(port=port, socket_timeout=0.5).cluster("info")["cluster_state"])
                except (redis.RedisError, KeyError):
                    states.append("down")
            if states and all(s == "ok" for s in states):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def owner(self, slot: int) -> int:
        """The port of the master that serves `slot`."""
        for entry in redis.Redis(port=self.ports[0]).execute_command("CLUSTER", "SLOTS"):
            if int(entry[0]) <= slot <= int(entry[1]):
                return int(entry[2][1])
        raise RuntimeError(f"slot {slot} has no master")

    def move_slot(self, slot: int, to_port: int) -> None:
        """Migrate one slot, keys and all, to another master (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE,
        SETSLOT NODE on every master), as `redis-cli --cluster reshard` does."""
        source_port = self.owner(slot)
        source, target = redis.Redis(port=source_port), redis.Redis(port=to_port)
        source_id, target_id = source.execute_command("CLUSTER", "MYID"), target.execute_command("CLUSTER", "MYID")
        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while keys := source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            source.execute_command("MIGRATE", "127.0.0.1", to_port, "", 0, 5000, "KEYS", *keys)
        for port in (to_port, source_port):
            redis.Redis(port=port).execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        for port in self.processes:
            if port not in (to_port, source_port) and redis.Redis(port=port).info("replication")["role"] == "master":
                redis.Redis(port=port).execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        self.wait_ok()

    def client(self) -> RedisCluster:
        return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in self.ports[:3]],
                            decode_responses=True)

    def flush(self) -> None:
        client = self.client()
        try:
            client.flushall(target_nodes=RedisCluster.PRIMARIES)
        finally:
            client.close()

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process(process, timeout=10)
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
