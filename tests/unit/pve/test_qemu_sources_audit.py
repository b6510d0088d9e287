"""Every VM-config input of issue 21 names its source; each sub-kind has found inputs.

The manifest tests/data/qemu-realworld3/SOURCES.toml lists each input (a file below tests/data,
or a constant kept inline in a test module), its origin (found in public material, or
constructed), its source and the test that judges it — the same rules as the tool-output audit
(test_output_sources_audit.py), whose helpers are reused.  These tests fail when a file is added
without a source, when an input's test no longer uses it, when a handed case has no test, or
when a sub-kind has fewer than two found inputs without saying why in NOT_YET_FOUND.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from tests.unit.pve.test_output_sources_audit import _comment_above, _function_source

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
FOLDER = DATA / "qemu-realworld3"
MANIFEST = FOLDER / "SOURCES.toml"

#: Sub-kinds with fewer than two found inputs yet, and why.  The test below fails once two found
#: inputs are listed, so an entry cannot go stale.
NOT_YET_FOUND = {
    "shared-path-content": "one found (a real storage.cfg with an lvm and an lvmthin storage "
                           "on each VG, where content does not decide); none of thirteen "
                           "PVE storage.cfg copies in public GitHub repositories (etc/pve/, "
                           "pve/, proxmox/ and top-level storage.cfg; two nest a dir storage "
                           "inside another's path, which is no shared path) has two storages "
                           "on one path, and no kvm line of a VM on such a pair was found; "
                           "public GitHub code searched again for a second `path /var/lib/vz` "
                           "stanza (`content backup`/`images`, `dir: iso|ISO|backup|snippets|"
                           "images` on /var/lib/vz), for dir storages over an NFS/CephFS mount "
                           "path (`is_mountpoint /mnt/pve/`, `path /mnt/pve/cephfs` with "
                           "`content images`), for pveceph's `<pool>_vm`/`<pool>_ct` rbd pairs "
                           "and a second zfspool on `rpool/data` or lvm on VG `pve`, and "
                           "GitHub issues and forum pages for storage.cfg pastes with a "
                           "repeated path or disks listed twice: none; the README's layout is "
                           "covered by a constructed input.  Searched again: storage.cfg copies "
                           "at config/, configs/, configs/proxmox/, etc/ and proxmox/etc/pve/ in "
                           "public GitHub repositories (thirteen more, none with a shared path; "
                           "a fourteenth is a template), exact multi-line "
                           "stanzas (`path /var/lib/vz` followed by `content backup`, `iso` or "
                           "`images`, tab- or space-indented) and markdown pastes of `cat "
                           "/etc/pve/storage.cfg` (a Chinese PVE handbook, an Indonesian host "
                           "report: one path per storage), GitHub issues for storage.cfg pastes "
                           "and zfspool pairs on one pool (images vs rootdir), web pages for "
                           "two storages on one directory: none.  Searched again: exact-path "
                           "look-ups of storage.cfg copies at etc/pve/, files/, etc-pve/, "
                           "pve-config/ and Ansible templates (templates/storage.cfg.j2: two "
                           "templates, no real config), `--path /var/lib/vz` in scripts "
                           "(`pvesm add dir` of a second storage on /var/lib/vz exists, but as a "
                           "command, not a storage.cfg), an `lvm:` stanza on VG pve next to "
                           "local-lvm, GitHub issues of PVE dashboards (storages listed twice "
                           "are per-node duplicates, not one path) and pve-devel/lore pages "
                           "for storages sharing a path: none.  Searched again: "
                           "API/pvesh JSON with `\"path\": \"/var/lib/vz\",` and "
                           "`\"path\" : \"/var/lib/vz\"` (mocks and fixtures; one real "
                           "`pvesh get /storage` in a code comment has two nfs storages of "
                           "one export on different mount paths: one export, not one "
                           "path), tab-indented `content rootdir` stanzas (zfspool pairs) "
                           "and `path /var/lib/vz` followed by `content images` (parser "
                           "tests only), GitHub issues of PVE dashboards, backup and "
                           "inventory tools for a second storage on /var/lib/vz or lvm "
                           "and lvmthin on one VG (rcourtman/Pulse issue 1645 shows a "
                           "dir storage on /var/lib/vz with content rootdir,images, but "
                           "whether `local` is still beside it the text does not say), "
                           "web pages in English and German and pve-user list posts: "
                           "none.  Searched again: `zfspool: rpool` (a parser test and a "
                           "Spanish note with one zfspool on rpool), rbd pairs `rbd: "
                           "ceph_ct`, `rbd: ceph-ct`, `rbd: ceph-lxc` (none) and `krbd 1` "
                           "(pvesm commands and docs only), storage.cfg at backup/, pve/ "
                           "and root/etc/pve/ and at docs/ (none), repositories named "
                           "*pve-conf* and *proxmox-conf* (homelab notes, no storage.cfg), "
                           "GitHub issues of PVE install scripts (community-scripts, "
                           "whiskerz007, ej52: `pvesm status` lists without paths), "
                           "pve-storage's history (#2467 lists a volume twice for images "
                           "and rootdir, no shared path), qemu-server's migration check "
                           "07f2e57c for two storages on one place (its message `detected "
                           "not supported aliased volumes` is in no GitHub file, issue or "
                           "stored page), `pvesh` table pastes with `│ /var/lib/vz ` (one "
                           "storage each) and web pages in English for storages sharing a "
                           "directory: none.  Searched again: exact-string searches of "
                           "public GitHub code do not reach files named storage.cfg or "
                           "*.conf (a known storage.cfg's own lines turn up only in code "
                           "that quotes it), so the whole history of 67 repositories "
                           "holding Proxmox host files or named as Proxmox config "
                           "backups, homelabs or GPU-passthrough set-ups was read (30 "
                           "hold VM configs, two a "
                           "storage.cfg, one path per storage), plus storage.cfg at "
                           "roles/proxmox/files/ (one path per storage), Proxmox/, PVE/, "
                           "hosts/pve/, backup/etc/pve/, pve-backup/etc/pve/, "
                           "proxmox/files/ (a shell note) and storage.cfg.example "
                           "(storage-plugin examples), and web pages for `cat "
                           "/etc/pve/storage.cfg` with a second storage on /var/lib/vz "
                           "(only the directory-backend docs): none.  Searched again: a "
                           "second stanza on /var/lib/vz by the last character of its name "
                           "(`<c>\\n\\tpath /var/lib/vz\\n` and the 8-space form for 19 "
                           "letters and digits, any name in the 4- and 2-space forms: only "
                           "`local`, and an nfs storage nested in /var/lib/vz/snippets), "
                           "`path /var/lib/vz` followed by `content snippets`, `vztmpl` or "
                           "`rootdir`, a second lvm/lvmthin on VG `pve` by its thinpool's last "
                           "character (`<c>\\n\\tvgname pve\\n`: fixtures only), four "
                           "repositories named *pve-conf* or *proxmox-host* not among the 67 "
                           "(Garfieldttt and Roflorblades pve-config-backup, Xingsandesu "
                           "TeslaT10-PVE-Config, genirohtea/proxmox-host: scripts, a README "
                           "and Ansible roles, no host files), GitHub issues "
                           "of PVE monitoring and backup tools (Pulse, dougiteixeira/proxmoxve, "
                           "check_mk proxmox-qemu-backup, community.proxmox 408, proxmove 27: "
                           "one path per storage) and for disks or backups listed under two "
                           "storages, and web pages in French, Russian and Chinese: none.  "
                           "Searched again: semantic search of public code for storage.cfg "
                           "pastes with two storages on one path (a `dir: backup` on "
                           "/var/lib/vz, two dir storages on one mount, a zfspool and a dir "
                           "storage on rpool/data: JohnORaw/Proxmox's paste has one path per "
                           "storage), storage.cfg at etc/pve/ read again (kilrainebc/"
                           "proxmox-cfg, mikumeow/PVE_BAK, spongeyperson/pveserver-dotfiles, "
                           "west17m/hetzner-proxmox: one path per storage) and at conf/ (not "
                           "PVE's), cluster/, pve-cluster/, host/, nodes/, pve/etc/pve/, "
                           "ansible/files/ and proxmox/pve/ (none), GitHub issues of "
                           "terraform providers (bpg/terraform-provider-proxmox 1039: `local` "
                           "alone), proxsave, cv4pve-node-protect and ProxmoxVE-Local 641 (a "
                           "made-up example) and for rbd `_vm`/`_ct` pairs on one pool, and "
                           "the stored forum.proxmox.com posts and web pages for one directory "
                           "added as two storages: none.  Searched again: storage.cfg at "
                           "proxmox-config/ (jbern1022/Bernal-labs-infra: one path per "
                           "storage), pve1/, pve1/etc/pve/, rootfs/etc/pve/, files/etc/pve/, "
                           "backups/etc/pve/, src/etc/pve/ and storage.cfg.bak (none), the "
                           "top-level copies again (BartlomiejCibor/Home-Lab, Specimen67/"
                           "proxmox-init, chugjuggy/Proxmox-TM-HJ, lighteness/pve: one path "
                           "each; a zfspool mountpoint with a dir storage nested below it is "
                           "no shared path), lae.proxmox `pve_storages:` Ansible variables "
                           "(one path each), GitHub issues for a snippets storage added on "
                           "/var/lib/vz (UntouchedWagons/Ubuntu-CloudInit-Docs 10: a command, "
                           "no storage.cfg) and for backups listed twice (Pulse 442 and 1177: "
                           "per job or per node), and semantic search of public code and web "
                           "pages for two dir storages on one mount: none",
    "double-slash-path": "one found (kernel bugzilla 203477 comment 1: a PVE 6 kvm line whose "
                         "ISOs are on `/pool_t1/t1_dir//template/iso/`) besides the handed "
                         "case; public GitHub code searched for `//images/<vmid>/vm-`, "
                         "`vz//images/`, `data//images/`, `storage//images/`, `nas//`, `ssd//`, "
                         "`hdd//`, `nvme//`, `backup//`, `vms//`, `nfs//`, `dir//images/`, "
                         "`//template/cache/` and `//dump/vzdump-` has none from a PVE host, "
                         "nor any storage.cfg whose `path` ends in `/` (a path line ending in "
                         "`/` followed by a content, shared, is_mountpoint or prune-backups "
                         "line, tab- or space-indented); GitHub issues and forum pages "
                         "searched for qemu-img/`qm start`/vzdump errors naming a `//` path: "
                         "none.  pve-storage a9a2782 (8.3.5, PVE 8.4) strips the trailing / of "
                         "a dir storage's path when it is created, so new dir storages no "
                         "longer give `//` (a 2026 how-to's `pvesm add dir --path "
                         "/mnt/pve/usb-ssd/` is one); nfs/cifs/cephfs paths still keep it.  "
                         "Searched again: `//template/iso/` (only the found case, and a "
                         "Chinese OpenWrt how-to whose hand-typed `qm importdisk 101 "
                         "/var/lib/vz//template/iso/OpenWrt.img` names no repository in the "
                         "index and is no kvm line), `//images/`, `//images/10`, `//dump/`, "
                         "`tank//` (web paths and code only), the PVE bug behind a9a2782 "
                         "(#3986, vzdump logs with `//`: its page is not among the stored "
                         "pages), GitHub issues for `qm start` errors on `//` paths and web "
                         "pages for `creating vzdump archive` with `//`: none.  Searched "
                         "again: `//images/100/` (a French homelab note whose hand-typed "
                         "`qemu-img convert ... /mnt//images/100/...` is no kvm line), "
                         "`//images/101/`, `//images/102/`, `//images/100/vm-100-disk-`, "
                         "`/mnt/data//` (none from a PVE host), storage.cfg path lines "
                         "ending in `/` followed by `maxfiles` or `nodes` (tab- or "
                         "space-indented), and GitHub issues/web pages for qemu-img "
                         "`Formatting '...//images/...'` and vzdump archive lines (the "
                         "semantic search ignores the `//`): none.  Searched again: "
                         "`//images/103/`, `//images/9000` (none), `//images/2`, "
                         "`1//images/` and `//snippets/` (web and Windows paths only), "
                         "GitHub issues for kvm `-drive file=` start errors (no `//` "
                         "among them) and web pages for `qm importdisk` `Formatting` "
                         "lines and pve-user list posts with kvm lines: none.  Searched "
                         "again: `//images/1` (web image URLs), `//images/104/` to "
                         "`//images/107/`, `//images/110/`, `//images/200/`, "
                         "`//images/300/` (web image URLs or none), `pve//images`, "
                         "`raid//images`, `vmdata//`, `disk1//` (none from a PVE host), "
                         "`/mnt/pve/iso//` (none), `vz//template` (only the OpenWrt "
                         "how-to above), GitHub issues for kvm `-drive file=` `Could not "
                         "open` errors and PVE install-script logs, lore.proxmox.com "
                         "pages for #3986's patch mails (none quote a `//` path) and web "
                         "pages for other bug trackers' PVE kvm lines: none.  Searched "
                         "again: `//images/108/` to `//images/120/`, `//images/201/` and "
                         "`//images/500/` (web image URLs, and the handed case's own "
                         "source: a Chinese AMD SEV blog whose VM 114 line is the handed "
                         "file), `s//images/`, `a//images/`, `d//images/`, `r//images/`, "
                         "`l//images/`, `k//images/`, `mnt//images/` (the French note above), "
                         "`usb//images/`, `pool//images/`, `zfs//images/`, `vm//images/` (web "
                         "and Windows "
                         "paths, and test code) and `1//images/1`, the 67 "
                         "repositories of Proxmox host files above, whole history (no "
                         "storage path ending in `/`, no `//images/`, `//template/` or "
                         "`//dump/`), and web pages for PVE kvm lines with ISOs under "
                         "/mnt/pve: none.  Searched again: pvesh JSON with a path "
                         "ending in / (`/\",\"storage\":\"`, `/\",\"type\":\"dir\"`, "
                         "`/\",\"shared\":`, `/\",\"prune-backups\"` and the json-pretty "
                         "forms), a storage.cfg line ending in / before a blank line and a "
                         "`dir:`, `nfs:`, `zfspool:`, `lvmthin:` or `pbs:` stanza or before "
                         "`disable`/`mkdir 0`, `pvesm add dir` with a path ending in / before "
                         "`--content images`, `backup`, `iso`, `rootdir,images` or "
                         "`iso,images` (none), GitHub issues for PVE kvm `-drive file=/mnt/` "
                         "lines, install scripts' `qm importdisk` `Formatting` output "
                         "(community-scripts haos-vm) and vzdump `creating vzdump archive` "
                         "logs (check_mk proxmox-qemu-backup issues 4, 7, 16), and web pages "
                         "for `Formatting '/mnt/data//images/...'`: none.  Searched again: "
                         "`e//images/`, `o//images/`, `0//images/` and `2//images/` (web "
                         "URLs and Windows paths only), `-drive 'file=/mnt/` (five hits, none "
                         "with `//`; one is the handed case's blog), `-drive file=/mnt/pve/` "
                         "(an args: line), `.qcow2,if=none,id=drive-` (no `//`) and "
                         "`pve-edk2-firmware//OVMF_CODE.fd` (three PVE kvm lines whose only "
                         "`//` is qemu-server's own OVMF path, not a storage's), semantic "
                         "search of public code for PVE kvm lines with disks under /mnt, "
                         "GitHub issues for storage paths ending in / (other projects only) "
                         "and for `qm showcmd`/`ps` pastes of macOS VMs (acidanthera/"
                         "bugtracker 1050, kholia/OSX-KVM 10: no `//` disk path), and the "
                         "stored forum.proxmox.com posts and web pages for a dir storage "
                         "whose path ends in /: none.  Searched again: `t//images/`, "
                         "`n//images/`, `m//images/`, `p//images/`, `h//images/`, "
                         "`//images/12`, `//images/3`, `//images/4` and `//images/5` (web "
                         "URLs and Windows paths only), `Formatting '/mnt/` (pvesm alloc and "
                         "qm importdisk output: no `//`), `transferred 0.0 B of` (qm disk "
                         "import logs: no `//`), every PVE kvm line in public GitHub code "
                         "that the ISO and disk options reach (`.iso,if=none,id=drive-ide0|"
                         "ide1|ide2|ide3|sata`, `.raw,if=none,id=drive-`, `,if=none,id=drive-"
                         "scsi0|virtio0|sata0,format=qcow2`, `format=qcow2,id=drive-efidisk0,"
                         "file=`: about twenty lines, the only `//` the found case's), GitHub "
                         "issues and web pages for PVE kvm lines with disks on a dir storage "
                         "(bugzilla.proxmox.com pages are not among the stored pages): none",
    "win7-pcie": "only the handed case (a PVE 8.1 blog) shows a vfio-pci device on pcie.0 at "
                 "hostpciNbus0's address (`id=hostpci0,bus=pcie.0,addr=0x10` occurs nowhere "
                 "else in public GitHub code searched, nor `id=hostpci0.0|0.1|1|1.0|2,"
                 "bus=pcie.0`, `bus=pcie.0,addr=0x10,x-vga=on` or `addr=0x10.0,"
                 "multifunction=on` from a PVE host: the only other hits are a libvirt win7 "
                 "guide that copies qemu-server's placement by hand; `ostype: win7` occurs "
                 "once, in a salt-cloud profile without hostpci); GitHub issues searched for "
                 "`qm start` errors quoting such a device and forum/blog pages for win7 "
                 "q35 passthrough configs: none; the rule is covered by placement tests "
                 "from PCI.pm.  Searched again: `bus=pcie.0,addr=0x11` (hostpci1bus0; "
                 "only libvirt/looking-glass/microVM lines), `--ostype win7` (five "
                 "scripts: one sets pcie=1 on pc-i440fx, which PCI.pm refuses ('q35 "
                 "machine model is not enabled'), the others have no hostpci), the "
                 "handed blog's whole repository (its other win7 posts are libvirt or "
                 "screenshots), "
                 "GitHub issues on Windows 7 GPU passthrough (libvirt, or PVE with "
                 "ostype win10/win11) and web pages in English, German, Russian and "
                 "Chinese: none.  Searched again: qemu-server's git history (the win7 "
                 "quirk, 739ba340 of 2018-12-17, added no test; no cfg2cmd file "
                 "of any era names win7), `bus=pcie.0,addr=0x12` (hostpci2bus0: "
                 "only qemu-devel mails and hand-written scripts), "
                 "`bus=pcie.0,addr=0x10,x-vga=on` (only the handed case), "
                 "`\"ostype\":\"win7\"` and `ostype=win7` (none from PVE), "
                 "GitHub issues for the device option as the query and for "
                 "Windows 7 error 12 on q35 (libvirt or PVE win10/win11), web "
                 "pages incl. bugzilla.proxmox.com and forum threads: none.  "
                 "Searched again: `bus=pcie.0,addr=0x10.0` (pcie-root-port scripts, "
                 "the libvirt guide above and a tool's comment), GitHub issues "
                 "with `ps`/`qm showcmd` pastes of Windows 7 VMs (ipxe/wimboot "
                 "issue 53: a PVE 7 Windows 7 PXE-boot VM whose kvm line the "
                 "stored copy cuts off; the rest win10/win11 or libvirt) and web "
                 "pages in English, Spanish, Russian, Chinese and Japanese for "
                 "Windows 7 on q35 with pcie=1, and for the pve-devel thread of "
                 "739ba340 (not among the stored pages): none.  Searched again: "
                 "`bus=pcie.0,addr=0x13` (hostpci3bus0: pcie-root-port lines only), "
                 "`x-vga=on,bus=pcie.0` (Windows-in-Docker tools, no PVE), "
                 "`\"ostype\": \"win7\"` and `qemu_os = \"win7\"` (none), `ostype: "
                 "win7` (still only the salt-cloud profile), GitHub issues of "
                 "Proxmox GPU-passthrough guides for `qm config` pastes "
                 "(isc30/ryzen-gpu-passthrough-proxmox and others: ostype win10/"
                 "win11) and web pages in Japanese, Russian, Chinese (Hygon hosts) "
                 "and English forum wording for Windows 7 on q35: none.  Searched "
                 "again: VM .conf files, which exact-string searches of public GitHub "
                 "code do not reach, read whole in the 67 repositories of Proxmox host "
                 "files named under shared-path-content (30 hold qemu-server configs, "
                 "among them GPU-passthrough and macOS hosts: ostype l26, other, win10 "
                 "and win11, containers' debian and ubuntu, none win7, and no "
                 "`id=hostpciN,bus=pcie.0`), GitHub issues "
                 "for `ostype: win7`, for Windows Server 2008 R2 (also ostype win7) with "
                 "hostpci and for Windows 7 code 43 on q35 (libvirt, or PVE win10/"
                 "win11), and code and web pages in English and Chinese for win7 q35 "
                 "pcie=1 configs: none.  Searched again: `type = \"win7\"`, "
                 "`os = \"win7\"`, `\"os\": \"win7\"` and `os: win7` (user-agent code "
                 "and test lists, none from PVE), the four repositories named under "
                 "shared-path-content (no VM configs), GitHub issues for "
                 "Windows 7 guests with hostpci (vgpu_unlock, GPU_Virtualization-Wiki, "
                 "isc30/ryzen-gpu-passthrough-proxmox, MxGPU: win10/win11, or i440fx) and "
                 "a `qm config`-shaped query with `ostype: win7` and `pcie=1`, and web "
                 "pages in Korean, Portuguese and Polish: none.  Searched again: "
                 "`ostype win7` (qm create scripts: the pc-i440fx one above, the others "
                 "without hostpci), `ostype: \"win7\"` (a Go test table), `Windows "
                 "7/2008r2` (GUI labels in code), semantic search of public code for a "
                 "`qm config` with ostype win7 and hostpci (libvirt/QEMU scripts only), "
                 "the PVE kvm lines carrying qemu-server's OVMF path (a 2019 GTX 750 "
                 "Windows VM whose hostpci0 sits in ich9-pcie-port-1: no win7), VM "
                 "configs at "
                 "etc/pve/qemu-server/100.conf, qemu-server/100.conf and etc/pve/nodes/"
                 "pve/qemu-server/100.conf (ostype win10, win11, other, l26), "
                 "qemu-server's history again (739ba340's message names no thread or "
                 "bug), GitHub issues with `qm config`/`ps` pastes of Windows GPU VMs "
                 "(vgpu_unlock 30, i915-sriov-dkms 429, isc30/ryzen-gpu-passthrough-"
                 "proxmox 142: win10/win11) and the stored forum.proxmox.com posts and "
                 "web pages for Windows 7 on q35 with pcie=1 (a forum.mattkc.com Windows "
                 "7 passthrough guide shows no PVE config): none.  Searched again: "
                 "`id=hostpci3,bus=pcie.0`, `id=hostpci4,bus=pcie.0`, "
                 "`id=hostpci5,bus=pcie.0`, `id=hostpci1.1,bus=pcie.0`, "
                 "`id=hostpci2.0,bus=pcie.0` and kvm's error form `,bus=pcie.0,"
                 "addr=0x10: ` (none), `bus=pcie.0,addr=0x10,rom` (macOS emulator "
                 "scripts only), GitHub issues for kvm vfio-pci start errors and for "
                 "vendor-reset/AMD passthrough to Windows 7 (macOS-Simple-KVM, vmra1n, "
                 "nvtrust: no PVE), semantic search of public code for a win7 q35 "
                 "pcie=1 qm config (plain QEMU scripts; one Windows batch file copies a "
                 "PVE q35 Windows 7 line by hand, without hostpci), GitHub issues and "
                 "web pages for a kvm line shaped like the handed case (pve-q35-4.0.cfg, "
                 "hostpci0 on pcie.0, localtime rtc) and for Windows 7 with a passed-"
                 "through USB controller (Qubes/Xen only), and web pages in French: none",
}


def manifest() -> dict[str, Any]:
    with MANIFEST.open("rb") as fh:
        return tomllib.load(fh)


def inputs() -> list[dict[str, Any]]:
    return list(manifest()["input"])


def test_every_file_in_the_folder_is_named_in_the_manifest() -> None:
    files = {p.relative_to(DATA).as_posix() for p in FOLDER.rglob("*") if p.is_file()}
    files.discard("qemu-realworld3/SOURCES.toml")
    named = [i["where"] for i in inputs() if "::" not in i["where"]]
    assert len(named) == len(set(named)), "a file is listed twice"
    assert sorted(files - set(named)) == [], "files without a source in SOURCES.toml"
    assert all((DATA / n).is_file() for n in named), "SOURCES.toml names missing files"


def test_every_input_says_where_it_came_from() -> None:
    subkinds = set(manifest()["subkinds"])
    for item in inputs():
        where, origin, source = item["where"], item["origin"], item["source"].strip()
        assert origin in ("found", "constructed"), where
        if origin == "found":
            assert source.startswith("https://"), (where, source)
        else:
            assert source.startswith("constructed: ") and len(source) > 25, (where, source)
        assert item["subkinds"] and set(item["subkinds"]) <= subkinds, where


def test_inline_inputs_exist_and_name_their_source_in_a_comment() -> None:
    for item in inputs():
        if "::" not in item["where"]:
            continue
        path, name = item["where"].split("::")
        comment = _comment_above(path, name)
        want = item["source"] if item["origin"] == "found" else item["origin"]
        assert want.lower() in comment.lower(), (item["where"], comment)


def test_each_input_is_used_by_the_test_that_judges_it() -> None:
    for item in inputs():
        path, func = item["test"].split("::")
        body = _function_source(path, func)
        where = item["where"]
        token = where.split("::")[1] if "::" in where else Path(where).name
        assert token in body, f"{item['test']} does not use {token}"


def test_each_sub_kind_has_two_found_inputs_or_says_why_not() -> None:
    found: Counter[str] = Counter()
    for item in inputs():
        for sub in item["subkinds"]:
            found[sub] += item["origin"] == "found"
    for sub in manifest()["subkinds"]:
        if sub in NOT_YET_FOUND:
            assert found[sub] < 2, f"{sub}: two found inputs now, drop it from NOT_YET_FOUND"
        else:
            assert found[sub] >= 2, f"{sub}: {found[sub]} found input(s), two needed"
    assert set(NOT_YET_FOUND) <= set(manifest()["subkinds"])


def test_every_handed_case_of_a_sub_kind_has_a_test() -> None:
    sources = [p.read_text(encoding="utf-8") for p in (REPO / "tests").rglob("test_*.py")]
    for sub, spec in manifest()["subkinds"].items():
        for name in spec.get("handed", []):
            assert any(name in text for text in sources), f"{sub}: no test reads {name}"
