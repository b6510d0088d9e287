"""Every diagnosis rule is tested on real output and on the simulator, and documented.

The registry below maps each fault id a rule can report (``Fault.rule``) to the tests that
assert it: on real captures (tests/unit/pve/test_diagnosis.py, inputs from ../shared/testdata,
the test bed and tests/data) and on the rehearsal cluster over SSH (tests/integration). It is
checked against the rules the diagnosis really defines — both the declared :data:`RULES` and
every ``Fault("…")`` in the source — so a new rule or fault id without tests fails here, and so
does a test that stops naming the fault it is listed for.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pverunbook.pve import diagnosis
from pverunbook.pve.diagnosis import FAULT_IDS, RULES

REPO = Path(__file__).resolve().parents[3]
UNIT = "tests/unit/pve/test_diagnosis.py"
SIM = "tests/integration/test_diagnosis_rules_sim.py"
STORY = "tests/integration/test_diagnosis_rehearsal.py"
CHECK = "tests/unit/pve/test_health_check.py"
GUIDED = "tests/integration/test_check_guided.py"
ROUND3 = "tests/unit/pve/test_diagnosis_faults_round3.py"
CASES3 = "tests/unit/pve/test_realworld3_cases.py"
ROLLBACK = "tests/integration/test_rehearsal_rollback.py"
WIPED = "tests/unit/pve/test_wiped_database.py"
NODE_DIR = "tests/unit/pve/test_node_dir.py"
WIPED_SIM = ("tests/sim/test_wiped_follow_proposals.py::test_following_the_proposals_in_order_"
             "recovers_a_wiped_database")

#: fault id → tests on real output
REAL_OUTPUT: dict[str, list[str]] = {
    "route-via-gateway": [f"{UNIT}::test_host_route_on_one_node_is_the_first_fault_with_the_"
                          "exact_fix", f"{UNIT}::test_routed_peer_without_host_route_points_at_"
                          "the_netmask"],
    "lossy-link": [f"{UNIT}::test_lossy_link_names_the_pair_and_proposes_tuning_with_the_token"],
    "flapping-link": [f"{UNIT}::test_flapping_link_without_icmp_asks_for_a_longer_measurement"],
    "udp-lost-icmp-ok": [f"{UNIT}::test_udp_lost_while_icmp_is_clean"],
    "corosync-not-running": [f"{UNIT}::test_corosync_not_running_names_the_node"],
    "partition": [f"{UNIT}::test_partition_says_who_has_quorum"],
    "quorum-lost-recently": [f"{UNIT}::test_quorum_lost_in_the_journal_while_quorate_now"],
    "pmxcfs-blocked": [f"{UNIT}::test_pmxcfs_blocked_when_the_write_probe_times_out"],
    "pmxcfs-read-only": [f"{UNIT}::test_pmxcfs_refusing_writes_is_read_only_not_hung"],
    "config-version-mismatch": [f"{UNIT}::test_config_version_mismatch_between_nodes"],
    "mtu-mismatch": [f"{UNIT}::test_mtu_mismatch_between_the_two_ends"],
    "qdevice-not-voting": [f"{UNIT}::test_qdevice_registered_but_not_voting"],
    "cert-missing": [f"{UNIT}::test_certificate_missing_and_expiring_from_real_openssl"],
    "cert-expired": [f"{UNIT}::test_certificate_missing_and_expiring_from_real_openssl"],
    "db-damaged-one": [f"{UNIT}::test_damaged_db_on_one_node_vs_all"],
    "db-damaged-all": [f"{UNIT}::test_damaged_db_on_one_node_vs_all"],
    "db-deleted": [f"{CHECK}::test_database_deleted_on_one_node_resyncs_from_a_sound_peer"],
    "rollback-pending": [f"{CHECK}::test_rollback_timers_still_armed_are_pending_or_stale"],
    "rollback-stale": [f"{CHECK}::test_rollback_timers_still_armed_are_pending_or_stale"],
    "rollback-interrupted": [f"{CHECK}::test_a_rollback_timer_whose_restore_process_is_gone_"
                             "is_interrupted"],
    "db-deleted-held": [f"{CHECK}::test_database_deleted_everywhere_while_pmxcfs_runs_says_"
                        "save_it_first"],
    "db-deleted-lost": [f"{CHECK}::test_database_deleted_everywhere_with_pmxcfs_stopped_is_"
                        "lost"],
    "ping-mtr-disagree": [f"{UNIT}::test_ping_mtr_disagreement_says_which_to_trust"],
    "corosync-token-default": [f"{CHECK}::test_token_is_raised_after_an_outage_only_while_it_"
                               "is_the_default"],
    "ha-fence-risk": [f"{CHECK}::test_ha_services_without_quorum_would_fence"],
    "ha-disarmed": [f"{CHECK}::test_ha_left_disarmed_is_named_with_the_command_that_arms_it"],
    "node-not-checked": [f"{CHECK}::test_a_node_the_check_could_not_reach_is_a_fault_never_"
                         "healthy"],
    "node-not-in-inventory": [f"{CHECK}::test_a_cluster_node_missing_from_the_inventory_is_"
                              "critical_and_first"],
    "two-node-large": [f"{CHECK}::test_two_node_in_a_three_node_cluster"],
    "pve-not-mounted": [f"{CHECK}::test_dead_fuse_mount_and_missing_own_directory"],
    "pve-enotconn": [f"{CHECK}::test_dead_fuse_mount_and_missing_own_directory"],
    "pve-own-dir-missing": [f"{CHECK}::test_dead_fuse_mount_and_missing_own_directory",
                            f"{NODE_DIR}::test_the_pve_mount_step_alone_names_it_with_the_"
                            "same_words"],
    "node-renamed": [f"{NODE_DIR}::test_a_renamed_node_after_its_reboot_has_an_empty_own_"
                     "directory"],
    "db-load-failed": [f"{CHECK}::test_pmxcfs_own_log_names_the_damaged_node"],
    "disk-errors": [f"{CHECK}::test_correctable_pcie_errors_are_not_disk_errors"],
    "vm-without-config": [f"{CHECK}::test_vms_running_without_configs_lead_to_vm_config_"
                          "recovery"],
    "vm-config-wrong-node": [f"{CHECK}::test_config_on_the_wrong_node_is_moved_by_hand"],
    "cert-not-ca": [f"{CHECK}::test_certificate_not_signed_by_the_cluster_ca_and_pveproxy_down"],
    "ca-missing": [f"{CHECK}::test_the_cluster_ca_missing"],
    "pveproxy-down": [f"{CHECK}::test_certificate_not_signed_by_the_cluster_ca_and_pveproxy_"
                      "down"],
    "clock-skew": [f"{CHECK}::test_clock_skew_names_the_node_that_is_off"],
    "redundant-link-down": [f"{ROUND3}::test_a_redundant_link_down_is_a_warning_every_link_"
                            "down_is_critical"],
    "link-flaps-history": [f"{UNIT}::test_flaps_are_history_when_knet_counters_do_not_grow_"
                           "between_two_samples"],
    "pmxcfs-not-mounted": [f"{ROUND3}::test_write_probe_errors_are_different_faults"],
    "pmxcfs-node-dir-missing": [f"{ROUND3}::test_write_probe_errors_are_different_faults",
                                f"{NODE_DIR}::test_a_missing_own_directory_is_named_once_per_"
                                "check"],
    "pmxcfs-db-load-failed": [f"{ROUND3}::test_pmxcfs_log_db_load_failed_and_local_conf_newer"],
    "pmxcfs-conf-newer": [f"{ROUND3}::test_pmxcfs_log_db_load_failed_and_local_conf_newer"],
    "pmxcfs-log-trouble": [f"{CASES3}::test_pmxcfs_lines_of_a_rejoin_are_evidence_not_no_"
                           "instability"],
    "two-node-flag": [f"{CASES3}::test_two_node_flag_with_three_votes_is_a_latent_split_brain"],
    "loss-unmeasured-after-change": [f"{CHECK}::test_a_link_whose_loss_predates_the_route_fix_"
                                     "is_measured_again_first"],
    "storage-cfg-missing": [f"{WIPED}::test_storage_cfg_missing_is_critical_and_says_how_to_"
                            "put_it_back"],
    "cluster-file-missing": [f"{WIPED}::test_storage_cfg_missing_is_critical_and_says_how_to_"
                             "put_it_back"],
}

#: fault id → rehearsals that run a shipped runbook over SSH to the simulator
SIMULATOR: dict[str, list[str]] = {
    "route-via-gateway": [f"{STORY}::test_triage_rehearsal_diagnoses_the_story_first",
                          f"{STORY}::test_three_nodes_bad_link_between_the_second_and_third"],
    "lossy-link": [f"{SIM}::test_sim_lossy_link_and_ping_mtr_disagreement"],
    "flapping-link": [f"{SIM}::test_sim_udp_lost_while_icmp_is_clean"],
    "udp-lost-icmp-ok": [f"{SIM}::test_sim_udp_lost_while_icmp_is_clean"],
    "corosync-not-running": [f"{SIM}::test_sim_corosync_down_and_the_partition_it_leaves"],
    "partition": [f"{SIM}::test_sim_corosync_down_and_the_partition_it_leaves"],
    "quorum-lost-recently": [f"{SIM}::test_sim_quorum_lost_recently_after_the_route_is_fixed"],
    "pmxcfs-blocked": [f"{SIM}::test_sim_pmxcfs_blocked_while_the_link_flaps"],
    "config-version-mismatch": [f"{SIM}::test_sim_config_version_mismatch_in_local_copies"],
    "mtu-mismatch": [f"{SIM}::test_sim_mtu_mismatch_points_at_the_node_on_every_small_link"],
    "qdevice-not-voting": [f"{SIM}::test_sim_qdevice_registered_but_not_voting"],
    "cert-missing": [f"{SIM}::test_sim_certificate_missing_and_expired"],
    "cert-expired": [f"{SIM}::test_sim_certificate_missing_and_expired"],
    "db-damaged-one": [f"{SIM}::test_sim_damaged_db_on_one_node_and_on_all"],
    "db-damaged-all": [f"{SIM}::test_sim_damaged_db_on_one_node_and_on_all"],
    "db-deleted": [f"{SIM}::test_sim_database_deleted_under_running_pmxcfs"],
    "node-renamed": ["tests/sim/test_renamed_node.py::test_the_check_over_ssh_names_the_"
                     "rename_with_one_move_per_guest"],
    "rollback-pending": [f"{ROLLBACK}::test_health_check_finds_a_pending_and_a_stale_rollback_"
                         "timer"],
    "rollback-stale": [f"{ROLLBACK}::test_health_check_finds_a_pending_and_a_stale_rollback_"
                       "timer"],
    "rollback-interrupted": ["tests/sim/test_rollback_interrupted.py::test_a_restore_killed_"
                             "while_firing_is_reported_interrupted_and_undo_finishes_it"],
    "db-deleted-held": [f"{SIM}::test_sim_database_deleted_under_running_pmxcfs"],
    "ping-mtr-disagree": [f"{SIM}::test_sim_lossy_link_and_ping_mtr_disagreement"],
    "vm-without-config": [f"{GUIDED}::test_pressing_only_the_proposed_next_runbook_ends_healthy"],
    "corosync-token-default": [f"{GUIDED}::test_pressing_only_the_proposed_next_runbook_ends_"
                               "healthy"],
    "loss-unmeasured-after-change": [f"{GUIDED}::test_pressing_only_the_proposed_next_runbook_"
                                     "ends_healthy"],
    "link-flaps-history": [f"{SIM}::test_sim_quorum_lost_recently_after_the_route_is_fixed"],
    "pmxcfs-log-trouble": [f"{SIM}::test_sim_quorum_lost_recently_after_the_route_is_fixed"],
    "two-node-flag": [f"{SIM}::test_sim_two_node_flag_left_in_a_three_node_cluster"],
    "node-not-checked": [f"{SIM}::test_sim_check_with_a_node_that_refuses_ssh_is_not_"
                         "healthy"],
    "node-not-in-inventory": [f"{SIM}::test_sim_three_node_cluster_with_a_two_node_"
                              "inventory"],
    **dict.fromkeys(("storage-cfg-missing", "cluster-file-missing", "pmxcfs-node-dir-missing",
                     "pve-own-dir-missing", "ca-missing"), [WIPED_SIM]),
}
#: fault ids the simulator cannot produce yet, and why. Each rule still has a simulator test
#: for its other faults (checked below); remove an entry when the simulator learns it.
_NO_SCENARIO = "no simulator scenario produces it yet (the health check's rule is tested on " \
    "real-format output only)"
SIMULATOR_GAPS = {
    **dict.fromkeys(("ha-fence-risk", "ha-disarmed", "two-node-large", "pve-not-mounted",
                     "pve-enotconn", "db-load-failed", "disk-errors",
                     "vm-config-wrong-node", "cert-not-ca", "pveproxy-down",
                     "clock-skew"), _NO_SCENARIO),
    "db-deleted-lost": "no simulator scenario deletes config.db with pmxcfs stopped (nyc-wiped "
                       "is the state after the restart: an empty database)",
    "pmxcfs-read-only": "the simulated pmxcfs blocks writes on a node without quorum instead "
                        "of refusing them with EACCES as pmxcfs does",
    "redundant-link-down": "the simulated corosync has one knet link per node",
    "pmxcfs-not-mounted": "no simulator scenario leaves a dead pmxcfs mount behind",
    "pmxcfs-db-load-failed": "the simulated pmxcfs logs no 'DB load failed'",
    "pmxcfs-conf-newer": "the simulated pmxcfs logs no 'local corosync.conf is newer'",
}


def source_of(ref: str) -> str:
    """The source of the test function ``path::name``; fails when it does not exist."""
    path, name = ref.split("::")
    tree = ast.parse((REPO / path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return ast.get_source_segment((REPO / path).read_text(), node) or ""
    raise AssertionError(f"{ref}: no such test")


def faults_in_source() -> set[str]:
    """Every fault id a ``Fault("…", …)`` call in the diagnosis package names."""
    found: set[str] = set()
    for path in Path(diagnosis.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "Fault" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                found.add(str(node.args[0].value))
    return found


def test_every_fault_a_rule_reports_is_declared() -> None:
    assert faults_in_source() == set(FAULT_IDS)
    assert len(FAULT_IDS) == len(set(FAULT_IDS))


def test_every_fault_has_a_test_on_real_output_naming_it() -> None:
    assert set(REAL_OUTPUT) == set(FAULT_IDS), "fault ids without a real-output test"
    for fault, refs in REAL_OUTPUT.items():
        assert refs and all(f'"{fault}"' in source_of(r) for r in refs), fault


def test_every_rule_and_fault_has_a_simulator_test_naming_it() -> None:
    assert set(SIMULATOR) | set(SIMULATOR_GAPS) == set(FAULT_IDS)
    assert not set(SIMULATOR) & set(SIMULATOR_GAPS)
    for fault, refs in SIMULATOR.items():
        assert refs and all(f'"{fault}"' in source_of(r) for r in refs), fault
    for rule in RULES:
        assert set(rule.faults) & set(SIMULATOR), f"rule {rule.name}: no simulator test"


def test_the_runbook_readme_lists_every_fault() -> None:
    text = (REPO / "runbooks" / "README.md").read_text()
    for fault in FAULT_IDS:
        assert f"| `{fault}` |" in text, f"runbooks/README.md: no row for {fault}"
