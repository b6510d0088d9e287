"""How the simulated cluster reacts to what the operator does (the training value).

Every test runs on a stepped clock (``tests/sim/conftest.py``): simulated time moves only when
a command waits or the test says ``sim.advance(seconds)``, and a test waits for a condition
(an output, a finished task), never for a stretch of real time.
"""

from __future__ import annotations

import asyncio

from pverunbook.sim import SimCluster
from tests.sim.conftest import STORY_EPOCH, sh

BUMP_TOKEN = (
    "cp /etc/pve/corosync.conf /etc/pve/corosync.conf.new && "
    "sed -i 's/config_version: 5/config_version: {v}/; s/  secauth: on/  secauth: on\\n"
    "  token: 5000/' /etc/pve/corosync.conf.new && "
    "cp /etc/pve/corosync.conf /etc/pve/corosync.conf.bak && "
    "mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf"
)


async def wait_for(sim: SimCluster, node: str, script: str, want: str, sim_seconds: float = 120,
                   ) -> str:
    """Re-run ``script`` every 2 simulated seconds until its output contains ``want``."""
    out = ""
    for _ in range(int(sim_seconds / 2)):
        _, out, _ = await sh(sim, node, script)
        if want in out:
            return out
        await sim.advance(2)
    raise AssertionError(f"{want!r} never appeared in {sim_seconds} simulated s:\n{out}")


async def blocked(task: asyncio.Future[object], sim: SimCluster) -> bool:
    """Whether ``task`` is still waiting after the event loop ran everything it could (a
    write into /etc/pve waits on the world, which a stepped clock keeps still)."""
    for _ in range(50):
        await asyncio.sleep(0)
    await sim.advance(0)
    return not task.done()


async def test_broken_state_matches_the_story(sim: SimCluster) -> None:
    # the link flaps: quorum comes back only for seconds, so wait for a "down" moment
    out = await wait_for(sim, "ryanrishi", "pvecm status", "Quorate:          No")
    assert "Activity blocked" in out
    _, out, _ = await sh(sim, "ryanrishi", "journalctl -u corosync --since -30min")
    assert "link: host: 2 link: 0 is down" in out and "Token has not been received" in out
    _, out, _ = await sh(sim, "ryanrishi", "ps aux | grep qemu | grep -v grep | wc -l; qm list")
    assert out == "2\n"  # VMs run, but their configs are gone
    st, _, err = await sh(sim, "ryanrishi", "qm config 108")
    assert st == 2
    assert err == "Configuration file 'nodes/ryanrishi/qemu-server/108.conf' does not exist\n"
    st, out, err = await sh(sim, "ryanrishi", "timeout 5 ls -la /etc/pve/ >/dev/null; echo $?; "
                            "timeout 5 touch /etc/pve/x; echo $?")
    # not quorate: pmxcfs refuses the write at once (dcdb.c dcdb_send_fuse_message returns
    # -EACCES), reads still work -- as real pmxcfs does in the lab
    assert out == "0\n1\n"
    assert "Permission denied" in err
    st, _, err = await sh(sim, "ryanrishi", "curl -k https://localhost:8006")
    assert st == 35
    _, cmdline, _ = await sh(sim, "ryanrishi", "cat /proc/$(pgrep -f 'kvm -id 108')/cmdline")
    argv = cmdline.split("\0")
    assert argv[:5] == ["/usr/bin/kvm", "-id", "108", "-name", "media,debug-threads=on"]
    assert "virtio-net-pci,mac=A6:4C:7B:8B:BE:B0,netdev=net0,bus=pci.0,addr=0x12,id=net0," \
           "rx_queue_size=1024,tx_queue_size=1024" in argv
    assert "8,sockets=2,cores=4,maxcpus=8" in argv and "4096" in argv


async def test_flapping_is_reproducible(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # on a stepped clock the same seed and the same commands give the same journal, to the
    # line and the second, however fast the machine runs the test
    logs = []
    for k in range(2):
        async with SimCluster(state_dir=tmp_path / str(k), time_scale=0.002,
                              stepped_from=STORY_EPOCH) as s:
            await s.advance(300)
            await sh(s, "ryanrishi", "ping -c 5 -i 1 192.168.4.201 >/dev/null")
            await s.advance(60)
            node = s.node("ryanrishi")
            logs.append([(e.t, e.ident, e.pid, e.msg) for e in node.journal])
    downs = [m for m in logs[0] if "link: 0 is down" in m[3]]
    assert logs[0] == logs[1] and len(downs) > 20
    assert logs[0][-1][0] > STORY_EPOCH + 300  # the advanced minutes flapped too


async def test_write_blocks_while_the_link_flaps_and_lands_once_it_is_calm(
        sim: SimCluster) -> None:
    task = asyncio.ensure_future(sh(sim, "ryanrishi", "echo hi > /etc/pve/probe; echo done"))
    await sim.advance(30)
    assert await blocked(task, sim)
    # The peer is a member right now, so corosync refuses to lower expected votes below the
    # votes present (votequorum.c setexpected): no way around the flapping link by hand.
    st, out, err = await sh(sim, "ryanrishi", "pvecm expected 1; echo rc=$?")
    assert "rc=1" in out and "Unable to set expected votes" in out + err
    assert await blocked(task, sim)
    # The story's fix (the stale host route) calms the link; the waiting write then lands.
    await sh(sim, "ryanrishi", "ip route del 192.168.4.201")
    # The waiting write polls the world on the real clock (sim/pmxcfs_daemon.py
    # ``wait_writable``: at most every 50 ms): each simulated step waits that long for it, else
    # the 150 steps could pass before it looked once (it failed that way on a fast machine).
    for _ in range(150):  # bounded: at most 300 simulated seconds
        await sim.advance(2)
        done, _ = await asyncio.wait({task}, timeout=0.06)
        if done:
            break
    assert task.done(), "the write never landed after the route fix"
    st, out, _ = await task
    assert (st, out) == (0, "done\n")
    _, out, _ = await sh(sim, "ryanrishi", "pvecm status | grep -E '^(Quorate|Expected)'")
    assert out == "Quorate:          Yes\nExpected votes:   2\n"


async def test_right_corosync_change_reaches_both_nodes_once_the_link_is_fixed(
        sim: SimCluster) -> None:
    # The network first: the story's stale host route is what drops the packets. While the link
    # flaps /etc/pve is not writable, and lowering expected votes is refused whenever the peer
    # is a member (votequorum.c setexpected), so the route fix comes before the token change.
    await sh(sim, "ryanrishi", "ip route del 192.168.4.201")
    await wait_for(sim, "ryanrishi", "pvecm status", "Quorate:          Yes")
    await sim.advance(30)  # the membership settles
    st, _, err = await sh(sim, "ryanrishi", BUMP_TOKEN.format(v=6))
    assert st == 0, err
    _, out, _ = await sh(sim, "ryanrishi",
                         "journalctl -u pve-cluster -o cat | grep dcdb | tail -20")
    assert "wrote new corosync config '/etc/corosync/corosync.conf' (version = 6)" in out
    await wait_for(sim, "pve001", "grep token /etc/corosync/corosync.conf", "token: 5000")
    out = await wait_for(sim, "pve001", "pvecm status", "Quorate:          Yes")
    assert "Config Version:   6" in out
    # once calm it stays calm: both quorate, link connected, no more link-down lines
    await sim.advance(10)  # let already-scheduled log lines land
    _, before, _ = await sh(sim, "ryanrishi", "journalctl -u corosync -o cat | grep -c 'is down'")
    await sim.advance(100)
    _, after, _ = await sh(sim, "ryanrishi", "journalctl -u corosync -o cat | grep -c 'is down'")
    assert before == after
    # only the writer reloads (dcdb.c): the running token on ryanrishi is the new one
    _, out, _ = await sh(sim, "ryanrishi", "corosync-cfgtool -s; corosync-cmapctl -g "
                         "runtime.config.totem.token")
    assert "nodeid:          2:\tconnected" in out
    assert "runtime.config.totem.token (u32) = 5000" in out
    st, _, _ = await sh(sim, "pve001", "timeout 5 touch /etc/pve/ok")
    assert st == 0


async def test_lower_config_version_is_refused(sim: SimCluster) -> None:
    st, _, _ = await sh(sim, "ryanrishi", "pvecm expected 1 && " + BUMP_TOKEN.format(v=4))
    assert st == 0
    _, out, _ = await sh(sim, "ryanrishi", "journalctl -u pve-cluster -o cat | grep crit | "
                         "tail -5; "
                         "grep -c token /etc/corosync/corosync.conf")
    assert "[dcdb] crit: local corosync.conf is newer" in out and out.endswith("0\n")
    _, out, _ = await sh(sim, "ryanrishi", "corosync-cmapctl -g runtime.config.totem.token")
    assert out == "runtime.config.totem.token (u32) = 3000\n"


async def test_unbumped_version_is_still_copied_like_dcdb_c(sim: SimCluster) -> None:
    """pmxcfs only refuses a *lower* version (dcdb.c); an equal one is copied and reloaded."""
    st, _, _ = await sh(sim, "ryanrishi", "pvecm expected 1 && " + BUMP_TOKEN.format(v=5))
    assert st == 0
    _, out, _ = await sh(sim, "ryanrishi", "grep -c token /etc/corosync/corosync.conf")
    assert out == "1\n"


async def test_restored_vm_config_brings_vm_back(sim: SimCluster) -> None:
    script = ("pvecm expected 1\ncat > /etc/pve/qemu-server/108.conf << 'EOF'\nagent: 1\n"
              "bios: ovmf\nboot: order=scsi0\ncores: 4\ncpu: host\nmemory: 4096\nname: media\n"
              "net0: virtio=A6:4C:7B:8B:BE:B0,bridge=vmbr0\n"
              "scsi0: local-lvm:vm-108-disk-0,cache=none,discard=on,size=32G\n"
              "scsihw: virtio-scsi-pci\nsmbios1: uuid=ec1eb45b-df18-4b92-a3b5-7bc13c957371\n"
              "sockets: 2\nEOF\nqm list")
    st, out, err = await sh(sim, "ryanrishi", script)
    assert st == 0, err
    assert "       108 media                running    4096              32.00 " in out
    _, out, _ = await sh(sim, "ryanrishi", "qm showcmd 108 --pretty | head -3; sqlite3 "
                         "/var/lib/pve-cluster/config.db \"select name from tree where "
                         "name='108.conf'\"")
    assert out == "/usr/bin/kvm \\\n  -id 108 \\\n  -name 'media,debug-threads=on' \\\n108.conf\n"


async def test_updatecerts_and_restart_restore_the_web_ui(sim: SimCluster) -> None:
    st, _, err = await sh(sim, "ryanrishi", "pvecm updatecerts")
    assert (st, err) == (255, "no quorum - unable to update files\n")
    # The network first (the stale host route), as the runbooks do; then /etc/pve is writable.
    # (Lowering expected votes is refused while the peer is a member: votequorum.c setexpected.)
    await sh(sim, "ryanrishi", "ip route del 192.168.4.201")
    await wait_for(sim, "ryanrishi", "pvecm status", "Quorate:          Yes")
    await sim.advance(30)  # the membership settles
    st, out, err = await sh(sim, "ryanrishi", "pvecm updatecerts --force")
    assert st == 0 and "(re)generate node files" in out, err
    _, out, _ = await sh(sim, "ryanrishi", "openssl x509 -noout -subject -enddate -in "
                         "/etc/pve/local/pve-ssl.pem")
    assert out.startswith("subject=OU = PVE Cluster Node, O = Proxmox Virtual Environment, "
                          "CN = ryanrishi.lan\nnotAfter=")
    st, _, _ = await sh(sim, "ryanrishi", "curl -k -s https://localhost:8006")
    assert st == 35  # pveproxy still runs with the cert it failed to load
    st, out, _ = await sh(sim, "ryanrishi", "systemctl restart pveproxy && curl -k -s -o "
                          "/dev/null -w '%{http_code}' https://localhost:8006")
    assert (st, out) == (0, "200")


async def test_wiping_config_db_on_both_nodes_loses_everything(sim: SimCluster) -> None:
    for n in ("ryanrishi", "pve001"):
        st, _, err = await sh(sim, n, "systemctl stop corosync pve-cluster && "
                              "rm -rf /var/lib/pve-cluster/config.db*")
        assert st == 0, err
    for n in ("ryanrishi", "pve001"):
        st, _, err = await sh(sim, n, "systemctl start pve-cluster pve-cluster")
        assert st == 0, err
    await sim.advance(60)
    _, out, _ = await sh(sim, "pve001", "find /etc/pve -type f | sort")
    assert out == "/etc/pve/.clusterlog\n/etc/pve/.debug\n/etc/pve/.members\n/etc/pve/.rrd\n" \
                  "/etc/pve/.version\n/etc/pve/.vmlist\n/etc/pve/corosync.conf\n"


async def test_wiping_both_then_a_quorate_start_recreates_only_what_pve_cluster_writes(
        healthy: SimCluster) -> None:
    # pmxcfs imports only corosync.conf into a new database (pve-cluster src/pmxcfs/pmxcfs.c).
    # `pvecm updatecerts --silent` (pve-cluster.service ExecStartPost, pveproxy.service
    # ExecStartPre) writes, once quorate, a NEW CA, authkey, www key, node certificates, ssh
    # keys and vzdump.cron (PVE/Cluster/Setup.pm updatecerts_and_ssh); pve-cluster starts
    # before corosync (Before=corosync.service), so it is pveproxy's start that does it.
    # storage.cfg, user.cfg, datacenter.cfg, VM configs, firewall and HA state are gone.
    _, old_ca, _ = await sh(healthy, "pve001", "cat /etc/pve/pve-root-ca.pem")
    for n in ("ryanrishi", "pve001"):
        st, _, err = await sh(healthy, n, "systemctl stop pve-cluster corosync && "
                              "rm -rf /var/lib/pve-cluster/config.db*")
        assert st == 0, err
    for n in ("ryanrishi", "pve001"):
        st, _, err = await sh(healthy, n, "systemctl start corosync pve-cluster")
        assert st == 0, err
    _, out, _ = await sh(healthy, "ryanrishi", "ls -a /etc/pve")
    assert out.split() == [".", "..", ".clusterlog", ".debug", ".members", ".rrd", ".version",
                           ".vmlist", "corosync.conf", "local", "lxc", "openvz", "qemu-server"]
    for n in ("ryanrishi", "pve001"):
        st, _, err = await sh(healthy, n, "systemctl restart pveproxy")
        assert st == 0, err
    await healthy.advance(10)
    _, out, _ = await sh(healthy, "ryanrishi", "cd /etc/pve && find . -type f | sort")
    assert out.split() == [
        "./.clusterlog", "./.debug", "./.members", "./.rrd", "./.version", "./.vmlist",
        "./authkey.pub", "./corosync.conf",
        "./nodes/pve001/pve-ssl.key", "./nodes/pve001/pve-ssl.pem",
        "./nodes/pve001/ssh_known_hosts",
        "./nodes/ryanrishi/pve-ssl.key", "./nodes/ryanrishi/pve-ssl.pem",
        "./nodes/ryanrishi/ssh_known_hosts",
        # no priv/known_hosts: pve-cluster 8.0.6 stopped merging known hosts (Setup.pm
        # ssh_create_node_known_hosts writes each node's own nodes/<node>/ssh_known_hosts)
        "./priv/authkey.key", "./priv/authorized_keys",
        "./priv/pve-root-ca.key", "./priv/pve-root-ca.srl",
        "./pve-root-ca.pem", "./pve-www.key", "./vzdump.cron"]
    _, new_ca, _ = await sh(healthy, "pve001", "cat /etc/pve/pve-root-ca.pem")
    assert new_ca.startswith("-----BEGIN CERTIFICATE-----") and new_ca != old_ca
    st, _, err = await sh(healthy, "pve001", "qm config 104")
    assert st == 2


async def test_wiping_one_node_resyncs_from_the_quorate_peer(healthy: SimCluster) -> None:
    st, _, err = await sh(healthy, "pve001", "systemctl stop pve-cluster && "
                          "rm -f /var/lib/pve-cluster/config.db* && systemctl start pve-cluster")
    assert st == 0, err
    await healthy.advance(5)
    _, out, _ = await sh(healthy, "pve001", "ls /etc/pve/qemu-server/; cat /etc/pve/storage.cfg "
                         "| head -1; qm list | wc -l")
    assert out == "104.conf\n110.conf\ndir: local\n3\n"


async def test_udpu_with_secauth_refuses_to_start(sim: SimCluster) -> None:
    st, _, err = await sh(sim, "pve001", "sed -i 's/  secauth: on/  secauth: on\\n  transport: "
                          "udpu/' /etc/corosync/corosync.conf && systemctl restart corosync")
    assert st == 1 and err.startswith("Job for corosync.service failed")
    await sim.advance(2)
    _, out, _ = await sh(sim, "pve001", "journalctl -u corosync -n 6 -o cat; "
                         "systemctl is-active corosync")
    assert "parse error in config: crypto_cipher & crypto_hash are only valid for the Knet " \
           "transport." in out
    assert out.endswith("failed\n")


async def test_local_edit_is_overwritten_by_pmxcfs(sim: SimCluster) -> None:
    await sh(sim, "ryanrishi", "echo '# local edit' >> /etc/corosync/corosync.conf && "
             "systemctl restart pve-cluster")
    _, out, _ = await sh(sim, "ryanrishi", "grep -c 'local edit' /etc/corosync/corosync.conf")
    assert out == "0\n"


async def test_pkill_9_leaves_a_dead_mount_then_systemd_respawns(sim: SimCluster) -> None:
    # systemd respawns 2 simulated seconds after the kill; on the stepped clock those
    # seconds pass only at sim.advance, so the commands before it always see the dead mount
    st, out, err = await sh(sim, "ryanrishi", "pkill -9 pmxcfs; ls /etc/pve")
    assert st == 2
    assert err == "ls: cannot access '/etc/pve': Transport endpoint is not connected\n"
    _, out, _ = await sh(sim, "ryanrishi", "umount -l /etc/pve; ls /etc/pve | wc -l")
    assert out == "0\n"
    await sim.advance(5)
    _, out, _ = await sh(sim, "ryanrishi", "systemctl is-active pve-cluster; ls /etc/pve | wc -l")
    assert out.startswith("active\n") and int(out.split()[1]) > 5


async def test_local_mode_edit_then_back_to_cluster(sim: SimCluster) -> None:
    script = ("systemctl stop pve-cluster corosync && pmxcfs -l && "
              "timeout 5 touch /etc/pve/local-mode-edit && killall pmxcfs && "
              "systemctl start pve-cluster && ls /etc/pve/local-mode-edit")
    st, out, err = await sh(sim, "ryanrishi", script)
    assert st == 0, err
    assert "forcing local mode" in err and out == "/etc/pve/local-mode-edit\n"


async def test_expected_1_on_both_nodes_is_split_brain(sim: SimCluster) -> None:
    await sh(sim, "ryanrishi", "pvecm expected 1")
    await sh(sim, "pve001", "pvecm expected 1")
    await wait_for(sim, "ryanrishi", "journalctl -u pve-cluster -o cat | grep -i 'split brain'",
                   "split brain")
    assert sim.split_brain


async def test_fixing_the_stale_route_stops_the_loss(sim: SimCluster) -> None:
    _, out, _ = await sh(sim, "ryanrishi", "ip route get 192.168.4.201")
    assert "via 192.168.4.1" in out
    await sh(sim, "ryanrishi", "ip route del 192.168.4.201")
    _, out, _ = await sh(sim, "ryanrishi", "mtr --report -n 192.168.4.201 | tail -1; "
                         "ping -c 20 -q 192.168.4.201 | grep loss")
    assert "1.|-- 192.168.4.201" in out and " 0% packet loss" in out
    await wait_for(sim, "ryanrishi", "pvecm status", "Quorate:          Yes")


async def test_overwritten_config_db_fails_stop_and_start_like_pmxcfs(sim: SimCluster) -> None:
    # pmxcfs keeps config.db open; written over, its last commit on stop fails
    # (database.c: "sqlite3_step failed") and the next start cannot open it. The node's
    # journal says so; nothing inside the simulator raises.
    st, out, err = await sh(sim, "ryanrishi", "echo garbage > /var/lib/pve-cluster/config.db; "
                            "systemctl stop pve-cluster; echo rc=$?; "
                            "systemctl is-active pve-cluster")
    assert out == "rc=0\nfailed\n", err
    await sim.advance(1)  # systemd's lines come half a second after the stop
    _, out, _ = await sh(sim, "ryanrishi", "journalctl -u pve-cluster -n 6 -o cat")
    assert "[database] crit: sqlite3_step failed: file is not a database" in out
    assert "exit proxmox configuration filesystem (-1)" in out
    assert "pve-cluster.service: Failed with result 'exit-code'." in out
    st, _, err = await sh(sim, "ryanrishi", "systemctl start pve-cluster")
    assert st == 1 and err.startswith("Job for pve-cluster.service failed")
    _, out, _ = await sh(sim, "ryanrishi", "journalctl -u pve-cluster -n 8 -o cat")
    # pmxcfs.c main() -> memdb_open -> database.c bdb_create: the first statement fails
    assert "[database] crit: unable to set WAL mode: file is not a database" in out
    assert "[main] crit: memdb_open failed - unable to open database " \
           "'/var/lib/pve-cluster/config.db'" in out


async def test_a_rejoin_within_the_consensus_wait_is_logged_after_the_loss(
        sim: SimCluster) -> None:
    """The route fixed in the seconds between a membership loss and its journal lines
    (corosync logs a loss after the token and consensus timeouts): the journal must end on
    the rejoin, as corosync and pmxcfs order their lines. The simulator stamped the rejoin
    before the loss, so both journals ended on 'node lost quorum' while every node was
    quorate, and the health check called pmxcfs unrecovered (a CI-load failure of
    test_sim_quorum_lost_recently_after_the_route_is_fixed)."""
    await wait_for(sim, "ryanrishi", "pvecm status", "Quorate:          Yes")
    for _ in range(400):  # half-second steps: catch the next loss while its lines still wait
        await sim.advance(0.5)
        _, out, _ = await sh(sim, "ryanrishi", "pvecm status")
        if "Quorate:          No" in out:
            break
    else:
        raise AssertionError("the flapping link never lost quorum")
    await sh(sim, "ryanrishi", "ip route del 192.168.4.201")
    await sim.advance(30)
    for node in ("ryanrishi", "pve001"):
        _, out, _ = await sh(sim, node, "pvecm status")
        assert "Quorate:          Yes" in out, out
        _, log, _ = await sh(sim, node, "journalctl -u pve-cluster -o cat")
        lines = log.splitlines()
        last_lost = max(i for i, x in enumerate(lines) if "node lost quorum" in x)
        assert any("node has quorum" in x for x in lines[last_lost:]), lines[last_lost - 3:]
        assert any("all data is up to date" in x for x in lines[last_lost:]), \
            lines[last_lost - 3:]
        _, clog, _ = await sh(sim, node, "journalctl -u corosync -o cat")
        c = clog.splitlines()
        last_np = max(i for i, x in enumerate(c) if "non-primary component" in x)
        assert any("within the primary component" in x for x in c[last_np:]), c[last_np - 3:]
